"""The job queue's guarantees: one claim per job, guarded transitions, lost workers reaped,
cancellation, failures reported, resume from checkpoint equal to an uninterrupted run."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from safetensors.numpy import load as load_numpy
from sqlalchemy import update

from app.db.tables import Job, Model
from app.jobs import queue
from tests.worker.dying import die_after
from tests.api.helpers import digits_dataset, ok


def submit(client, dataset_id: str, **training) -> str:
    body = {"dataset_id": dataset_id, "model": {"n_hidden": 8}, "training": {"epochs": 2, "seed": 5, **training}}
    return ok(client.post("/v1/jobs", json=body), 202)["id"]


def weights(client, model_id: str) -> dict[str, np.ndarray]:
    return load_numpy(client.get(f"/v1/models/{model_id}/weights").content)


def test_each_job_is_claimed_once_oldest_first(client, ctx):
    ds = digits_dataset(client)
    ids = [submit(client, ds["id"]) for _ in range(3)]
    with ctx.db.session() as s:
        claimed = [queue.claim_next(s, f"w{i}", 60) for i in range(4)]
    assert claimed == ids + [None]


def test_lost_lease_blocks_every_write_of_the_old_owner(client, ctx):
    ds = digits_dataset(client)
    job_id = submit(client, ds["id"])
    with ctx.db.session() as s:
        assert queue.claim_next(s, "old", 60) == job_id
        s.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=queue.now() - timedelta(seconds=1)))
        s.commit()
        assert queue.reap_expired(s, max_attempts=3) == [(job_id, "queued")]
        assert queue.claim_next(s, "new", 60) == job_id
        for attempt in (lambda: queue.renew_lease(s, job_id, "old", 60),
                        lambda: queue.record_progress(s, job_id, "old", 1, {}, None, 60)):
            try:
                attempt()
            except queue.LeaseLost:
                pass
            else:
                raise AssertionError("a worker without the lease could write")
        assert not queue.finish(s, job_id, "old", "failed", "x")
        row = Model(source="trained", job_id=job_id, visible_type="bernoulli", n_visible=64, n_hidden=8,
                    weights_key="models/none")
        assert not queue.complete(s, job_id, "old", row)
        assert s.get(Job, job_id).status == "running" and s.get(Job, job_id).lease_owner == "new"


def test_job_out_of_attempts_fails_with_reason(client, ctx):
    ds = digits_dataset(client)
    job_id = submit(client, ds["id"])
    with ctx.db.session() as s:
        for i in range(2):
            assert queue.claim_next(s, f"w{i}", 60) == job_id
            s.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=queue.now() - timedelta(seconds=1)))
            s.commit()
            queue.reap_expired(s, max_attempts=2)
    job = ok(client.get(f"/v1/jobs/{job_id}"))
    assert job["status"] == "failed" and "max_attempts=2" in job["error"]


def test_cancel_queued_is_immediate_and_idempotent(client, worker):
    ds = digits_dataset(client)
    job_id = submit(client, ds["id"])
    assert ok(client.post(f"/v1/jobs/{job_id}/cancel"))["status"] == "cancelled"
    assert ok(client.post(f"/v1/jobs/{job_id}/cancel"))["status"] == "cancelled"
    assert worker.run_until_idle() == 0


def test_cancel_running_stops_after_the_current_epoch(client, ctx, worker):
    ds = digits_dataset(client)
    job_id = submit(client, ds["id"], epochs=50)
    with ctx.db.session() as s:
        assert queue.claim_next(s, worker.id, 60) == job_id
    assert ok(client.post(f"/v1/jobs/{job_id}/cancel"))["status"] == "cancelling"
    worker.execute(job_id)
    job = ok(client.get(f"/v1/jobs/{job_id}"))
    assert job["status"] == "cancelled" and job["progress"]["epoch"] == 1 and job["model_id"] is None
    assert ok(client.get("/v1/models"))["items"] == []


def test_resume_from_checkpoint_equals_uninterrupted_run(client, ctx, worker):
    ds = digits_dataset(client)
    straight = submit(client, ds["id"], epochs=4, method="pcd")
    worker.run_until_idle()
    reference = weights(client, ok(client.get(f"/v1/jobs/{straight}"))["model_id"])

    resumed = submit(client, ds["id"], epochs=4, method="pcd")

    die_after(ctx, resumed, steps=2)  # a worker that dies after its second epoch
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{resumed}"))
    assert job["status"] == "succeeded" and job["attempts"] == 2
    assert [m["epoch"] for m in job["metrics"]] == [1, 2, 3, 4]
    got = weights(client, job["model_id"])
    for name in reference:
        np.testing.assert_array_equal(got[name], reference[name], err_msg=name)
