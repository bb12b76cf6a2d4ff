"""A worker that dies mid-job: it records ``steps`` progress steps, then loses its lease (as a
killed process would), so the job can be resumed by another worker from its checkpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.db.tables import Job
from app.jobs import queue
from app.worker.runner import Worker


def die_after(ctx, job_id: str, steps: int, worker_id: str = "doomed") -> None:
    """Claim ``job_id``, run it until ``steps`` progress records, then 'die'; its lease is then
    expired so the next worker's reaper requeues the job."""
    doomed = Worker(ctx, worker_id=worker_id)
    with ctx.db.session() as s:
        assert queue.claim_next(s, doomed.id, 60) == job_id
    original, calls = queue.record_progress, {"n": 0}

    def dying_record(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > steps:
            raise queue.LeaseLost("simulated death")
        return original(*args, **kwargs)

    queue.record_progress = dying_record
    try:
        doomed.execute(job_id)
    finally:
        queue.record_progress = original
    with ctx.db.session() as s:
        assert s.get(Job, job_id).epoch == steps
        s.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=queue.now() - timedelta(seconds=1)))
        s.commit()
