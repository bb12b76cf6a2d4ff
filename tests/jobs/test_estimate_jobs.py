"""Estimation jobs: log Z and likelihoods on a worker, against exact enumeration; the cache
they fill; the 413 that sends too-expensive synchronous requests to them; cancel and progress."""

from __future__ import annotations

import itertools
import time

import numpy as np
from safetensors.numpy import save as save_numpy

from app.db.states import JobStatus
from app.jobs import queue
from tests.api.helpers import error_of, ok, upload_array


def upload_model(client, tensors: dict[str, np.ndarray], visible_type: str = "bernoulli", **form) -> dict:
    blob = save_numpy({k: np.ascontiguousarray(x, dtype=np.float32) for k, x in tensors.items()},
                      metadata={"visible_type": visible_type})
    return ok(client.post("/v1/models", files={"file": ("m.safetensors", blob)}, data=form), 201)


def random_bb(rng, V: int, H: int, scale: float = 0.5) -> dict[str, np.ndarray]:
    p = {"weight": rng.normal(0, scale, (V, H)), "visible_bias": rng.normal(0, 0.3, V),
         "hidden_bias": rng.normal(0, 0.3, H)}
    return {k: x.astype(np.float32).astype(np.float64) for k, x in p.items()}


def exact_log_z(p: dict[str, np.ndarray]) -> float:
    """Brute force over every visible state, independent of app.rbm."""
    v = np.array(list(itertools.product([0.0, 1.0], repeat=p["weight"].shape[0])))
    neg_f = v @ p["visible_bias"] + np.logaddexp(0.0, v @ p["weight"] + p["hidden_bias"]).sum(axis=1)
    return float(np.logaddexp.reduce(neg_f))


def submit(client, body: dict) -> dict:
    return ok(client.post("/v1/jobs", json=body), 202)


def test_estimate_job_matches_exact_log_z_and_fills_the_cache(client, worker):
    params = random_bb(np.random.default_rng(0), 12, 10)
    model = upload_model(client, params)
    job = submit(client, {"kind": "estimate", "model_id": model["id"],
                          "estimate": {"partition_function": {"method": "ais", "n_runs": 200, "n_betas": 2000,
                                                              "seed": 1}}})
    assert job["kind"] == "estimate" and job["status"] == "queued" and job["progress"]["unit"] == "percent"
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["method"] == "ais" and abs(result["log_z"] - exact_log_z(params)) < 0.05, result
    assert job["metrics"] and job["metrics"][-1]["betas_done"] == job["metrics"][-1]["betas_total"]
    # the synchronous route with the same parameters now answers from the cache, at once
    started = time.perf_counter()
    z = ok(client.post(f"/v1/models/{model['id']}/partition-function",
                       json={"method": "ais", "n_runs": 200, "n_betas": 2000, "seed": 1}))
    assert z["cached"] is True and z["log_z"] == result["log_z"] and time.perf_counter() - started < 0.5


def test_estimate_job_log_likelihood_on_a_dataset_matches_numpy(client, worker):
    rng = np.random.default_rng(2)
    params = random_bb(rng, 8, 5)
    model = upload_model(client, params)
    data = (rng.random((30, 8)) < 0.4).astype(np.float32)
    ds = upload_array(client, data)
    job = submit(client, {"kind": "estimate", "model_id": model["id"],
                          "estimate": {"partition_function": {"method": "exact"},
                                       "log_likelihood": {"dataset_id": ds["id"], "split": "train", "limit": 20}}})
    worker.run_until_idle()
    result = ok(client.get(f"/v1/jobs/{job['id']}"))["result"]
    v = data[:20].astype(np.float64)
    expected = (v @ params["visible_bias"] + np.logaddexp(0.0, v @ params["weight"] + params["hidden_bias"]).sum(1)
                - exact_log_z(params)).mean()
    assert result["method"] == "exact" and result["log_likelihood"]["n"] == 20
    assert abs(result["log_likelihood"]["mean"] - expected) < 1e-4


def test_too_expensive_synchronous_ais_answers_413_naming_the_estimate_job(client):
    model = upload_model(client, random_bb(np.random.default_rng(3), 784, 500, 0.01))
    message = error_of(client.post(f"/v1/models/{model['id']}/partition-function",
                                   json={"method": "ais", "n_runs": 100, "n_betas": 10000}), 413)
    assert "RBM_SYNC_MAX_SECONDS" in message and '"kind": "estimate"' in message


def test_estimate_job_refused_at_submission_when_it_cannot_run(client):
    model = upload_model(client, random_bb(np.random.default_rng(4), 40, 30))
    message = error_of(client.post("/v1/jobs", json={"kind": "estimate", "model_id": model["id"],
                                                     "estimate": {"partition_function": {"method": "exact"}}}), 422)
    assert "RBM_EXACT_LOG_Z_MAX_BITS" in message
    error_of(client.post("/v1/jobs", json={"kind": "estimate", "model_id": "nope"}), 404)
    error_of(client.post("/v1/jobs", json={"kind": "teleport", "model_id": model["id"]}), 422)


def test_cancelling_a_running_estimate_job_stops_it_between_blocks_of_betas(client, worker, ctx):
    model = upload_model(client, random_bb(np.random.default_rng(5), 30, 20))
    job = submit(client, {"kind": "estimate", "model_id": model["id"],
                          "estimate": {"partition_function": {"method": "ais", "n_runs": 50, "n_betas": 100000}}})
    with ctx.db.session() as s:
        assert queue.claim_next(s, worker.id, 60) == job["id"]
    ok(client.post(f"/v1/jobs/{job['id']}/cancel"))  # running -> cancelling before the first block
    worker.execute(job["id"])
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == JobStatus.cancelled and job["result"] is None and job["progress"]["step"] < 5


def test_a_train_job_without_kind_is_a_train_job(client, worker):
    ds = upload_array(client, (np.random.default_rng(6).random((40, 6)) < 0.5).astype(np.float32))
    job = submit(client, {"dataset_id": ds["id"], "model": {"n_hidden": 3}, "training": {"epochs": 2}})
    assert job["kind"] == "train" and job["spec"]["training"]["epochs"] == 2 and job["training"]["epochs"] == 2
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded" and job["model_id"] and job["progress"]["step"] == 2


def test_get_job_long_polls_until_the_job_ends(client, worker):
    ds = upload_array(client, (np.random.default_rng(7).random((40, 6)) < 0.5).astype(np.float32))
    job = submit(client, {"dataset_id": ds["id"], "model": {"n_hidden": 3}, "training": {"epochs": 1}})
    started = time.perf_counter()
    assert ok(client.get(f"/v1/jobs/{job['id']}", params={"wait": 0.3}))["status"] == "queued"
    assert time.perf_counter() - started >= 0.3
    worker.run_until_idle()
    started = time.perf_counter()
    assert ok(client.get(f"/v1/jobs/{job['id']}", params={"wait": 30}))["status"] == "succeeded"
    assert time.perf_counter() - started < 5
    error_of(client.get(f"/v1/jobs/{job['id']}", params={"wait": 61}), 422)


def test_too_expensive_synchronous_sampling_answers_413_with_what_to_do(client):
    model = upload_model(client, random_bb(np.random.default_rng(8), 784, 500, 0.01))
    message = error_of(client.post(f"/v1/models/{model['id']}/samples",
                                   json={"n_samples": 5000, "n_chains": 5000, "steps": 100, "sampler": "gibbs"}), 413)
    assert "RBM_SYNC_MAX_SECONDS" in message and "fewer samples" in message
