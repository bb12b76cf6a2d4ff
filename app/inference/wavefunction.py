"""Wave-function models (kind `wavefunction`, from vmc jobs) where the RBM routes meet them:
loading one, and `POST /samples` drawing configurations from |psi|^2 instead of p(v).

Why here: /samples is one route for every model kind, so its wave-function branch sits in the
inference layer; the wave-function-only routes (/energy, /log-psi) live in app/wavefunctions."""

from __future__ import annotations

import os

from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.db.states import ModelKind
from app.db.tables import Model
from app.inference.schemas import DiagnosticsOut, SampleOut, SampleRequest
from app.models.service import get_model_row
from app.vmc import queries
from app.vmc.io import StoredWavefunction, load_wavefunction


def is_wavefunction(row: Model) -> bool:
    return row.kind == ModelKind.wavefunction.value


def load_wavefunction_model(ctx: ServiceContext, session: Session, model_id: str) -> tuple[Model, StoredWavefunction]:
    """The row and the stored wave function; any other kind of model is a 422 that says so."""
    row = get_model_row(session, model_id)
    if not is_wavefunction(row):
        raise InvalidRequest(f"model {model_id!r} is of kind {row.kind or 'rbm'!r}; /energy and /log-psi apply to "
                             "models of kind 'wavefunction' (the result of a vmc job)")
    return row, load_wavefunction(ctx.store.get_bytes(row.weights_key))


def check_work(ctx: ServiceContext, stored: StoredWavefunction, n_samples: int, what: str) -> None:
    limit = ctx.settings.vmc_max_energy_work
    w = queries.work(stored, n_samples)
    if w > limit:
        raise PayloadTooLarge(f"{what}: n_samples x n_visible x n_hidden = {w:.3g} exceeds {limit:.3g} "
                              "(RBM_VMC_MAX_ENERGY_WORK); ask for fewer samples")


def sample_answer(body: SampleRequest, row: Model, ctx: ServiceContext, session: Session) -> SampleOut:
    """Configurations from |psi|^2 with the sampler the model was optimised with."""
    _, stored = load_wavefunction_model(ctx, session, row.id)
    s = ctx.settings
    unsupported = [name for name, bad in (
        ("sampler", body.sampler not in ("auto", "metropolis")), ("init", body.init not in ("auto", "random")),
        ("betas", body.betas is not None), ("n_replicas", body.n_replicas is not None),
        ("beta", body.beta != 1.0), ("return_hidden", body.return_hidden),
        ("dataset_id", body.dataset_id is not None), ("vectors", body.vectors is not None)) if bad]
    if unsupported:
        raise InvalidRequest(f"a wavefunction model samples |psi|^2 with its own Markov chain from random starts; "
                             f"remove {', '.join(unsupported)} (allowed: n_samples, steps, thin, n_chains, seed)")
    if body.n_samples > s.max_samples_per_request:
        raise PayloadTooLarge(f"n_samples={body.n_samples} exceeds {s.max_samples_per_request} "
                              "(RBM_MAX_SAMPLES_PER_REQUEST)")
    if body.steps is not None and body.steps > s.max_sampling_steps:
        raise InvalidRequest(f"steps={body.steps} exceeds {s.max_sampling_steps} (RBM_MAX_SAMPLING_STEPS)")
    chains = min(body.n_chains or min(body.n_samples, 1000), body.n_samples)
    steps = body.steps if body.steps is not None else queries.DEFAULT_STEPS[stored.system.continuous]
    per_chain = -(-body.n_samples // chains)
    check_work(ctx, stored, chains * (steps + per_chain * (body.thin or 1)), "samples")
    seed = body.seed if body.seed is not None else int.from_bytes(os.urandom(6), "little")
    draw = queries.sample(stored, body.n_samples, seed=seed, steps=steps, thin=body.thin, n_chains=chains)
    return SampleOut(samples=draw.samples.tolist(), acceptance_rate=draw.acceptance,
                     diagnostics=DiagnosticsOut(**draw.diagnostics.to_dict()), seed=seed, sampler=draw.sampler,
                     steps=draw.steps, thin=draw.thin, n_chains=draw.n_chains, init="random")
