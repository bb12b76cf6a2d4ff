"""Queries on a model: free energy, samples, conditionals, log Z, likelihoods, KL."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.core.compute import ComputeSlot
from app.core.deps import ContextDep, SessionDep
from app.core.disconnect import stop_when_disconnected
from app.inference import answers, bodies, conditionals, estimation, service, wavefunction
from app.inference import dbn as dbn_queries
from app.inference.schemas import (
    DataSource,
    FreeEnergyOut,
    HiddenOut,
    KLOut,
    KLRequest,
    LayerVectorsIn,
    LikelihoodOut,
    LikelihoodRequest,
    PartitionOut,
    PartitionRequest,
    PseudoLikelihoodOut,
    ReconstructionOut,
    SampleOut,
    SampleRequest,
)
from app.models.service import get_model_row, load_any_model, load_model
from app.rbm.dbn import DBN

router = APIRouter(prefix="/v1/models/{model_id}", tags=["inference"])


@router.post("/free-energy", response_model=FreeEnergyOut, summary="Free energy F(v) of each vector",
             openapi_extra=bodies.OPENAPI_VECTORS)
async def free_energy(model_id: str, request: Request, ctx: ContextDep) -> Response:
    """JSON ``{"data": [[...]]}``, raw float32 (``application/octet-stream`` + ``X-Shape``) or ``.npy``;
    concurrent queries to one model share one matrix product (RBM_INFERENCE_BATCH_*)."""
    vectors = await bodies.read_vectors(request)
    weights_key, model, data = await run_in_threadpool(service.free_energy_input, ctx, model_id, vectors)
    values = await request.app.state.free_energy_batcher.free_energy(weights_key, model, data)
    return Response(orjson.dumps({"free_energy": values}, option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json")


@router.post("/samples", dependencies=[ComputeSlot], response_model=SampleOut, responses=answers.BINARY_RESPONSES,
             summary="Draw samples (block Gibbs, Metropolis-Hastings or parallel tempering) with equilibrium diagnostics")
def samples(model_id: str, body: SampleRequest, ctx: ContextDep, session: SessionDep, request: Request) -> SampleOut:
    """`Accept: application/x-npy` or `application/octet-stream` (+ `X-Shape`): the samples as float32,
    the other fields in the `X-RBM-Meta` header."""
    row = get_model_row(session, model_id)
    if wavefunction.is_wavefunction(row):  # configurations from |psi|^2 (a vmc job's model)
        return wavefunction.sample_answer(body, row, ctx, session)
    row, model = load_any_model(ctx, session, model_id)
    if isinstance(model, DBN):  # the top RBM's sampler, then a down pass
        return dbn_queries.sample_answer(body, model, ctx, session)
    return service.sample_answer(body, row, model, ctx.settings, session, ctx.store,
                                 binary=answers.binary_format(request))


@router.post("/hidden", dependencies=[ComputeSlot], response_model=HiddenOut, responses=answers.BINARY_RESPONSES,
             summary="Hidden activation probabilities p(h=1|v) (a DBN: at `layer`)")
def hidden(model_id: str, body: LayerVectorsIn, ctx: ContextDep, session: SessionDep, request: Request) -> HiddenOut:
    """`Accept: application/x-npy` or `application/octet-stream` (+ `X-Shape`) for a float32 answer."""
    _, model = load_any_model(ctx, session, model_id)
    fmt = answers.binary_format(request)
    probs = conditionals.hidden_probabilities(ctx, model, body.data, body.layer)
    if fmt:
        return answers.array_response(probs, fmt)  # type: ignore[return-value]
    return HiddenOut(probabilities=probs.cpu().tolist())


@router.post("/reconstruct", dependencies=[ComputeSlot], response_model=ReconstructionOut, responses=answers.BINARY_RESPONSES,
             summary="Mean-field reconstruction v -> p(h|v) -> E[v|h] (a DBN: up to `layer` and back down)")
def reconstruct(model_id: str, body: LayerVectorsIn, ctx: ContextDep, session: SessionDep,
                request: Request) -> ReconstructionOut:
    """`Accept: application/x-npy` or `application/octet-stream` (+ `X-Shape`) for a float32 answer."""
    _, model = load_any_model(ctx, session, model_id)
    fmt = answers.binary_format(request)
    mean = conditionals.reconstruction(ctx, model, body.data, body.layer)
    if fmt:
        return answers.array_response(mean, fmt)  # type: ignore[return-value]
    return ReconstructionOut(reconstruction=mean.cpu().tolist())


@router.post("/partition-function", dependencies=[ComputeSlot], response_model=PartitionOut,
             summary="log Z: exact enumeration or annealed importance sampling (forward and reverse)")
def partition_function(model_id: str, body: PartitionRequest, ctx: ContextDep, session: SessionDep,
                       request: Request) -> PartitionOut:
    row, model = load_model(ctx, session, model_id)
    return estimation.partition_function(ctx, session, row, model, body, progress=stop_when_disconnected(request))


@router.post("/log-likelihood", dependencies=[ComputeSlot], response_model=LikelihoodOut,
             summary="log p(v) per vector, with the log Z used")
def log_likelihood_route(model_id: str, body: LikelihoodRequest, ctx: ContextDep, session: SessionDep) -> LikelihoodOut:
    """For a DBN: the variational lower bound (Salakhutdinov & Murray 2008) with the top RBM's log Z;
    `method` says so, and `bound_std` gives the Monte-Carlo error of each row's bound."""
    row, model = load_any_model(ctx, session, model_id)
    if isinstance(model, DBN):
        return LikelihoodOut(**dbn_queries.lower_bound_answer(ctx, session, row, model, body))
    return estimation.likelihood(ctx, session, row, model, body)


@router.post("/pseudo-likelihood", dependencies=[ComputeSlot], response_model=PseudoLikelihoodOut,
             summary="Exact pseudo-log-likelihood over all sites (binary models)")
def pseudo_likelihood(model_id: str, body: DataSource, ctx: ContextDep, session: SessionDep) -> PseudoLikelihoodOut:
    _, model = load_model(ctx, session, model_id)
    return estimation.pseudo_likelihood(ctx, session, model, body)


@router.post("/kl-divergence", dependencies=[ComputeSlot], response_model=KLOut,
             summary="KL(target || model) over all visible states (small binary models)")
def kl_divergence(model_id: str, body: KLRequest, ctx: ContextDep, session: SessionDep) -> KLOut:
    row, model = load_model(ctx, session, model_id)
    return estimation.kl_to_target(ctx, session, row, model, body)


