"""A real `rbm-service serve` (no embedded worker) killed with SIGKILL and restarted while a client
submits jobs with Idempotency-Keys and retries through the outage: no submission is lost and none
is duplicated, and a separate worker process trains them all."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.chaos.procs import all_final, free_port, job_rows, models_per_job, wait_for

#: Real processes, tens of seconds each: scripts/test.sh runs them; -m "not slow" skips them.
pytestmark = pytest.mark.slow

N_JOBS = 6


def _submit_until_accepted(base: str, key: str, body: dict, deadline: float) -> str:
    """Retry through connection errors; a 409 'not recorded' means the server died between commit
    and reply, so the job exists: find it by its name (= the key)."""
    while time.monotonic() < deadline:
        try:
            r = httpx.post(f"{base}/v1/jobs", json=body, headers={"Idempotency-Key": key}, timeout=10)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if r.status_code == 202:
            return r.json()["id"]
        if r.status_code == 409 and "not recorded" in r.text:
            jobs = httpx.get(f"{base}/v1/jobs", params={"limit": 200}, timeout=10).json()["items"]
            return next(j["id"] for j in jobs if j["name"] == key)
        raise AssertionError(f"unexpected {r.status_code}: {r.text}")
    raise TimeoutError(f"{key} was never accepted")


def test_api_restart_loses_and_duplicates_no_submission(ctx, spawn):
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def serve():
        return spawn("serve", "--port", str(port), RBM_EMBEDDED_WORKER="false", RBM_LOG_LEVEL="WARNING")

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    api = serve()
    wait_for(ready, 60, "the API to start", interval=0.2)
    ds = httpx.post(f"{base}/v1/datasets/builtin", json={"builtin": "digits"}, timeout=30).json()
    accepted: dict[str, str] = {}
    deadline = time.monotonic() + 90

    def client() -> None:
        for i in range(N_JOBS):
            key = f"chaos-submit-{i}"
            body = {"dataset_id": ds["id"], "name": key, "model": {"n_hidden": 8},
                    "training": {"epochs": 2, "seed": i}}
            accepted[key] = _submit_until_accepted(base, key, body, deadline)
            # a retry of an accepted request returns the same job, never a second one
            try:
                again = httpx.post(f"{base}/v1/jobs", json=body, headers={"Idempotency-Key": key}, timeout=10)
            except httpx.TransportError:  # the server is down right now; the next key retries anyway
                again = None
            if again is not None and again.status_code == 202:
                assert again.json()["id"] == accepted[key] and again.headers["idempotent-replayed"] == "true"
            time.sleep(0.15)

    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            client()
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    submitter = threading.Thread(target=guarded)
    submitter.start()
    wait_for(lambda: len(accepted) >= 2 or errors, 60, "the first submissions")
    api.kill9()
    time.sleep(0.5)
    api = serve()
    submitter.join(timeout=120)
    assert not errors, errors
    assert not submitter.is_alive() and len(accepted) == N_JOBS

    spawn("worker", "--drain")
    job_ids = sorted(accepted.values())
    wait_for(lambda: all_final(ctx, job_ids), 90, "the worker to train every job", interval=0.2)
    jobs = job_rows(ctx)
    assert sorted(j.id for j in jobs) == job_ids, "a submission was duplicated or lost"
    assert sorted(j.name for j in jobs) == sorted(accepted)
    assert {j.status for j in jobs} == {"succeeded"}
    assert models_per_job(ctx) == {j: 1 for j in job_ids}
