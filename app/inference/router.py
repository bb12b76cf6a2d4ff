"""Queries on a model: free energy and samples."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.deps import ContextDep, SessionDep
from app.inference import service
from app.inference.schemas import FreeEnergyOut, SampleOut, SampleRequest, VectorsIn
from app.inference.tensors import vectors_to_tensor
from app.models.service import load_model

router = APIRouter(prefix="/v1/models/{model_id}", tags=["inference"])


@router.post("/free-energy", response_model=FreeEnergyOut, summary="Free energy F(v) of each vector")
def free_energy(model_id: str, body: VectorsIn, ctx: ContextDep, session: SessionDep) -> FreeEnergyOut:
    _, model = load_model(ctx, session, model_id)
    data = vectors_to_tensor(body.data, model, ctx.settings)
    return FreeEnergyOut(free_energy=service.free_energy(model, data).tolist())


@router.post("/samples", response_model=SampleOut, summary="Draw samples by block Gibbs or Metropolis-Hastings")
def samples(model_id: str, body: SampleRequest, ctx: ContextDep, session: SessionDep) -> SampleOut:
    _, model = load_model(ctx, session, model_id)
    result, seed = service.sample(body, model, ctx.settings, session, ctx.store)
    return SampleOut(samples=result.samples.cpu().tolist(),
                     hidden=None if result.hidden is None else result.hidden.cpu().tolist(),
                     acceptance_rate=result.acceptance_rate, seed=seed, sampler=body.sampler)
