"""Jobs: submit training, watch it, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependency import PrincipalDep
from app.auth.idempotency import Idempotent
from app.auth.quota import enforce_job_quota
from app.core.deps import ContextDep, SessionDep, SettingsDep
from app.core.pagination import Cursor, Limit, Page
from app.core.tags import NameQuery, TagQuery
from app.jobs import service
from app.jobs.compare import Comparison, compare, parse_ids
from app.jobs.schemas import JobCreate, JobKind, JobOut, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut,
             summary="Submit a job: train (default), estimate, ... (the `kind` field)", dependencies=[Idempotent])
def submit_job(body: JobCreate, ctx: ContextDep, session: SessionDep, settings: SettingsDep,
               principal: PrincipalDep) -> JobOut:
    """Each kind is checked before it is queued: a 202 means a worker will run it."""
    enforce_job_quota(session, settings, principal.key_id)
    job = service.create_job(ctx, session, body, api_key_id=principal.key_id)
    return service.present([job], session)[0]


@router.get("", response_model=Page[JobOut], summary="List jobs, newest first")
def list_jobs(session: SessionDep, limit: Limit = 50, cursor: Cursor = None,
              status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
              kind: Annotated[JobKind | None, Query(description="Only jobs of this kind.")] = None,
              dataset_id: Annotated[str | None, Query(description="Only jobs on this dataset.")] = None,
              sweep_id: Annotated[str | None, Query(description="Only the jobs of this sweep.")] = None,
              name: NameQuery = None, tag: TagQuery = None) -> Page[JobOut]:
    return service.list_jobs(session, limit, cursor, status=status_filter, kind=kind, dataset_id=dataset_id,
                             sweep_id=sweep_id, name=name, tags=tag)


@router.get("/compare", response_model=Comparison, summary="Jobs side by side: options and final metrics")
def compare_jobs(session: SessionDep, settings: SettingsDep,
                 ids: Annotated[str, Query(description="Job ids separated by commas (limit: RBM_COMPARE_MAX_JOBS).",
                                           examples=["JOB1,JOB2"])]) -> Comparison:
    """Options are the jobs' specs flattened to dotted paths (`training.learning_rate`), `differing`
    names those that are not all equal; metrics are each job's last epoch and its result."""
    return compare(session, parse_ids(ids, settings.compare_max_jobs))


@router.get("/{job_id}", response_model=JobOut, summary="One job with its progress and metrics; `wait` long-polls")
async def get_job(job_id: str, ctx: ContextDep,
                  wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the job to end "
                                               "before answering (long poll); 0: answer at once.")] = 0) -> JobOut:
    """With ``wait``, answers as soon as the job is final or ``wait`` seconds have passed,
    whichever is first: a client waits for a job with one request a minute instead of polling."""
    return await service.wait_for_job(ctx, job_id, wait)


@router.post("/{job_id}/cancel", response_model=JobOut,
             summary="Cancel a job: queued at once, running within one epoch; idempotent")
def cancel_job(job_id: str, session: SessionDep) -> JobOut:
    return service.present([service.cancel_job(session, job_id)], session)[0]
