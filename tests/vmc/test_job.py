"""The `vmc` job kind over HTTP: submission checks (422 with the reason), per-iteration progress,
the result against the exact energy, a stored `wavefunction` model."""

from __future__ import annotations

import pytest

from app.vmc.exact import tfim_ground_energy
from tests.api.helpers import error_of, ok

TFIM6 = {"type": "tfim", "n_spins": 6, "h": 1.0, "J": 1.0}


def test_vmc_job_reports_every_iteration_and_stores_a_wavefunction(client, worker):
    body = {"kind": "vmc", "system": TFIM6,
            "vmc": {"iterations": 60, "n_samples": 500, "n_chains": 50, "eval_samples": 20_000, "seed": 3}}
    job = ok(client.post("/v1/jobs", json=body), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    assert [m["epoch"] for m in job["metrics"]] == list(range(1, 61))
    assert set(job["metrics"][0]) >= {"energy", "energy_error", "variance", "acceptance", "exact_energy"}
    res = job["result"]
    exact = tfim_ground_energy(6, 1.0, 1.0, True)
    assert res["exact_energy"] == pytest.approx(exact)
    assert res["relative_error"] == pytest.approx(abs(res["energy"] - exact) / abs(exact))
    assert res["relative_error"] < 2e-3 and res["energy_error"] > 0 and res["n_samples"] >= 20_000
    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert model["kind"] == "wavefunction" and model["n_visible"] == 6 and model["n_hidden"] == 12
    assert model["info"]["system"]["type"] == "tfim"


@pytest.mark.parametrize("system,extra,needle", [
    ({"type": "harmonic_trap", "omega": 0}, {}, "omega"),
    ({"type": "harmonic_trap", "omega": -1}, {}, "omega"),
    ({"type": "quantum_dot"}, {}, "type"),
    ({"type": "tfim", "n_spins": 65}, {}, "RBM_VMC_MAX_SPINS"),
    ({"type": "harmonic_trap", "n_particles": 11, "dim": 3}, {}, "RBM_VMC_MAX_COORDINATES"),
    ({"type": "heisenberg", "n_spins": 7}, {}, "Marshall"),
    ({"type": "harmonic_trap", "dim": 1, "interaction": "coulomb"}, {}, "coulomb"),
    ({"type": "tfim"}, {"vmc": {"sampler": "langevin"}}, "sampler"),
    ({"type": "tfim"}, {"vmc": {"n_samples": 1000, "n_chains": 300}}, "multiple of n_chains"),
    ({"type": "tfim"}, {"model": {"jastrow": True}}, "harmonic_trap"),
    ({"type": "tfim", "n_spins": 64}, {"model": {"alpha": 4}}, "RBM_VMC_MAX_PARAMS"),
    ({"type": "tfim"}, {"vmc": {"iterations": 1_000_000, "n_samples": 100_000, "n_chains": 100}}, "RBM_VMC_MAX_WORK"),
    ({"type": "tfim"}, {"vmc": {"iterations": 1, "n_samples": 1_000_000, "n_chains": 1000}},
     "RBM_VMC_MAX_ITERATION_VALUES"),
])
def test_vmc_submission_errors_name_the_problem(client, system, extra, needle):
    msg = error_of(client.post("/v1/jobs", json={"kind": "vmc", "system": system, **extra}), 422)
    assert needle in msg


def test_curves_png_of_a_vmc_job(client, worker):
    body = {"kind": "vmc", "system": TFIM6, "vmc": {"iterations": 5, "n_samples": 100, "n_chains": 50,
                                                    "eval_samples": 1000}}
    job = ok(client.post("/v1/jobs", json=body), 202)
    worker.run_until_idle()
    r = client.get(f"/v1/jobs/{job['id']}/curves.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    from io import BytesIO

    from PIL import Image
    width, height = Image.open(BytesIO(r.content)).size
    assert abs(width / height - 9.0 / 3.4) < 0.05  # the energy + variance figure, not one panel per metric


def test_energy_curve_draws_the_band_and_the_exact_line():
    import numpy as np
    from io import BytesIO

    from PIL import Image

    from app.pictures.render import energy_curve_png
    metrics = [{"epoch": i, "energy": -2.0 + 1.0 / i, "energy_error": 0.05, "variance": 1.0 / i,
                "exact_energy": -2.0} for i in range(1, 40)]
    with_exact = np.asarray(Image.open(BytesIO(energy_curve_png(metrics))).convert("L"), dtype=float)
    without = np.asarray(Image.open(BytesIO(energy_curve_png(
        [{k: v for k, v in m.items() if k != "exact_energy"} for m in metrics]))).convert("L"), dtype=float)
    assert with_exact.shape == without.shape and (with_exact != without).any()  # the exact line is drawn
