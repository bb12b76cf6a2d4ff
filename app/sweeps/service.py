"""Sweep logic: expand the space into job specs, check every one with its kind's rules before
any is queued (all or nothing), queue them tagged with the sweep, and report them ranked."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.quota import enforce_job_quota
from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, NotFound
from app.core.pagination import Page, paginate
from app.core.tags import where_equal, where_tags
from app.db.states import FINAL, JobStatus
from app.db.tables import Job, Sweep
from app.jobs import queue
from app.jobs.compare import final_metrics
from app.jobs.events import metrics_by_job
from app.jobs.kinds import JobCreate
from app.jobs.service import create_job
from app.sweeps.schemas import SweepCreate, SweepJob, SweepOut
from app.sweeps.space import grid_points, grid_size, random_points, with_options

_SPEC: TypeAdapter[Any] = TypeAdapter(JobCreate)
SWEEP_TAG = "sweep"  # every job of a sweep carries {"sweep": <sweep id>}


def points(body: SweepCreate, limit: int) -> list[dict[str, Any]]:
    n = grid_size(body.grid) if body.grid is not None else int(body.count or 0)
    if n > limit:
        raise InvalidRequest(f"this sweep makes {n} jobs; the limit is {limit} (RBM_SWEEP_MAX_JOBS): "
                             "fewer values or a smaller count")
    if body.grid is not None:
        return grid_points(body.grid)
    assert body.random is not None
    return random_points(body.random, n, body.seed)


def job_specs(body: SweepCreate, sweep_id: str, pts: list[dict[str, Any]]) -> list[Any]:
    """One validated spec per point; the first that does not validate is a 422 naming its point."""
    prefix = body.name or body.base.get("name") or f"sweep-{sweep_id[:8]}"
    specs = []
    for i, point in enumerate(pts, start=1):
        try:
            data = with_options(body.base, point)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        data["name"] = f"{prefix}-{i}"
        data["tags"] = {**(data.get("tags") or {}), **(body.tags or {}), SWEEP_TAG: sweep_id}
        if body.priority is not None:
            data["priority"] = body.priority
        try:
            specs.append(_SPEC.validate_python(data))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'spec'}: {e['msg']}" for e in exc.errors())
            raise InvalidRequest(f"job {i} of the sweep ({point}) is not a valid job spec: {problems}") from None
    return specs


def create_sweep(ctx: ServiceContext, session: Session, body: SweepCreate, *, api_key_id: str | None = None,
                 tenant: str | None = None) -> Sweep:
    pts = points(body, ctx.settings.sweep_max_jobs)
    sweep = Sweep(name=body.name, tags=body.tags, tenant=tenant, base=body.base, metric=body.metric, goal=body.goal,
                  space={"grid": body.grid} if body.grid is not None else
                  {"random": {k: v.model_dump(exclude_none=True) for k, v in (body.random or {}).items()},
                   "count": body.count, "seed": body.seed})
    session.add(sweep)
    session.flush()  # the id, for the jobs' tags
    specs = job_specs(body, sweep.id, pts)
    enforce_job_quota(session, ctx.settings, api_key_id, n=len(specs))
    for spec in specs:  # each kind's check runs before anything is committed: all jobs or none
        create_job(ctx, session, spec, api_key_id=api_key_id, tenant=tenant, sweep_id=sweep.id, commit=False)
    session.commit()
    return sweep


def get_sweep(session: Session, sweep_id: str) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        raise NotFound("sweep", sweep_id)
    return sweep


def swept_paths(sweep: Sweep) -> list[str]:
    return list((sweep.space.get("grid") or sweep.space.get("random") or {}).keys())


def _lookup(spec: dict[str, Any], path: str) -> Any:
    node: Any = spec
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def present(session: Session, sweep: Sweep) -> SweepOut:
    jobs = list(session.scalars(select(Job).where(Job.sweep_id == sweep.id).order_by(Job.created_at, Job.id)))
    history = metrics_by_job(session, [j.id for j in jobs])
    paths = swept_paths(sweep)
    rows = []
    for job in jobs:
        value = final_metrics(history[job.id], job.result).get(sweep.metric or "") if job.status == "succeeded" else None
        rows.append(SweepJob(id=job.id, name=job.name, status=job.status, model_id=job.model_id, value=value,
                             options={p: _lookup(job.spec or {}, p) for p in paths},
                             progress=f"{job.epoch}/{job.epochs}"))
    sign = 1.0 if sweep.goal == "min" else -1.0
    rows.sort(key=lambda r: (r.value is None, sign * r.value if r.value is not None else 0.0))
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    best = rows[0] if rows and rows[0].value is not None else None
    return SweepOut(id=sweep.id, name=sweep.name, tags=sweep.tags or {}, base=sweep.base, space=sweep.space,
                    metric=sweep.metric, goal=sweep.goal, created_at=sweep.created_at, counts=counts,
                    done=all(JobStatus(j.status) in FINAL for j in jobs), jobs=rows, best=best)


def cancel_sweep(session: Session, sweep_id: str) -> Sweep:
    """Cancel every job of the sweep that has not ended (queued at once, running within a step)."""
    sweep = get_sweep(session, sweep_id)
    for job_id in session.scalars(select(Job.id).where(Job.sweep_id == sweep_id,
                                                       Job.status.notin_([s.value for s in FINAL]))).all():
        queue.request_cancel(session, job_id)
    session.expire_all()
    return sweep


def list_sweeps(session: Session, limit: int, cursor: str | None, *, name: str | None = None,
                tags: list[str] | None = None) -> Page[SweepOut]:
    """Newest first, each filter applied only when given."""
    stmt = where_tags(where_equal(select(Sweep), name=(Sweep.name, name)), Sweep, tags)
    rows, next_cursor = paginate(session, stmt, Sweep, limit, cursor)
    return Page[SweepOut](items=[present(session, s) for s in rows], next_cursor=next_cursor)
