"""Per-key job quota: queued + running jobs one API key owns (RBM_MAX_CONCURRENT_JOBS_PER_KEY)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.errors import TooManyRequests
from app.core.settings import Settings
from app.db.states import ACTIVE, JobStatus
from app.db.tables import ApiKey, Job
from app.db.types import utcnow

UNFINISHED = (JobStatus.queued, *ACTIVE)


def enforce_job_quota(session: Session, settings: Settings, key_id: str | None, n: int = 1) -> None:
    """Refuse a submission over the key's quota. Touching the key's row first locks it until the
    caller commits the new job, so two concurrent submissions cannot both take the last slot.
    ``n``: jobs about to be added (a sweep adds several at once). Open mode (no key) has no quota."""
    if key_id is None:
        return
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_job_at=utcnow()))
    active = session.scalar(select(func.count()).select_from(Job)
                            .where(Job.api_key_id == key_id, Job.status.in_(UNFINISHED)))
    limit = settings.max_concurrent_jobs_per_key
    if (active or 0) + n > limit:
        adding = "" if n == 1 else f"; {n} more would exceed it"
        raise TooManyRequests(f"this API key already has {active} queued or running jobs, the limit is "
                              f"{limit} (RBM_MAX_CONCURRENT_JOBS_PER_KEY){adding}; wait for some to finish or "
                              "cancel some")
