"""The job event log: per-epoch metrics and status changes, in order, per job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.tables import JobEvent


def append_event(session: Session, job_id: str, kind: str, data: dict[str, Any]) -> int:
    """Add the next event of a job (caller commits). Only the job's current owner writes, so
    max(seq)+1 does not race."""
    seq = (session.scalar(select(func.max(JobEvent.seq)).where(JobEvent.job_id == job_id)) or 0) + 1
    session.add(JobEvent(job_id=job_id, seq=seq, kind=kind, data=data))
    return seq


def metrics_by_job(session: Session, job_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The per-epoch metrics of several jobs in one query."""
    out: dict[str, list[dict[str, Any]]] = {j: [] for j in job_ids}
    if not job_ids:
        return out
    rows = session.execute(select(JobEvent.job_id, JobEvent.data)
                           .where(JobEvent.job_id.in_(job_ids), JobEvent.kind == "progress")
                           .order_by(JobEvent.job_id, JobEvent.seq))
    for job_id, data in rows:
        out[job_id].append(data)
    return out


def events_after(session: Session, job_id: str, after_seq: int) -> list[JobEvent]:
    return list(session.scalars(select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after_seq)
                                .order_by(JobEvent.seq)))
