"""Routes of wave-function models: thin; the work is in service.py and app/vmc."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.compute import ComputeSlot
from app.core.deps import ContextDep, SessionDep
from app.wavefunctions import service
from app.wavefunctions.schemas import EnergyOut, EnergyRequest, LogPsiOut, LogPsiRequest

router = APIRouter(prefix="/v1/models/{model_id}", tags=["wavefunctions"],
                   dependencies=[ComputeSlot])  # RBM_COMPUTE_CONCURRENCY at a time


@router.post("/energy", response_model=EnergyOut, summary="Energy of a wave function by VMC sampling, "
             "with its blocking error and the exact energy where known")
def energy(model_id: str, body: EnergyRequest, ctx: ContextDep, session: SessionDep) -> EnergyOut:
    return service.energy(ctx, session, model_id, body)


@router.post("/log-psi", response_model=LogPsiOut, summary="log |psi| (and sign) of configurations")
def log_psi(model_id: str, body: LogPsiRequest, ctx: ContextDep, session: SessionDep) -> LogPsiOut:
    return service.log_psi(ctx, session, model_id, body)
