"""Sweeps: a 2 x 2 grid on digits makes 4 jobs tagged with the sweep, ranked by the metric with
the best model named (checked against the jobs' own last-epoch metrics); /metrics then shows 4
jobs in the duration histogram. Random sweeps draw reproducible points within their ranges;
cancel ends the rest; a bad point or an oversized sweep queues nothing."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from app.auth.scopes import required_scope
from app.sweeps.space import grid_points, random_points, with_options
from app.sweeps.schemas import RandomRange
from tests.api.helpers import error_of, ok


def test_grid_of_two_learning_rates_by_two_hidden_sizes_finishes_with_a_best_model(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    body = {"name": "lr-x-hidden", "tags": {"team": "vision"},
            "base": {"dataset_id": ds["id"], "model": {"n_hidden": 8}, "training": {"epochs": 2, "seed": 1}},
            "grid": {"training.learning_rate": [0.1, 0.01], "model.n_hidden": [8, 16]},
            "metric": "reconstruction_error", "goal": "min"}
    sweep = ok(client.post("/v1/sweeps", json=body), 202)
    assert sweep["counts"] == {"queued": 4} and not sweep["done"] and sweep["best"] is None
    jobs = ok(client.get("/v1/jobs", params={"sweep_id": sweep["id"]}))["items"]
    assert sorted(j["name"] for j in jobs) == [f"lr-x-hidden-{i}" for i in range(1, 5)]
    assert all(j["tags"] == {"team": "vision", "sweep": sweep["id"]} for j in jobs)
    assert sorted((j["spec"]["training"]["learning_rate"], j["spec"]["model"]["n_hidden"]) for j in jobs) == \
        [(0.01, 8), (0.01, 16), (0.1, 8), (0.1, 16)]

    assert worker.run_until_idle() == 4
    done = ok(client.get(f"/v1/sweeps/{sweep['id']}"))
    assert done["done"] and done["counts"] == {"succeeded": 4}
    finals = {j["id"]: j["metrics"][-1]["reconstruction_error"] for j in ok(client.get(
        "/v1/jobs", params={"sweep_id": sweep["id"]}))["items"]}
    assert [j["value"] for j in done["jobs"]] == sorted(finals.values())  # best (smallest) first
    best_id = min(finals, key=finals.get)
    assert done["best"]["id"] == best_id
    assert done["best"]["model_id"] == ok(client.get(f"/v1/jobs/{best_id}"))["model_id"]
    assert ok(client.get(f"/v1/models/{done['best']['model_id']}"))["tags"]["sweep"] == sweep["id"]
    assert set(done["jobs"][0]["options"]) == {"training.learning_rate", "model.n_hidden"}

    text = client.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("rbm_job_duration_seconds_count", (("kind", "train"), ("status", "succeeded")))] == 4
    assert sum(v for (name, _), v in samples.items() if name == "http_requests_total") > 0
    assert samples[("http_requests_total", (("method", "POST"), ("route", "/v1/sweeps"), ("status", "202")))] == 1


def test_random_sweep_draws_reproducible_points_in_range_and_cancel_ends_the_rest(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    body = {"base": {"dataset_id": ds["id"], "model": {"n_hidden": 4}, "training": {"epochs": 1}},
            "random": {"training.learning_rate": {"low": 1e-3, "high": 1e-1, "log": True},
                       "model.n_hidden": {"low": 4, "high": 12, "integer": True}},
            "count": 5, "seed": 7, "metric": "reconstruction_error", "priority": 5}
    sweep = ok(client.post("/v1/sweeps", json=body), 202)
    jobs = ok(client.get("/v1/jobs", params={"sweep_id": sweep["id"]}))["items"]
    assert len(jobs) == 5 and all(j["priority"] == 5 for j in jobs)
    for job in jobs:
        assert 1e-3 <= job["spec"]["training"]["learning_rate"] <= 1e-1
        assert job["spec"]["model"]["n_hidden"] in range(4, 13)
    again = random_points({k: RandomRange(**v) for k, v in body["random"].items()}, 5, 7)
    assert sorted(p["training.learning_rate"] for p in again) == \
        sorted(j["spec"]["training"]["learning_rate"] for j in jobs)

    assert worker.run_once()  # one job finishes (the highest priority, oldest first), the rest are cancelled
    cancelled = ok(client.post(f"/v1/sweeps/{sweep['id']}/cancel"), 200)
    assert cancelled["counts"] == {"succeeded": 1, "cancelled": 4} and cancelled["done"]
    assert cancelled["best"]["status"] == "succeeded"


def test_a_bad_point_or_an_oversized_sweep_queues_nothing(client):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    base = {"dataset_id": ds["id"], "model": {"n_hidden": 4}, "training": {"epochs": 1}}
    message = error_of(client.post("/v1/sweeps", json={"base": base, "grid": {"training.learning_rate": [0.1, -1]}}), 422)
    assert "job 2" in message and "learning_rate" in message
    message = error_of(client.post("/v1/sweeps", json={"base": base, "grid": {"model.n_hidden": list(range(1, 102))}}), 422)
    assert "RBM_SWEEP_MAX_JOBS" in message
    error_of(client.post("/v1/sweeps", json={"base": base}), 422)  # neither grid nor random
    error_of(client.post("/v1/sweeps", json={"base": base, "random": {"k": {"low": 2, "high": 1}}, "count": 2}), 422)
    assert ok(client.get("/v1/jobs"))["items"] == []
    error_of(client.get("/v1/sweeps/" + "0" * 32), 404)


def test_space_helpers():
    assert grid_points({"a": [1, 2], "b.c": ["x"]}) == [{"a": 1, "b.c": "x"}, {"a": 2, "b.c": "x"}]
    assert with_options({"b": {"d": 1}}, {"b.c": 2, "e.f": 3}) == {"b": {"d": 1, "c": 2}, "e": {"f": 3}}
    logs = [math.log10(p["x"]) for p in random_points({"x": RandomRange(low=1e-4, high=1.0, log=True)}, 2000, 0)]
    assert min(logs) >= -4 and max(logs) <= 0 and abs(sum(logs) / len(logs) + 2) < 0.1  # uniform in log
    picks = [p["m"] for p in random_points({"m": RandomRange(values=["cd", "pcd"])}, 400, 1)]
    assert set(picks) == {"cd", "pcd"} and 150 < picks.count("cd") < 250
    ints = [p["n"] for p in random_points({"n": RandomRange(low=4, high=6, integer=True)}, 300, 2)]
    assert set(ints) == {4, 5, 6}


def test_sweep_writes_need_the_train_scope():
    assert required_scope("POST", "/v1/sweeps") == "train"
    assert required_scope("POST", "/v1/sweeps/{sweep_id}/cancel") == "train"
    assert required_scope("PATCH", "/v1/models/{model_id}") == "train"
    assert required_scope("GET", "/v1/sweeps/{sweep_id}") == "read"
