"""POST /v1/models/{id}/ising-observables against references computed here, in plain numpy.

Independent references: Ising energies on the torus by ``np.roll``, Boltzmann weights,
RBM free energies from the downloaded safetensors arrays, Onsager's energy from scipy's
elliptic integral. Nothing below reuses the service's own formulas to judge its answers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.numpy import load as st_load
from scipy.special import ellipk

from app.ising.service import chain_major
from app.physics import enumerate_boltzmann
from app.rbm.io import to_safetensors_bytes
from app.rbm.likelihood import log_prob_all_states
from app.rbm.model import BernoulliRBM, GaussianRBM
from tests.api.helpers import digits_dataset, error_of, ok, train_model

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
KEYS = ("energy_per_site", "abs_magnetization_per_site", "specific_heat_per_site", "susceptibility_per_site")


# ------------------------------------------------------------------ numpy references
def _states(n: int) -> np.ndarray:
    """All {0,1}^n in binary counting order, site 0 the most significant bit: ``(2^n, n)``."""
    k = np.arange(2**n)
    return np.array([[(i >> (n - 1 - j)) & 1 for j in range(n)] for i in k], dtype=np.float64)


def _ising(L: int, T: float) -> dict:
    """Exact per-site observables and log-probabilities of the periodic L x L model, by brute force."""
    v = _states(L * L)
    s = (2 * v - 1).reshape(-1, L, L)
    e = -(s * np.roll(s, -1, axis=2) + s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))
    m = s.sum(axis=(1, 2))
    logw = -e / T
    logp = logw - np.logaddexp.reduce(logw)
    p = np.exp(logp)
    N = L * L
    E, E2, aM, M2 = p @ e, p @ e**2, p @ np.abs(m), p @ m**2
    return {
        "log_probs": logp,
        "energy_per_site": E / N,
        "abs_magnetization_per_site": aM / N,
        "specific_heat_per_site": (E2 - E**2) / (N * T**2),
        "susceptibility_per_site": (M2 - aM**2) / (N * T),
        "energies": e, "mags": m,
    }


def _rbm_log_probs(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log p(v) of a binary RBM over all states in counting order."""
    v = _states(W.shape[0])
    neg_f = v @ a + np.logaddexp(0.0, b + v @ W).sum(axis=1)
    return neg_f - np.logaddexp.reduce(neg_f)


def _onsager_energy(T: float) -> float:
    K = 1.0 / T
    k = 2 * math.sinh(2 * K) / math.cosh(2 * K) ** 2
    return -(1 / math.tanh(2 * K)) * (1 + (2 / math.pi) * (2 * math.tanh(2 * K) ** 2 - 1) * ellipk(k * k))


def _weights(client, model_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = client.get(f"/v1/models/{model_id}/weights")
    assert raw.status_code == 200, raw.text
    t = st_load(raw.content)
    return (t["weight"].astype(np.float64), t["visible_bias"].astype(np.float64),
            t["hidden_bias"].astype(np.float64))


def _upload(client, model) -> str:
    files = {"file": ("m.safetensors", to_safetensors_bytes(model))}
    return ok(client.post("/v1/models", files=files), 201)["id"]


def _model_exact(logq: np.ndarray, L: int, T: float) -> dict:
    """The model's own exact per-site expectations (what its samples should estimate)."""
    ref = _ising(L, T)
    q, e, m, N = np.exp(logq), ref["energies"], ref["mags"], L * L
    return {"energy_per_site": q @ e / N, "abs_magnetization_per_site": q @ np.abs(m) / N}


# ------------------------------------------------------------------------- tests
def test_state_orders_agree_between_physics_and_rbm():
    """KL needs both enumerations in one order: counting order, site 0 MSB, bit 1 = spin +1."""
    g = torch.Generator().manual_seed(0)
    model = BernoulliRBM(torch.randn(9, 3, generator=g, dtype=torch.float64),
                         torch.randn(9, generator=g, dtype=torch.float64),
                         torch.randn(3, generator=g, dtype=torch.float64))
    np.testing.assert_allclose(log_prob_all_states(model).numpy(),
                               _rbm_log_probs(*(t.numpy() for t in (model.weight, model.visible_bias, model.hidden_bias))),
                               atol=1e-10)
    np.testing.assert_allclose(enumerate_boltzmann(3, 2.0)["log_probs"], _ising(3, 2.0)["log_probs"], atol=1e-12)


def test_chain_major_groups_each_chain_in_time_order():
    rows = np.array([[10], [20], [30], [11], [21], [31], [12]])  # round-major, 3 chains, last round partial
    np.testing.assert_array_equal(chain_major(rows, 3)[:, 0], [10, 11, 12, 20, 21, 30, 31])


def test_model_trained_on_ising_data(client, worker):
    L, T = 3, 3.0
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "ising", "params": {"L": L, "T": T, "n_samples": 2000}}), 201)
    job = train_model(client, worker, ds["id"], model={"n_hidden": 6}, method="pcd", epochs=5)
    mid = job["model_id"]
    out = ok(client.post(f"/v1/models/{mid}/ising-observables", json={"n_samples": 2000, "steps": 300, "seed": 5}))
    assert (out["L"], out["T"], out["source"], out["sampler"], out["seed"]) == (L, T, "dataset", "gibbs", 5)

    ref = _ising(L, T)
    for key in KEYS:
        assert out[key]["exact_enumeration"] == pytest.approx(ref[key], rel=1e-10), key
    for key in ("energy_per_site", "specific_heat_per_site"):  # Kaufman is exact for the same finite torus
        assert out[key]["kaufman"] == pytest.approx(ref[key], rel=1e-8), key
    assert out["susceptibility_per_site"]["kaufman"] is None
    assert out["energy_per_site"]["onsager"] == pytest.approx(_onsager_energy(T), rel=1e-10)
    assert out["abs_magnetization_per_site"]["onsager"] == 0.0  # above T_c

    W, a, b = _weights(client, mid)
    logq = _rbm_log_probs(W, a, b)
    p = np.exp(ref["log_probs"])
    kl = float(p @ (ref["log_probs"] - logq))
    assert out["kl_divergence"] >= 0
    assert out["kl_divergence"] == pytest.approx(kl, rel=1e-6, abs=1e-9)

    # the samples estimate the *model's* expectations: within 4 standard errors
    own = _model_exact(logq, L, T)
    for key, value in own.items():
        got = out[key]
        assert abs(got["value"] - value) < 4 * got["error"] + 1e-9, (key, got, value)
        assert got["error"] > 0


def test_uploaded_uniform_model_with_lattice_in_body(client):
    L, T = 4, T_C
    zero = BernoulliRBM(torch.zeros(16, 4), torch.zeros(16), torch.zeros(4))  # p(v) uniform over 2^16
    mid = _upload(client, zero)
    body = {"L": L, "T": T, "sampler": "metropolis", "n_samples": 4000, "steps": 20, "n_chains": 200, "seed": 2}
    out = ok(client.post(f"/v1/models/{mid}/ising-observables", json=body))
    assert out["source"] == "request" and 0.0 < out["acceptance_rate"] <= 1.0
    ref = _ising(L, T)
    p = np.exp(ref["log_probs"])
    entropy = -float(p @ ref["log_probs"])
    assert out["kl_divergence"] == pytest.approx(16 * math.log(2) - entropy, rel=1e-9)
    assert out["specific_heat_per_site"]["onsager"] is None  # diverges at T_c
    own = _model_exact(np.full(2**16, -16 * math.log(2)), L, T)  # uniform: <E> = 0
    for key, value in own.items():
        got = out[key]
        assert abs(got["value"] - value) < 4 * got["error"], (key, got, value)


def test_lattice_from_the_body_overrides_missing_dataset_and_errors_are_clear(client, worker):
    digits = train_model(client, worker, digits_dataset(client)["id"], epochs=1)["model_id"]  # 64 visible
    url = f"/v1/models/{digits}/ising-observables"
    msg = error_of(client.post(url, json={"n_samples": 10, "steps": 1}), 422)
    assert "not trained on the built-in 'ising'" in msg and "`L`" in msg and "`T`" in msg
    assert "`T`" in error_of(client.post(url, json={"L": 8}), 422)
    assert "L*L = 25" in error_of(client.post(url, json={"L": 5, "T": 2.0}), 422)
    ok(client.post(url, json={"L": 8, "T": 2.0, "n_samples": 10, "steps": 1}))  # 64 = 8 * 8: allowed
    assert "RBM_MAX_SAMPLES_PER_REQUEST" in error_of(client.post(url, json={"L": 8, "T": 2.0, "n_samples": 10**6}), 413)
    assert "RBM_MAX_SAMPLING_STEPS" in error_of(client.post(url, json={"L": 8, "T": 2.0, "steps": 10**7}), 413)
    error_of(client.post(url, json={"L": 8, "T": -1.0}), 422)
    error_of(client.post(url, json={"L": 8, "T": 2.0, "n_samples": 1}), 422)
    error_of(client.post(url, json={"L": 8, "T": 2.0, "beta": 2.0}), 422)
    error_of(client.post("/v1/models/nope/ising-observables", json={"L": 8, "T": 2.0}), 404)

    g = torch.Generator().manual_seed(0)
    gauss = GaussianRBM(0.1 * torch.randn(4, 2, generator=g), torch.zeros(4), torch.zeros(2), torch.zeros(4))
    gid = _upload(client, gauss)
    assert "bernoulli" in error_of(client.post(f"/v1/models/{gid}/ising-observables", json={"L": 2, "T": 2.0}), 422)

    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "ising", "params": {"L": 2, "T": 2.0, "n_samples": 100}}), 201)
    ising = train_model(client, worker, ds["id"], epochs=1)["model_id"]
    assert "L*L = 9" in error_of(client.post(f"/v1/models/{ising}/ising-observables", json={"L": 3}), 422)
    out = ok(client.post(f"/v1/models/{ising}/ising-observables", json={"T": 5.0, "n_samples": 20, "steps": 5}))
    assert (out["L"], out["T"], out["source"]) == (2, 5.0, "request")  # L from the data set, T from the body
