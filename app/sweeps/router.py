"""Sweeps: start many jobs from one spec and a search space, watch them ranked, cancel the rest."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.dependency import PrincipalDep
from app.auth.idempotency import Idempotent
from app.core.deps import ContextDep, SessionDep
from app.core.pagination import Cursor, Limit, Page
from app.core.tags import NameQuery, TagQuery
from app.sweeps import service
from app.sweeps.schemas import SweepCreate, SweepOut

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=SweepOut, dependencies=[Idempotent],
             summary="Start a sweep: one job per grid point or random draw over the base spec's options")
def create_sweep(body: SweepCreate, ctx: ContextDep, session: SessionDep, principal: PrincipalDep) -> SweepOut:
    """Every job is checked before any is queued (all or nothing). Each is named <name>-<i> and
    tagged sweep:<id>; workers take them by priority, then age, so several workers share them."""
    sweep = service.create_sweep(ctx, session, body, api_key_id=principal.key_id)
    return service.present(session, sweep)


@router.get("", response_model=Page[SweepOut], summary="List sweeps, newest first")
def list_sweeps(session: SessionDep, limit: Limit = 20, cursor: Cursor = None, name: NameQuery = None,
                tag: TagQuery = None) -> Page[SweepOut]:
    return service.list_sweeps(session, limit, cursor, name=name, tags=tag)


@router.get("/{sweep_id}", response_model=SweepOut,
            summary="A sweep's jobs with their final metric, best first, and the best model")
def get_sweep(sweep_id: str, session: SessionDep) -> SweepOut:
    return service.present(session, service.get_sweep(session, sweep_id))


@router.post("/{sweep_id}/cancel", response_model=SweepOut, summary="Cancel the sweep's jobs that have not ended")
def cancel_sweep(sweep_id: str, session: SessionDep) -> SweepOut:
    return service.present(session, service.cancel_sweep(session, sweep_id))
