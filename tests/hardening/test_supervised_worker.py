"""Issue 15 item 1: `serve`'s embedded worker is supervised. kill -9 of the worker child five times
during one job: serve reaps it (no zombie), /readyz reports the outage while it lasts, a new child
starts, and the job still finishes once with one model and a gap-free epoch history."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import digits_dataset, ok
from tests.chaos.procs import free_port, job_rows, models_per_job, progress_epochs, status_events, wait_for

EPOCHS = 150
KILLS = 5


def _ready(base: str) -> tuple[int, dict]:
    try:
        r = httpx.get(f"{base}/readyz", timeout=5)
    except httpx.HTTPError:
        return 0, {}
    return r.status_code, r.json()


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (the supervisor thread starts the restarted ones)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return found


def _is_zombie_or_gone(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0]  # the state letter
    except FileNotFoundError:
        return "gone"


@pytest.mark.slow
def test_kill_9_embedded_worker_five_times(client, ctx, spawn):
    dataset = digits_dataset(client)
    body = {"dataset_id": dataset["id"], "model": {"n_hidden": 16},
            "training": {"epochs": EPOCHS, "seed": 5, "batch_size": 20}}
    job_id = ok(client.post("/v1/jobs", json=body), 202)["id"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", "--port", str(port), RBM_EMBEDDED_WORKER="true", RBM_WORKER_RESTART_SECONDS="0.5",
                   RBM_WORKER_RESTART_MAX_SECONDS="1", RBM_MAX_ATTEMPTS="20")
    wait_for(lambda: _ready(base)[0] == 200, 240, "serve to be ready", interval=0.2)

    last_epoch, last_owner = -1, None
    outages_seen = 0
    for kill in range(KILLS):
        def running_here():
            status, ready = _ready(base)
            emb = ready.get("embedded_worker") or {}
            job = job_rows(ctx, [job_id])[0]
            children = _children(server.pid)
            seen["state"] = (status, emb, job.status, job.epoch, job.lease_owner, last_owner, children)
            if status == 200 and emb.get("alive") and job.status == "running" and len(children) == 1 \
                    and ":embedded:" in (job.lease_owner or "") and job.lease_owner != last_owner \
                    and job.epoch > last_epoch:
                return children[0], job
            return None
        seen: dict = {}
        try:
            child, job = wait_for(running_here, 120, f"the job running on a fresh embedded worker (kill {kill + 1})",
                                  interval=0.05)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; last seen: {seen.get('state')}") from None
        last_epoch, last_owner = job.epoch, job.lease_owner
        assert job.epoch < EPOCHS, "the job finished before all kills landed; make it longer"
        os.kill(child, signal.SIGKILL)

        def outage_reported():
            status, ready = _ready(base)
            if status == 503 and ready.get("status") == "degraded" and not ready["embedded_worker"]["alive"]:
                return ready
            return None
        ready = wait_for(outage_reported, 10, "/readyz to report the dead worker", interval=0.02)
        assert "embedded worker is down" in ready["reason"]
        outages_seen += 1
        assert _is_zombie_or_gone(child) == "gone", "the killed child was not reaped"

    final = wait_for(lambda: (j := job_rows(ctx, [job_id])[0]).status in ("succeeded", "failed") and j, 240,
                     "the job to finish", interval=0.2)
    assert final.status == "succeeded", final.error
    assert models_per_job(ctx) == {job_id: 1}
    assert [e["status"] for e in status_events(ctx, job_id)].count("succeeded") == 1
    assert progress_epochs(ctx, job_id) == list(range(1, EPOCHS + 1))
    assert final.attempts >= KILLS + 1
    status, ready = _ready(base)
    assert status == 200 and ready["embedded_worker"]["restarts"] == KILLS and outages_seen == KILLS
    live = [w for w in ready["workers"] if w["alive"]]
    assert len(live) == 1 and live[0]["jobs_claimed"] >= 1  # the killed ones were marked stopped
    assert not {"id", "host", "pid", "current_job_id"} & set(live[0]), "an open probe must not show worker hosts"
    assert server.alive()
