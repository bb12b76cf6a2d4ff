"""Job logic shared by the router, the CLI and sweeps: check a spec against its kind's rules and
the limits, enqueue it, present it."""

from __future__ import annotations

import time
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.context import ServiceContext
from app.core.errors import NotFound
from app.core.pagination import Page, paginate
from app.core.tags import where_equal, where_tags
from app.datasets.service import lock_dataset
from app.db.states import JobKind, JobStatus
from app.db.tables import Job
from app.jobs import queue
from app.jobs.events import metrics_by_job
from app.jobs.kinds import KINDS, JobCommon
from app.jobs.schemas import JobOut, Progress


def create_job(ctx: ServiceContext, session: Session, spec: JobCommon, *, api_key_id: str | None = None,
               tenant: str | None = None, sweep_id: str | None = None, commit: bool = True) -> Job:
    """Check ``spec`` with its kind's rules, then queue it. Nothing is queued that its kind's
    ``check`` refuses."""
    kind = JobKind(spec.kind)
    submission = KINDS[kind].check(ctx, session, spec)
    if submission.dataset_id is not None:  # re-checked under a lock: a concurrent delete waits or wins (404)
        lock_dataset(session, submission.dataset_id, exclusive=False)
    dumped: dict[str, Any] = spec.model_dump(mode="json")
    job = Job(kind=kind.value, spec=dumped, name=spec.name, tags=spec.tags or None, priority=spec.priority,
              dataset_id=submission.dataset_id, status=JobStatus.queued.value, api_key_id=api_key_id,
              tenant=tenant, sweep_id=sweep_id, epochs=submission.steps,
              model_spec=dumped.get("model") if kind == JobKind.train else None,
              training=dumped.get("training") if kind == JobKind.train else None)
    session.add(job)
    if commit:
        session.commit()
    return job


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def _unit(job: Job) -> str:
    return {JobKind.estimate: "percent", JobKind.vmc: "iteration"}.get(JobKind(job.kind), "epoch")


def stored_spec(job: Job) -> dict[str, Any]:
    """The job's spec; rows from before job kinds carry only their model and training dicts."""
    if job.spec is not None:
        return job.spec
    return {"kind": job.kind, "name": job.name, "dataset_id": job.dataset_id, "model": job.model_spec,
            "training": job.training}


def present(jobs: list[Job], session: Session) -> list[JobOut]:
    metrics = metrics_by_job(session, [j.id for j in jobs])
    return [JobOut(id=j.id, kind=JobKind(j.kind), name=j.name, tags=j.tags or {}, priority=j.priority,
                   dataset_id=j.dataset_id, status=JobStatus(j.status),
                   progress=Progress(epoch=j.epoch, epochs=j.epochs, step=j.epoch, steps=j.epochs, unit=_unit(j)),
                   metrics=metrics[j.id], model_id=j.model_id, result=j.result, error=j.error,
                   spec=stored_spec(j), model=j.model_spec, training=j.training, sweep_id=j.sweep_id,
                   attempts=j.attempts, created_at=j.created_at, started_at=j.started_at,
                   finished_at=j.finished_at) for j in jobs]


def _job_out(ctx: ServiceContext, job_id: str) -> JobOut:
    with ctx.db.session() as session:
        return present([get_job(session, job_id)], session)[0]


async def wait_for_job(ctx: ServiceContext, job_id: str, seconds: float) -> JobOut:
    """The job, once it is final or after ``seconds`` (polling the database like the event
    stream, so it works whichever process runs the worker)."""
    deadline = time.monotonic() + seconds
    while True:
        job = await run_in_threadpool(_job_out, ctx, job_id)
        if job.status.is_final or time.monotonic() >= deadline:
            return job
        await anyio.sleep(min(ctx.settings.sse_poll_seconds, max(0.0, deadline - time.monotonic())))


def list_jobs(session: Session, limit: int, cursor: str | None, *, status: JobStatus | None = None,
              kind: JobKind | None = None, dataset_id: str | None = None, sweep_id: str | None = None,
              name: str | None = None, tags: list[str] | None = None) -> Page[JobOut]:
    """Newest first, each filter applied only when given."""
    stmt = where_equal(select(Job), status=(Job.status, status and JobStatus(status).value),
                       kind=(Job.kind, kind and JobKind(kind).value), dataset_id=(Job.dataset_id, dataset_id),
                       sweep_id=(Job.sweep_id, sweep_id), name=(Job.name, name))
    rows, next_cursor = paginate(session, where_tags(stmt, Job, tags), Job, limit, cursor)
    return Page[JobOut](items=present(rows, session), next_cursor=next_cursor)


def cancel_job(session: Session, job_id: str) -> Job:
    get_job(session, job_id)
    queue.request_cancel(session, job_id)
    session.expire_all()
    return get_job(session, job_id)
