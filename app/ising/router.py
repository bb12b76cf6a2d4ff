"""``POST /v1/models/{id}/ising-observables``: a model trained on Ising data against exact physics."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.compute import ComputeSlot
from app.core.deps import ContextDep, SessionDep
from app.ising.schemas import IsingObservablesOut, IsingObservablesRequest
from app.ising.service import ising_report, resolve_lattice
from app.models.service import load_model

router = APIRouter(prefix="/v1/models/{model_id}", tags=["ising"],
                   dependencies=[ComputeSlot])  # RBM_COMPUTE_CONCURRENCY at a time


@router.post("/ising-observables", response_model=IsingObservablesOut,
             summary="Energy, |magnetisation|, specific heat, susceptibility of model samples vs exact Ising results")
def ising_observables_route(model_id: str, body: IsingObservablesRequest, ctx: ContextDep,
                            session: SessionDep) -> IsingObservablesOut:
    row, model = load_model(ctx, session, model_id)
    L, T, source = resolve_lattice(session, row, model, body)
    return ising_report(ctx, session, row, model, body, L, T, source)
