"""Queries on a stored model: free energy and sampling. Pure orchestration: limits and input
checks here, the math in ``app.rbm``."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
import torch

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.core.settings import Settings
from app.datasets.service import rows_for_model
from app.inference.schemas import SampleRequest
from app.inference.tensors import vectors_to_tensor
from app.models.service import load_model
from app.rbm.model import RBM
from app.rbm.sampling import SampleResult, draw_samples
from app.storage.artifacts import ArtifactStore
from sqlalchemy.orm import Session


def free_energy_input(ctx: ServiceContext, model_id: str, vectors: Any) -> tuple[str, RBM, torch.Tensor]:
    """Everything a free-energy query needs before its product, in one worker-thread call: the
    hot path's session, model lookup and input checks. (With the session as a dependency and the
    checks on the event loop, a 1-row query made four thread hand-offs and each small torch call
    on the loop waited for the GIL: ~250 us per call at 32 concurrent clients, profiled.)"""
    with ctx.db.session() as session:
        row, model = load_model(ctx, session, model_id)
        weights_key = row.weights_key
    return weights_key, model, vectors_to_tensor(vectors, model, ctx.settings)


def check_sampling_budget(req: SampleRequest, model: RBM, settings: Settings) -> None:
    if req.n_samples > settings.max_samples_per_request:
        raise PayloadTooLarge(f"n_samples={req.n_samples} exceeds {settings.max_samples_per_request} "
                              "(RBM_MAX_SAMPLES_PER_REQUEST)")
    if req.steps > settings.max_sampling_steps:
        raise PayloadTooLarge(f"steps={req.steps} exceeds {settings.max_sampling_steps} (RBM_MAX_SAMPLING_STEPS)")
    chains = min(req.n_chains or req.n_samples, req.n_samples)
    rounds = -(-req.n_samples // chains)
    work = chains * (req.steps + (rounds - 1) * req.thin) * model.n_visible
    if work > settings.max_sampling_work:
        raise PayloadTooLarge(f"this request needs {work:,} unit updates (chains x sweeps x n_visible); the limit is "
                              f"{settings.max_sampling_work:,} (RBM_MAX_SAMPLING_WORK): ask for fewer samples or steps")


def initial_state(req: SampleRequest, model: RBM, settings: Settings, session: Session,
                  store: ArtifactStore, generator: torch.Generator) -> str | torch.Tensor:
    if req.init == "random":
        return "random"
    if req.init == "vectors":
        if not req.vectors:
            raise InvalidRequest("init='vectors' needs `vectors`: a list of starting states")
        return vectors_to_tensor(req.vectors, model, settings, what="vectors")
    if not req.dataset_id:
        raise InvalidRequest("init='data' needs `dataset_id`")
    train = rows_for_model(session, store, req.dataset_id, "train", model.n_visible)
    n = min(req.n_chains or req.n_samples, req.n_samples)
    rows = torch.randint(0, train.shape[0], (n,), generator=torch.Generator().manual_seed(generator.initial_seed()))
    start = torch.from_numpy(np.asarray(train[np.sort(rows.numpy())], dtype=np.float32))
    if model.visible_type == "bernoulli":
        start = (start >= 0.5).to(start.dtype)  # probabilities in [0,1] start from their rounding
    return start.to(model.device, model.dtype)


def sample(req: SampleRequest, model: RBM, settings: Settings, session: Session,
           store: ArtifactStore) -> tuple[SampleResult, int]:
    check_sampling_budget(req, model, settings)
    seed = req.seed if req.seed is not None else secrets.randbelow(2**63)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    init = initial_state(req, model, settings, session, store, generator)
    result = draw_samples(model, n_samples=req.n_samples, steps=req.steps, thin=req.thin, init=init,
                          sampler=req.sampler, generator=generator, beta=req.beta,
                          return_hidden=req.return_hidden, n_chains=req.n_chains)
    return result, seed
