"""Real `rbm-service worker` processes, killed with SIGKILL and SIGTERM mid-training: every job
still ends succeeded exactly once, with exactly one model whose weights equal an uninterrupted run
of the same seed, bit for bit. Runs on SQLite and (second pass) PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest

from tests.api.helpers import digits_dataset, ok
from tests.chaos.procs import (
    all_final, job_rows, model_weights, models_per_job, owner_pid, progress_epochs, reference_weights,
    running_job_past, status_events, wait_for,
)

#: Real processes, tens of seconds each: scripts/test.sh runs them; -m "not slow" skips them.
pytestmark = pytest.mark.slow

EPOCHS = 40
TRAINING = {"epochs": EPOCHS, "seed": 7, "method": "pcd", "batch_size": 10, "k": 2}


def submit(client, dataset_id: str, n: int, training: dict = TRAINING) -> list[str]:
    body = {"dataset_id": dataset_id, "model": {"n_hidden": 32}, "training": training}
    return [ok(client.post("/v1/jobs", json=body), 202)["id"] for _ in range(n)]


def assert_exactly_once_and_identical(ctx, job_ids: list[str], epochs: int = EPOCHS) -> None:
    """Every job succeeded once, one model each, full progress history, weights == reference."""
    jobs = job_rows(ctx, job_ids)
    assert sorted(j.status for j in jobs) == ["succeeded"] * len(job_ids), [(j.id, j.status, j.error) for j in jobs]
    counts = models_per_job(ctx)
    assert {j: counts.get(j, 0) for j in job_ids} == {j: 1 for j in job_ids}
    assert sum(counts.values()) == len(job_ids), "a model exists for no submitted job"
    reference = reference_weights(ctx, job_ids[0])  # same spec and seed for all of them
    for job in jobs:
        assert [e["status"] for e in status_events(ctx, job.id)].count("succeeded") == 1
        assert progress_epochs(ctx, job.id) == list(range(1, epochs + 1)), "an epoch was lost or recorded twice"
        got = model_weights(ctx, job.model_id)
        assert set(got) == set(reference)
        for name in reference:
            np.testing.assert_array_equal(got[name], reference[name], err_msg=f"job {job.id}: {name}")


def test_kill_9_workers_mid_training(client, ctx, spawn):
    job_ids = submit(client, digits_dataset(client)["id"], 4)
    workers = {w.pid: w for w in (spawn("worker"), spawn("worker"))}
    kills = 0
    killed_jobs: set[str] = set()
    while kills < 3:
        victim_job = wait_for(lambda: running_job_past(ctx, 2, EPOCHS - 5), 60, "a job mid-training")
        pid = owner_pid(victim_job.lease_owner)
        if pid not in workers or not workers[pid].alive():
            continue
        workers.pop(pid).kill9()
        kills += 1
        killed_jobs.add(victim_job.id)
        new = spawn("worker")
        workers[new.pid] = new
    wait_for(lambda: all_final(ctx, job_ids), 120, "every job to finish", interval=0.2)
    assert_exactly_once_and_identical(ctx, job_ids)
    for job in job_rows(ctx, list(killed_jobs)):
        assert job.attempts >= 2, "a killed job must have been claimed again"
        assert "lease expired" in [e.get("reason") for e in status_events(ctx, job.id)]


def test_sigterm_releases_the_job_and_another_worker_resumes_it(client, ctx, spawn):
    [job_id] = submit(client, digits_dataset(client)["id"], 1)
    first = spawn("worker", RBM_LEASE_SECONDS="30")  # a long lease: only the release can hand it on
    wait_for(lambda: running_job_past(ctx, 3, EPOCHS - 10), 60, "the job mid-training")
    assert first.terminate(timeout=30) == 0
    [job] = job_rows(ctx, [job_id])
    assert job.status == "queued" and job.lease_owner is None and job.checkpoint_key
    assert 3 <= job.epoch < EPOCHS and job.attempts == 0
    assert status_events(ctx, job_id)[-1] == {"status": "queued", "reason": "worker shut down"}
    spawn("worker")
    wait_for(lambda: all_final(ctx, [job_id]), 60, "the resumed job to finish", interval=0.2)
    assert_exactly_once_and_identical(ctx, [job_id])
    [job] = job_rows(ctx, [job_id])
    assert job.attempts == 1
    owners = [e.get("owner") for e in status_events(ctx, job_id) if e["status"] == "running"]
    assert len(owners) == 2 and owners[0] != owners[1]


@pytest.mark.parametrize("n_workers", [2, 4])
def test_workers_drain_the_queue_without_double_claims(client, ctx, spawn, n_workers):
    """Nothing dies here, so every job is claimed exactly once: one 'running' event, attempts == 1.
    PostgreSQL only (FOR UPDATE SKIP LOCKED is the path under test; SQLite has one writer)."""
    if not ctx.db.url.startswith("postgresql"):
        pytest.skip("concurrent claims are tested on PostgreSQL (the --db-only pass of scripts/test.sh)")
    training = {**TRAINING, "epochs": 3}
    job_ids = submit(client, digits_dataset(client)["id"], n_workers + 2, training)
    workers = [spawn("worker", "--drain", RBM_LEASE_SECONDS="60") for _ in range(n_workers)]
    wait_for(lambda: all_final(ctx, job_ids), 120, "the queue to drain", interval=0.2)
    for w in workers:
        w.proc.wait(timeout=30)
    assert_exactly_once_and_identical(ctx, job_ids, epochs=3)
    for job in job_rows(ctx, job_ids):
        assert job.attempts == 1
        assert [e["status"] for e in status_events(ctx, job.id)] == ["running", "succeeded"]
