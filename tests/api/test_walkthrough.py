"""The README walkthrough, end to end through HTTP: built-in digits -> job -> model -> queries,
with the free energy checked against numpy on the downloaded weights."""

from __future__ import annotations

import re

import numpy as np
from safetensors.numpy import load as load_numpy

from tests.api.helpers import digits_dataset, ok

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def numpy_free_energy(v: np.ndarray, w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    v, w, a, b = (x.astype(np.float64) for x in (v, w, a, b))
    return -v @ a - np.logaddexp(0.0, v @ w + b).sum(axis=1)


def test_walkthrough_digits_job_samples_and_free_energy(client, worker):
    dataset = digits_dataset(client)
    assert (dataset["n_samples"], dataset["n_features"]) == (1797, 64)
    assert dataset["value_type"] == "binary" and dataset["image_shape"] == [8, 8]
    assert ISO_UTC.match(dataset["created_at"])

    job = ok(client.post("/v1/jobs", json={"dataset_id": dataset["id"], "model": {"n_hidden": 16},
                                           "training": {"epochs": 3, "seed": 7}}), 202)
    assert job["status"] == "queued" and job["progress"] == {"epoch": 0, "epochs": 3, "step": 0, "steps": 3, "unit": "epoch"}

    assert worker.run_until_idle() == 1
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"epoch": 3, "epochs": 3, "step": 3, "steps": 3, "unit": "epoch"}
    assert [m["epoch"] for m in job["metrics"]] == [1, 2, 3]
    assert all(np.isfinite(m["reconstruction_error"]) for m in job["metrics"])
    # training lowers the reconstruction error of digits from its first epoch
    assert job["metrics"][-1]["reconstruction_error"] < job["metrics"][0]["reconstruction_error"]
    for stamp in ("created_at", "started_at", "finished_at"):
        assert ISO_UTC.match(job[stamp]), job[stamp]

    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert (model["n_visible"], model["n_hidden"], model["visible_type"]) == (64, 16, "bernoulli")
    assert model["job_id"] == job["id"] and model["dataset_id"] == dataset["id"]
    assert model["training"]["epochs"] == 3

    samples = ok(client.post(f"/v1/models/{model['id']}/samples", json={"n_samples": 5, "steps": 20, "seed": 1}))
    s = np.array(samples["samples"])
    assert s.shape == (5, 64) and set(np.unique(s)) <= {0.0, 1.0}
    again = ok(client.post(f"/v1/models/{model['id']}/samples", json={"n_samples": 5, "steps": 20, "seed": 1}))
    assert again["samples"] == samples["samples"], "same seed must give the same samples"

    weights = client.get(f"/v1/models/{model['id']}/weights")
    assert weights.status_code == 200
    tensors = load_numpy(weights.content)
    assert tensors["weight"].shape == (64, 16)
    v = np.random.default_rng(0).integers(0, 2, size=(7, 64)).astype(np.float64)
    fe = ok(client.post(f"/v1/models/{model['id']}/free-energy", json={"data": v.tolist()}))["free_energy"]
    expected = numpy_free_energy(v, tensors["weight"], tensors["visible_bias"], tensors["hidden_bias"])
    np.testing.assert_allclose(fe, expected, rtol=1e-5, atol=1e-4)


def test_lists_paginate_newest_first(client):
    ids = [digits_dataset(client)["id"] for _ in range(3)]
    page1 = ok(client.get("/v1/datasets", params={"limit": 2}))
    page2 = ok(client.get("/v1/datasets", params={"limit": 2, "cursor": page1["next_cursor"]}))
    got = [d["id"] for d in page1["items"] + page2["items"]]
    assert got == ids[::-1] and page2["next_cursor"] is None


def test_health_and_readiness(client):
    assert ok(client.get("/healthz")) == {"status": "ok"}
    assert ok(client.get("/readyz"))["status"] == "ok"
