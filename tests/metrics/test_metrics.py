"""/metrics: HTTP counts and latencies by route template, and the database's numbers (queue depth,
job durations, training speed, worker heartbeats) as written by other processes, read at scrape
time. Values are checked against what the test itself put in the database."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from app.db.tables import Dataset, Job, JobEvent, WorkerRecord
from app.db.types import utcnow


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_not_path(client):
    for ident in ("a" * 32, "b" * 32):
        assert client.get(f"/v1/jobs/{ident}").status_code == 404
    client.get("/healthz")
    client.get("/no/such/path")
    samples = scrape(client)
    assert value(samples, "http_requests_total", method="GET", route="/v1/jobs/{job_id}", status="404") == 2
    assert value(samples, "http_requests_total", method="GET", route="/healthz", status="200") == 1
    assert value(samples, "http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(samples, "http_request_duration_seconds_count", method="GET", route="/v1/jobs/{job_id}") == 2
    assert not any("a" * 32 in str(labels) for _, labels in samples)  # no concrete ids as labels


def _job(session, status: str, seconds: float | None, kind: str = "train", **extra) -> Job:
    now = utcnow()
    job = Job(dataset_id=extra.pop("dataset_id", "d" * 32), status=status, kind=kind, epochs=3, model_spec={},
              training=extra.pop("training", {}), started_at=None if seconds is None else now - timedelta(seconds=seconds),
              finished_at=now if status in ("succeeded", "failed", "cancelled") else None, **extra)
    session.add(job)
    return job


def test_queue_depth_durations_speed_and_heartbeats_come_from_the_database(client, ctx):
    with ctx.db.session() as s:
        ds = Dataset(name="d", source="upload", n_samples=1000, n_features=4, value_type="binary", size_bytes=0)
        s.add(ds)
        s.flush()
        for _ in range(3):
            _job(s, "queued", None)
        running = _job(s, "running", 5.0, dataset_id=ds.id, training={"validation_fraction": 0.2})
        durations = [0.5, 3.0, 45.0, 7200.0]
        for seconds in durations:
            _job(s, "succeeded", seconds)
        _job(s, "failed", 2.0)
        s.flush()
        s.add(JobEvent(job_id=running.id, seq=1, kind="progress", data={"epoch": 1, "epoch_seconds": 0.4}))
        s.add(WorkerRecord(id="w1", host="h", pid=1, heartbeat_at=utcnow() - timedelta(seconds=7)))
        s.add(WorkerRecord(id="gone", host="h", pid=2, stopped_at=utcnow()))
        s.commit()
        running_id = running.id

    samples = scrape(client)
    assert value(samples, "rbm_jobs", status="queued", kind="train") == 3
    assert value(samples, "rbm_jobs", status="running", kind="train") == 1
    assert value(samples, "rbm_jobs", status="succeeded", kind="train") == 4
    assert value(samples, "rbm_job_duration_seconds_count", kind="train", status="succeeded") == 4
    assert abs(value(samples, "rbm_job_duration_seconds_sum", kind="train", status="succeeded") - sum(durations)) < 1.0
    for le, expected in (("1.0", 1), ("5.0", 2), ("60.0", 3), ("3600.0", 3), ("+Inf", 4)):
        assert value(samples, "rbm_job_duration_seconds_bucket", kind="train", status="succeeded", le=le) == expected
    assert value(samples, "rbm_job_duration_seconds_count", kind="train", status="failed") == 1
    # 1000 rows, 20 % held out for validation, 0.4 s per epoch
    assert abs(value(samples, "rbm_training_examples_per_second", job_id=running_id, kind="train") - 2000.0) < 1e-6
    assert 6.0 <= value(samples, "rbm_worker_heartbeat_age_seconds", worker="w1") < 60.0
    assert ("rbm_worker_heartbeat_age_seconds", (("worker", "gone"),)) not in samples  # stopped workers drop out
    assert value(samples, "rbm_database_up") == 1


def test_model_cache_hits_and_misses(client, ctx):
    import torch

    from app.rbm.io import to_safetensors_bytes
    from app.rbm.model import BernoulliRBM

    key = ctx.store.put_bytes(ctx.store.new_key("models", ".safetensors"),
                              to_safetensors_bytes(BernoulliRBM(torch.zeros(4, 2), torch.zeros(4), torch.zeros(2))))
    for _ in range(3):
        ctx.models.get(key)
    samples = scrape(client)
    assert value(samples, "rbm_model_cache_misses_total") == 1
    assert value(samples, "rbm_model_cache_hits_total") == 2
    assert value(samples, "rbm_model_cache_models") == 1


def test_metrics_stay_open_when_api_keys_are_on(client, ctx):
    from app.auth.keys import create_key

    with ctx.db.session() as s:
        create_key(s, ["read"], "k")
    assert client.get("/v1/jobs").status_code == 401
    assert client.get("/metrics").status_code == 200
