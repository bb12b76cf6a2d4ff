"""The jobs table is the queue. Every transition is one SQL statement guarded by the state the
caller believes in (and, for a worker, by its lease), and checks the row count: two workers
racing on one job cannot both win, and a worker that lost its lease cannot overwrite anything."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from app.db.states import ACTIVE, JobStatus
from app.db.tables import Job, Model, new_id
from app.db.types import UTCDateTime
from app.jobs.events import append_event

Q, RUN, CANCELLING = JobStatus.queued, JobStatus.running, JobStatus.cancelling


def now() -> datetime:
    return datetime.now(UTC)


class LeaseLost(Exception):
    """This worker no longer owns the job (lease expired and another worker took it, or it ended)."""


def claim_next(session: Session, owner: str, lease_seconds: float) -> str | None:
    """Atomically take the queued job of highest priority, oldest first among equals: FOR UPDATE
    SKIP LOCKED on PostgreSQL; on SQLite the UPDATE runs under the database's single write lock,
    so the subquery cannot be shared."""
    t = now()
    oldest = (select(Job.id).where(Job.status == Q).order_by(Job.priority.desc(), Job.created_at, Job.id)
              .limit(1).with_for_update(skip_locked=True).scalar_subquery())
    job_id = session.scalar(
        update(Job).where(Job.id == oldest, Job.status == Q)
        .values(status=RUN, lease_owner=owner, lease_expires_at=t + timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1, started_at=func.coalesce(Job.started_at, literal(t, UTCDateTime())))
        .returning(Job.id))
    if job_id is not None:
        append_event(session, job_id, "status", {"status": RUN.value, "owner": owner})
    session.commit()
    return job_id


def _owned(job_id: str, owner: str):
    return (Job.id == job_id) & (Job.lease_owner == owner) & Job.status.in_(ACTIVE)


def renew_lease(session: Session, job_id: str, owner: str, lease_seconds: float) -> str:
    """Extend the lease; returns the job's status (``cancelling`` tells the worker to stop)."""
    status = session.scalar(update(Job).where(_owned(job_id, owner))
                            .values(lease_expires_at=now() + timedelta(seconds=lease_seconds))
                            .returning(Job.status))
    session.commit()
    if status is None:
        raise LeaseLost(job_id)
    return status


def record_progress(session: Session, job_id: str, owner: str, step: int, metrics: dict[str, Any],
                    checkpoint_key: str | None, lease_seconds: float) -> tuple[str, str | None]:
    """Store one step's progress (an epoch, a block of betas, an iteration) and checkpoint
    atomically; returns (status, previous checkpoint key)."""
    previous = session.scalar(select(Job.checkpoint_key).where(Job.id == job_id))
    status = session.scalar(update(Job).where(_owned(job_id, owner))
                            .values(epoch=step, checkpoint_key=checkpoint_key,
                                    lease_expires_at=now() + timedelta(seconds=lease_seconds))
                            .returning(Job.status))
    if status is None:
        session.rollback()
        raise LeaseLost(job_id)
    append_event(session, job_id, "progress", {"epoch": step, **metrics})
    session.commit()
    return status, previous


def complete(session: Session, job_id: str, owner: str, model: Model | None = None,
             result: dict[str, Any] | None = None) -> bool:
    """End the job as succeeded with its model and/or result, all or nothing. False if the lease
    was lost (the caller then deletes its weights file): a job yields at most one model."""
    if model is not None:
        model.id = model.id or new_id()  # the job row points at it before the insert flushes
    status = session.scalar(update(Job).where(_owned(job_id, owner), Job.status == RUN)
                            .values(status=JobStatus.succeeded, model_id=None if model is None else model.id,
                                    result=result, finished_at=now(),
                                    lease_owner=None, lease_expires_at=None, checkpoint_key=None)
                            .returning(Job.status))
    if status is None:
        session.rollback()
        return False
    event: dict[str, Any] = {"status": JobStatus.succeeded.value}
    if model is not None:
        session.add(model)
        event["model_id"] = model.id
    append_event(session, job_id, "status", event)
    session.commit()
    return True


def finish(session: Session, job_id: str, owner: str, status: JobStatus, error: str | None = None) -> bool:
    """End an owned job as ``failed`` or ``cancelled``. Its checkpoint file is then unreferenced:
    ``rbm-service gc`` removes it."""
    assert status in (JobStatus.failed, JobStatus.cancelled)
    done = session.scalar(update(Job).where(_owned(job_id, owner))
                          .values(status=status, error=error, finished_at=now(),
                                  lease_owner=None, lease_expires_at=None, checkpoint_key=None)
                          .returning(Job.id))
    if done is None:
        session.rollback()
        return False
    append_event(session, job_id, "status", {"status": JobStatus(status).value, **({"error": error} if error else {})})
    session.commit()
    return True


def release(session: Session, job_id: str, owner: str) -> bool:
    """Give a running job back to the queue (graceful shutdown); it resumes from its checkpoint."""
    done = session.scalar(update(Job).where(_owned(job_id, owner), Job.status == RUN)
                          .values(status=Q, lease_owner=None, lease_expires_at=None,
                                  attempts=Job.attempts - 1)
                          .returning(Job.id))
    if done is not None:
        append_event(session, job_id, "status", {"status": Q.value, "reason": "worker shut down"})
    session.commit()
    return done is not None


def request_cancel(session: Session, job_id: str) -> JobStatus | None:
    """Cancel: a queued job at once, a running one at its next epoch. Idempotent; returns the new
    status, or None if the job is already final (the caller reports its current state)."""
    if session.scalar(update(Job).where(Job.id == job_id, Job.status == Q)
                      .values(status=JobStatus.cancelled, finished_at=now()).returning(Job.id)):
        append_event(session, job_id, "status", {"status": JobStatus.cancelled.value})
        session.commit()
        return JobStatus.cancelled
    if session.scalar(update(Job).where(Job.id == job_id, Job.status == RUN)
                      .values(status=CANCELLING).returning(Job.id)):
        append_event(session, job_id, "status", {"status": CANCELLING.value})
        session.commit()
        return CANCELLING
    session.commit()
    return None


def reap_expired(session: Session, max_attempts: int) -> list[tuple[str, JobStatus]]:
    """Requeue running jobs whose lease expired (their worker died), fail those out of attempts,
    and end expired cancelling jobs as cancelled. Returns (job id, new status) pairs."""
    t = now()
    changed: list[tuple[str, JobStatus]] = []
    expired = session.execute(select(Job.id, Job.status, Job.attempts, Job.lease_owner)
                              .where(Job.status.in_(ACTIVE), Job.lease_expires_at < t)).all()
    for job_id, status, attempts, owner in expired:
        guard = (Job.id == job_id) & (Job.status == status) & (Job.lease_owner == owner) & (Job.lease_expires_at < t)
        if status == CANCELLING:
            new, values = JobStatus.cancelled, {"finished_at": t, "checkpoint_key": None}
        elif attempts >= max_attempts:
            new, values = JobStatus.failed, {"finished_at": t, "checkpoint_key": None, "error": f"worker lost {attempts} time(s) "
                                     f"(lease expired); giving up after max_attempts={max_attempts}"}
        else:
            new, values = Q, {}
        if session.scalar(update(Job).where(guard).values(status=new, lease_owner=None, lease_expires_at=None,
                                                          **values).returning(Job.id)):
            append_event(session, job_id, "status", {"status": new.value, "reason": "lease expired"})
            changed.append((job_id, new))
    session.commit()
    return changed
