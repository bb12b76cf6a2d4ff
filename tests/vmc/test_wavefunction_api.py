"""Routes of a wavefunction model: /energy, /log-psi, /samples from |psi|^2, and a clear 422 from the
RBM-only routes (and from /energy on an RBM)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.api.helpers import error_of, ok


@pytest.fixture
def heisenberg_model(client, worker) -> str:
    body = {"kind": "vmc", "system": {"type": "heisenberg", "n_spins": 6},
            "vmc": {"iterations": 40, "n_samples": 500, "n_chains": 50, "eval_samples": 2000}}
    job = ok(client.post("/v1/jobs", json=body), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    return job["model_id"]


def test_energy_log_psi_and_samples_of_a_wavefunction(client, heisenberg_model):
    mid = heisenberg_model
    e = ok(client.post(f"/v1/models/{mid}/energy", json={"n_samples": 100_000, "seed": 2}))
    assert e["n_samples"] >= 100_000 and e["relative_error"] < 2e-3
    assert e == ok(client.post(f"/v1/models/{mid}/energy", json={"n_samples": 100_000, "seed": 2}))
    s = ok(client.post(f"/v1/models/{mid}/samples", json={"n_samples": 64, "seed": 1}))
    x = np.array(s["samples"])
    assert x.shape == (64, 6) and np.isin(x, (-1, 1)).all() and (x.sum(1) == 0).all()  # exchange moves keep S^z = 0
    assert s["sampler"] == "exchange" and s["diagnostics"]["scalar"] == "log_psi"
    lp = ok(client.post(f"/v1/models/{mid}/log-psi", json={"data": x[:3].tolist()}))
    assert len(lp["log_psi"]) == 3 and all(v in (-1, 1) for v in lp["sign"])
    # sign = (-1)^(up spins on odd sites)
    assert lp["sign"] == [float((-1) ** int((row[1::2] > 0).sum())) for row in x[:3]]


def test_wavefunction_input_errors_and_rbm_routes_refuse_it(client, heisenberg_model):
    mid = heisenberg_model
    assert "-1 or +1" in error_of(client.post(f"/v1/models/{mid}/log-psi", json={"data": [[0, 1, 0, 1, 0, 1]]}), 422)
    assert "6 values" in error_of(client.post(f"/v1/models/{mid}/log-psi", json={"data": [[1, -1]]}), 422)
    assert "RBM_VMC_MAX_ENERGY_WORK" in error_of(
        client.post(f"/v1/models/{mid}/energy", json={"n_samples": 10**12}), 413)
    assert "return_hidden" in error_of(
        client.post(f"/v1/models/{mid}/samples", json={"n_samples": 4, "return_hidden": True}), 422)
    for path, body in (("hidden", {"data": [[1] * 6]}), ("partition-function", {}),
                       ("reconstruct", {"data": [[1] * 6]})):
        msg = error_of(client.post(f"/v1/models/{mid}/{path}", json=body), 422)
        assert "wave function" in msg, path
    assert "wave function" in error_of(client.post(f"/v1/models/{mid}/free-energy", json={"data": [[1] * 6]}), 422)
    for png in ("samples.png", "filters.png"):
        r = client.get(f"/v1/models/{mid}/{png}")
        assert r.status_code == 422 and "wave function" in r.text, png


def test_energy_of_an_rbm_model_is_a_clear_422(client, worker):
    from tests.api.helpers import digits_dataset, train_model

    ds = digits_dataset(client)
    job = train_model(client, worker, ds["id"], epochs=1)
    msg = error_of(client.post(f"/v1/models/{job['model_id']}/energy", json={"n_samples": 10}), 422)
    assert "wavefunction" in msg


def test_python_client_submits_vmc_and_queries_the_wavefunction(client, worker):
    from app.client import RBMClient

    rbm = RBMClient(http=client, retries=0)
    job = rbm.submit_vmc_job({"type": "harmonic_trap", "n_particles": 2, "dim": 2},
                             vmc={"iterations": 5, "n_samples": 400, "n_chains": 100, "eval_samples": 2000})
    worker.run_until_idle()
    job = rbm.job(job["id"])
    assert job["status"] == "succeeded", job
    mid = job["model_id"]
    e = rbm.energy(mid, n_samples=5000, seed=1)
    assert abs(e["energy"] - 2.0) < 1e-3 and e["exact_energy"] == 2.0
    x = np.zeros((2, 4))
    assert rbm.log_psi(mid, x).shape == (2,)
