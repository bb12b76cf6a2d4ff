"""Ising observables of a stored model: sample it, measure, and set the exact references beside.

Orchestration only: samples (with the sampling limits and seed handling of ``POST .../samples``)
come from :func:`app.inference.service.sample`, error bars from
:func:`app.physics.observables.ising_observables`, references from :mod:`app.physics`.
Spin encoding is the data set's: visible unit i = 1 means spin +1 at site i (row-major).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, NotFound
from app.datasets.service import get_dataset
from app.db.tables import Model
from app.inference.schemas import SampleRequest
from app.inference.service import sample
from app.ising.schemas import IsingObservablesOut, IsingObservablesRequest, Observable
from app.physics import enumerate_boltzmann, ising_observables, kaufman, onsager
from app.physics.exact_enumeration import MAX_ENUMERATION_L
from app.rbm.likelihood import kl_divergence
from app.rbm.model import RBM

OBSERVABLES = ("energy_per_site", "abs_magnetization_per_site", "specific_heat_per_site", "susceptibility_per_site")


def resolve_lattice(session: Session, row: Model, model: RBM, body: IsingObservablesRequest) -> tuple[int, float, str]:
    """``(L, T, source)``: the body's values, else the model's 'ising' training data set's; 422 if neither."""
    L, T, source = body.L, body.T, "request"
    if L is None or T is None:
        params = _ising_params(session, row)
        if params is None:
            raise InvalidRequest(
                f"model {row.id!r} was not trained on the built-in 'ising' data set (or that data set was "
                "deleted), so its lattice is unknown: give both `L` (lattice side) and `T` (temperature)")
        L = int(params["L"]) if L is None else L
        T = float(params["T"]) if T is None else T
        if body.L is None and body.T is None:
            source = "dataset"
    if model.n_visible != L * L:
        raise InvalidRequest(f"the model has {model.n_visible} visible units but an L={L} lattice has "
                             f"L*L = {L * L} sites")
    return L, T, source


def _ising_params(session: Session, row: Model) -> dict | None:
    if not row.dataset_id:
        return None
    try:
        dataset = get_dataset(session, row.dataset_id)
    except NotFound:
        return None
    if dataset.builtin != "ising" or not dataset.params:
        return None
    return dataset.params


def chain_major(samples: np.ndarray, n_chains: int) -> np.ndarray:
    """Reorder ``draw_samples`` rows (round by round, chain by chain) so each chain's samples are
    contiguous and in time order, which the blocking error analysis assumes: ``(n, V) -> (n, V)``."""
    chain = np.arange(samples.shape[0]) % n_chains
    return samples[np.argsort(chain, kind="stable")]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def ising_report(ctx: ServiceContext, session: Session, row: Model, model: RBM, body: IsingObservablesRequest,
                 L: int, T: float, source: str) -> IsingObservablesOut:
    """Sample the model, measure per-site observables, attach Onsager / Kaufman / enumeration / KL."""
    if model.visible_type != "bernoulli":
        raise InvalidRequest("Ising observables need a bernoulli (binary-visible) model; this one is "
                             f"{model.visible_type!r}")
    req = SampleRequest(n_samples=body.n_samples, steps=body.steps, thin=body.thin, n_chains=body.n_chains,
                        sampler=body.sampler, seed=body.seed)
    result, seed = sample(req, model, ctx.settings, session, ctx.store)  # limits, seed and RNG as for /samples
    spins = result.samples.cpu().numpy().round().astype(np.uint8)
    n_chains = min(body.n_chains or body.n_samples, body.n_samples)
    try:
        measured = ising_observables(chain_major(spins, n_chains), L, T)
    except ValueError as exc:
        raise InvalidRequest(f"cannot compute Ising observables: {exc}") from None

    ons = onsager(T)
    refs: dict[str, dict[str, float | None]] = {
        "onsager": {"energy_per_site": ons["energy_per_site"],
                    "abs_magnetization_per_site": ons["magnetization_per_site"],
                    "specific_heat_per_site": ons["specific_heat_per_site"]},
    }
    kf = kaufman(L, T)
    refs["kaufman"] = {"energy_per_site": kf["energy_per_site"], "specific_heat_per_site": kf["specific_heat_per_site"]}
    kl = None
    if L <= MAX_ENUMERATION_L:
        exact = enumerate_boltzmann(L, T)
        refs["exact_enumeration"] = {k: exact[k] for k in OBSERVABLES}
        if L * L <= ctx.settings.kl_max_visible:
            # float64 copy: the enumeration sums 2^(L*L) terms; both sides use counting order
            # with site 0 as the most significant bit and bit 1 = spin +1
            p = torch.from_numpy(np.exp(exact["log_probs"]))
            kl = kl_divergence(p / p.sum(), model.to(dtype=torch.float64))

    def observable(key: str) -> Observable:
        return Observable(value=measured[key], error=measured[f"{key}_error"],
                          **{src: _finite(vals.get(key)) for src, vals in refs.items()})

    return IsingObservablesOut(
        model_id=row.id, L=L, T=T, source=source, sampler=body.sampler, n_samples=body.n_samples,
        steps=body.steps, thin=body.thin, seed=seed, acceptance_rate=result.acceptance_rate,
        kl_divergence=kl, **{k: observable(k) for k in OBSERVABLES})
