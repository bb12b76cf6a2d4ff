"""Every query endpoint against an independent numpy computation by brute-force enumeration,
on small models uploaded with known weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from safetensors.numpy import save as save_numpy

from tests.api.helpers import error_of, ok, upload_array

V, H = 6, 4


def all_states(n: int) -> np.ndarray:
    """Binary counting order, unit 0 the most significant bit."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def np_free_energy(v, w, a, b):
    return -v @ a - np.logaddexp(0.0, v @ w + b).sum(axis=1)


def upload_model(client, tensors: dict[str, np.ndarray], visible_type: str, **form) -> dict:
    blob = save_numpy({k: np.ascontiguousarray(x, dtype=np.float32) for k, x in tensors.items()},
                      metadata={"visible_type": visible_type})
    return ok(client.post("/v1/models", files={"file": ("m.safetensors", blob)}, data=form), 201)


@pytest.fixture
def bb(client):
    rng = np.random.default_rng(11)
    params = {"weight": rng.normal(0, 1.0, (V, H)), "visible_bias": rng.normal(0, 0.5, V),
              "hidden_bias": rng.normal(0, 0.5, H)}
    params = {k: x.astype(np.float32).astype(np.float64) for k, x in params.items()}
    model = upload_model(client, params, "bernoulli", name="bb")
    return model, params


def test_uploaded_model_is_registered(client, bb):
    model, _ = bb
    assert (model["n_visible"], model["n_hidden"], model["visible_type"], model["source"]) == (V, H, "bernoulli", "upload")


def test_free_energy_hidden_and_reconstruction_match_numpy(client, bb):
    model, p = bb
    w, a, b = p["weight"], p["visible_bias"], p["hidden_bias"]
    v = all_states(V)[::5]
    url = f"/v1/models/{model['id']}"
    fe = ok(client.post(f"{url}/free-energy", json={"data": v.tolist()}))["free_energy"]
    np.testing.assert_allclose(fe, np_free_energy(v, w, a, b), rtol=1e-5, atol=1e-5)
    ph = np.array(ok(client.post(f"{url}/hidden", json={"data": v.tolist()}))["probabilities"])
    np.testing.assert_allclose(ph, 1 / (1 + np.exp(-(v @ w + b))), atol=1e-6)
    rec = np.array(ok(client.post(f"{url}/reconstruct", json={"data": v.tolist()}))["reconstruction"])
    np.testing.assert_allclose(rec, 1 / (1 + np.exp(-(ph @ w.T + a))), atol=1e-6)


def test_exact_log_z_log_likelihood_and_pseudo_likelihood(client, bb):
    model, p = bb
    w, a, b = p["weight"], p["visible_bias"], p["hidden_bias"]
    states = all_states(V)
    # independent: sum over the joint (v, h) of exp(-E)
    hs = all_states(H)
    energies = -(states @ a)[:, None] - (hs @ b)[None, :] - states @ w @ hs.T
    log_z = np.log(np.exp(-energies).sum())
    url = f"/v1/models/{model['id']}"
    z = ok(client.post(f"{url}/partition-function", json={"method": "exact"}))
    assert z["method"] == "exact" and z["log_z_std"] == 0.0 and not z["cached"]
    assert z["log_z"] == pytest.approx(log_z, abs=1e-5)
    assert ok(client.post(f"{url}/partition-function", json={"method": "exact"}))["cached"]

    ll = ok(client.post(f"{url}/log-likelihood", json={"data": states.tolist(), "method": "auto"}))
    assert ll["method"] == "exact"
    probs = np.exp(ll["log_likelihood"])
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(ll["log_likelihood"], -np_free_energy(states, w, a, b) - log_z, atol=1e-4)

    v = states[[3, 17, 40, 63]]
    pl = ok(client.post(f"{url}/pseudo-likelihood", json={"data": v.tolist()}))
    expected = []
    for row in v:
        total = 0.0
        for i in range(V):
            flipped = row.copy()
            flipped[i] = 1 - flipped[i]
            f0, f1 = np_free_energy(np.stack([row, flipped]), w, a, b)
            total += -np.logaddexp(0.0, f0 - f1)  # log p(v_i | v_-i) = -log(1 + exp(F(v) - F(flip)))
        expected.append(total)
    np.testing.assert_allclose(pl["pseudo_log_likelihood"], expected, atol=1e-4)
    assert pl["mean"] == pytest.approx(np.mean(expected), abs=1e-4)


def test_kl_divergence_against_numpy(client, bb):
    model, p = bb
    states = all_states(V)
    q = np.exp(-np_free_energy(states, p["weight"], p["visible_bias"], p["hidden_bias"]))
    q /= q.sum()
    target = np.random.default_rng(3).dirichlet(np.ones(2**V))
    out = ok(client.post(f"/v1/models/{model['id']}/kl-divergence", json={"probabilities": target.tolist()}))
    assert out["n_states"] == 2**V
    assert out["kl_divergence"] == pytest.approx(float((target * np.log(target / q)).sum()), abs=1e-4)

    rows = states[np.random.default_rng(4).integers(0, 2**V, 40)]
    ds = upload_array(client, rows.astype(np.float32))
    emp = np.bincount((rows @ (2 ** np.arange(V)[::-1])).astype(int), minlength=2**V) / len(rows)
    out = ok(client.post(f"/v1/models/{model['id']}/kl-divergence", json={"dataset_id": ds["id"]}))
    mask = emp > 0
    assert out["kl_divergence"] == pytest.approx(float((emp[mask] * np.log(emp[mask] / q[mask])).sum()), abs=1e-4)
    error_of(client.post(f"/v1/models/{model['id']}/kl-divergence", json={"probabilities": [0.5, 0.5]}), 422)


def test_ais_brackets_exact_log_z(client, bb):
    model, _ = bb
    url = f"/v1/models/{model['id']}/partition-function"
    exact = ok(client.post(url, json={"method": "exact"}))["log_z"]
    ds = upload_array(client, all_states(V)[::3].astype(np.float32))
    ais = ok(client.post(url, json={"method": "ais", "n_runs": 200, "n_betas": 2000, "seed": 1, "dataset_id": ds["id"]}))
    assert ais["method"] == "ais" and ais["log_z_std"] > 0
    assert ais["log_z"] == pytest.approx(exact, abs=0.1)
    assert ais["log_z_reverse"] == pytest.approx(exact, abs=0.2)


def test_metropolis_samples_report_acceptance(client, bb):
    model, _ = bb
    out = ok(client.post(f"/v1/models/{model['id']}/samples",
                         json={"sampler": "metropolis", "n_samples": 8, "steps": 5, "seed": 2, "return_hidden": True}))
    s, h = np.array(out["samples"]), np.array(out["hidden"])
    assert s.shape == (8, V) and h.shape == (8, H) and set(np.unique(s)) <= {0.0, 1.0}
    assert 0.0 < out["acceptance_rate"] <= 1.0 and out["seed"] == 2


def test_log_likelihood_from_dataset_rows(client, bb):
    model, _ = bb
    rows = all_states(V)[:10].astype(np.float32)
    ds = upload_array(client, rows)
    url = f"/v1/models/{model['id']}/log-likelihood"
    by_id = ok(client.post(url, json={"dataset_id": ds["id"], "limit": 4, "method": "exact"}))
    inline = ok(client.post(url, json={"data": rows[:4].tolist(), "method": "exact"}))
    np.testing.assert_allclose(by_id["log_likelihood"], inline["log_likelihood"], atol=1e-6)
    error_of(client.post(url, json={"dataset_id": ds["id"], "data": rows[:1].tolist()}), 422)
    assert "test split" in error_of(client.post(url, json={"dataset_id": ds["id"], "split": "test"}), 422)


def test_gaussian_model_exact_log_z_by_numerical_integration(client):
    rng = np.random.default_rng(5)
    w, a, b = rng.normal(0, 0.7, (2, 3)), rng.normal(0, 0.5, 2), rng.normal(0, 0.5, 3)
    log_sigma = np.log(np.array([0.8, 1.3]))
    model = upload_model(client, {"weight": w, "visible_bias": a, "hidden_bias": b, "visible_log_sigma": log_sigma},
                         "gaussian")
    w, a, b, log_sigma = (x.astype(np.float32).astype(np.float64) for x in (w, a, b, log_sigma))
    s2 = np.exp(2 * log_sigma)
    grid = np.linspace(-12, 12, 1201)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    v = np.stack([x.ravel(), y.ravel()], axis=1)
    free = ((v - a) ** 2 / (2 * s2)).sum(1) - np.logaddexp(0.0, (v / s2) @ w + b).sum(1)
    step = grid[1] - grid[0]
    log_z = np.log(np.exp(-free).sum() * step * step)
    url = f"/v1/models/{model['id']}"
    z = ok(client.post(f"{url}/partition-function", json={"method": "auto"}))
    assert z["method"] == "exact" and z["log_z"] == pytest.approx(log_z, abs=1e-4)
    fe = ok(client.post(f"{url}/free-energy", json={"data": v[:5].tolist()}))["free_energy"]
    np.testing.assert_allclose(fe, free[:5], rtol=1e-5, atol=1e-5)
    assert "bernoulli" in error_of(client.post(f"{url}/pseudo-likelihood", json={"data": [[0.1, 0.2]]}), 422)
    error_of(client.post(f"{url}/kl-divergence", json={"probabilities": [1.0]}), 422)


def test_partition_limits(client, bb, ctx):
    model, _ = bb
    url = f"/v1/models/{model['id']}/partition-function"
    ctx.settings.exact_log_z_max_bits = 3
    assert "RBM_EXACT_LOG_Z_MAX_BITS" in error_of(client.post(url, json={"method": "exact"}), 422)
    ctx.settings.auto_exact_bits = 3
    assert ok(client.post(url, json={"method": "auto", "n_runs": 10, "n_betas": 100}))["method"] == "ais"
    ctx.settings.max_ais_work = 1000
    assert "RBM_MAX_AIS_WORK" in error_of(client.post(url, json={"method": "ais", "n_runs": 100, "n_betas": 100}), 413)


@pytest.mark.parametrize("tensors,metadata", [
    ({"weight": np.zeros((3, 2)), "visible_bias": np.zeros(3)}, {"visible_type": "bernoulli"}),
    ({"weight": np.zeros((3, 2)), "visible_bias": np.zeros(4), "hidden_bias": np.zeros(2)}, {"visible_type": "bernoulli"}),
    ({"weight": np.full((3, 2), np.nan), "visible_bias": np.zeros(3), "hidden_bias": np.zeros(2)}, {"visible_type": "bernoulli"}),
    ({"weight": np.zeros((3, 2)), "visible_bias": np.zeros(3), "hidden_bias": np.zeros(2)}, {"visible_type": "poisson"}),
    ({"weight": np.zeros((3, 2)), "visible_bias": np.zeros(3), "hidden_bias": np.zeros(2)}, {"visible_type": "gaussian"}),
])
def test_malformed_weight_files_are_422(client, tensors, metadata):
    blob = save_numpy({k: x.astype(np.float32) for k, x in tensors.items()}, metadata=metadata)
    error_of(client.post("/v1/models", files={"file": ("m.safetensors", blob)}), 422)


def test_non_safetensors_upload_and_bad_image_shape_are_422(client, bb):
    error_of(client.post("/v1/models", files={"file": ("m.safetensors", b"garbage")}), 422)
    _, p = bb
    blob = save_numpy({k: x.astype(np.float32) for k, x in p.items()}, metadata={"visible_type": "bernoulli"})
    assert "pixels" in error_of(client.post("/v1/models", files={"file": ("m.safetensors", blob)},
                                            data={"image_shape": "2,2"}), 422)
    assert ok(client.post("/v1/models", files={"file": ("m.safetensors", blob)}, data={"image_shape": "2,3"}),
              201)["image_shape"] == [2, 3]


def test_sampling_from_data_and_from_given_vectors(client, bb):
    model, _ = bb
    url = f"/v1/models/{model['id']}/samples"
    rows = all_states(V)[[5, 9]].astype(np.float32)
    ds = upload_array(client, rows)
    # zero sweeps: the chains are still at their starting states
    from_data = np.array(ok(client.post(url, json={"init": "data", "dataset_id": ds["id"], "steps": 0,
                                                   "n_samples": 6, "seed": 1}))["samples"])
    assert {tuple(r) for r in from_data} <= {tuple(r) for r in rows}
    given = np.array(ok(client.post(url, json={"init": "vectors", "vectors": rows.tolist(), "steps": 0,
                                               "n_samples": 4}))["samples"])
    np.testing.assert_array_equal(given, rows[[0, 1, 0, 1]])
    wrong = upload_array(client, np.zeros((3, V + 1), dtype=np.float32))
    assert str(V) in error_of(client.post(url, json={"init": "data", "dataset_id": wrong["id"]}), 422)
