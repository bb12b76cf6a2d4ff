"""Queries on a stored model: free energy and sampling. Pure orchestration: limits and input
checks here, the math in ``app.rbm``."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import torch
from fastapi import Response
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.core.settings import Settings
from app.datasets.service import rows_for_model
from app.inference.answers import array_response, check_answer_size
from app.inference.cost import check_sync, gibbs_work
from app.inference.schemas import DiagnosticsOut, SampleRequest
from app.inference.tensors import vectors_to_tensor
from app.models.service import load_model
from app.rbm.errors import InvalidInput
from app.rbm.io import read_chains, read_tempering_base
from app.rbm.model import RBM
from app.rbm.sampling import SampleResult, draw_samples
from app.rbm.tempering import TemperingBase, base_from_data, check_betas, default_betas
from app.storage.artifacts import ArtifactStore

#: Share of RBM_SYNC_MAX_SECONDS that ``auto`` plans its sweeps for (the rest: answer, traces, slack
#: for RBM_SYNC_WORK_RATE being optimistic on a busy machine).
_AUTO_BUDGET_SHARE = 0.5
#: ``auto`` never runs fewer sweeps than this, however large the model (the limits still apply).
_AUTO_MIN_STEPS = 50


def free_energy_input(ctx: ServiceContext, model_id: str, vectors: Any) -> tuple[str, RBM, torch.Tensor]:
    """Everything a free-energy query needs before its product, in one worker-thread call: the
    hot path's session, model lookup and input checks. (With the session as a dependency and the
    checks on the event loop, a 1-row query made four thread hand-offs and each small torch call
    on the loop waited for the GIL: ~250 us per call at 32 concurrent clients, profiled.)"""
    with ctx.db.session() as session:
        row, model = load_model(ctx, session, model_id)
        weights_key = row.weights_key
    return weights_key, model, vectors_to_tensor(vectors, model, ctx.settings)


#: Stored chains kept in memory per weights key (a few MB each); models never change, so entries never go stale.
_CHAINS_CACHE_SIZE = 16
_chains_cache: OrderedDict[str, tuple[torch.Tensor | None, TemperingBase | None]] = OrderedDict()
_chains_lock = threading.Lock()


def stored_chains(store: ArtifactStore, weights_key: str | None) -> tuple[torch.Tensor | None, TemperingBase | None]:
    """The persistent chains and the tempering base rate saved with a model's weights (``None`` where absent)."""
    if weights_key is None:
        return None, None
    with _chains_lock:
        if weights_key in _chains_cache:
            _chains_cache.move_to_end(weights_key)
            return _chains_cache[weights_key]
    data = store.get_bytes(weights_key)
    base = read_tempering_base(data)
    chains = (read_chains(data), None if base is None else TemperingBase(*base))
    with _chains_lock:
        _chains_cache[weights_key] = chains
        while len(_chains_cache) > _CHAINS_CACHE_SIZE:
            _chains_cache.popitem(last=False)
    return chains


@dataclass
class SamplingPlan:
    """What a sampling request runs once its defaults are resolved (the answer reports it)."""

    sampler: str
    init: str
    steps: int
    thin: int
    n_chains: int
    n_replicas: int | None
    betas: list[float] | None

    @property
    def replicas(self) -> int:
        return len(self.betas) if self.betas else 1

    def sweeps(self, n_samples: int) -> int:
        rounds = -(-n_samples // self.n_chains)
        return self.steps + (rounds - 1) * self.thin


def plan_sampling(req: SampleRequest, model: RBM, settings: Settings, has_chains: bool) -> SamplingPlan:
    """Resolve ``auto`` and the omitted fields. A request with only ``n_samples`` and ``seed`` gets
    equilibrium samples within the synchronous budget (RBM_SYNC_MAX_SECONDS):

    parallel tempering (RBM_SAMPLING_PT_REPLICAS replicas) on at most RBM_SAMPLING_AUTO_PT_CHAINS
    chains, thinned to collect the samples, as many sweeps as the budget allows up to
    RBM_SAMPLING_AUTO_STEPS, started from the model's stored chains (every trained model has them:
    equilibrium samples of its final evaluation) or else from random states. Gibbs from stored
    chains keeps their distribution but crosses between modes rarely, so its chains keep their
    start modes and the R-hat check fails on multi-modal models (bars-and-stripes: 1.21 against
    PT's 1.01, bench/README.md); tempering mixes them.
    """
    init = req.init
    if init == "auto":
        init = "chains" if has_chains else "random"
    elif init == "chains" and not has_chains:
        raise InvalidRequest("init='chains' needs a model stored with its training chains; this one has none "
                             "(models trained by this service have them): use init='random' or 'data'")
    sampler = req.sampler
    if sampler == "auto":
        sampler = "pt"
    if req.betas is not None and sampler != "pt":
        raise InvalidRequest("betas is a parallel-tempering option: set sampler='pt'")
    betas = None
    if sampler == "pt":
        try:
            betas = check_betas(req.betas) if req.betas is not None else default_betas(
                req.n_replicas or settings.sampling_pt_replicas, req.beta)
        except InvalidInput as exc:
            raise InvalidRequest(str(exc)) from None
    n_replicas = len(betas) if betas is not None else None
    auto = req.sampler == "auto"
    chains = req.n_chains or req.n_samples
    if auto and sampler == "pt" and req.n_chains is None:
        chains = min(req.n_samples, settings.sampling_auto_pt_chains)
    chains = min(chains, req.n_samples)
    if req.steps is not None:
        steps = req.steps
        thin = req.thin or 1
    elif not auto:
        steps, thin = settings.sampling_default_steps, req.thin or 1
    else:
        # sweeps the synchronous budget allows for all rows (chains x replicas), split between the
        # burn-in and the thinning of later rounds
        rows = chains * (n_replicas or 1)
        affordable = int(settings.sync_max_seconds * settings.sync_work_rate * _AUTO_BUDGET_SHARE
                         / (2.0 * rows * model.n_visible * model.n_hidden))  # two products per sweep
        total = max(_AUTO_MIN_STEPS, min(settings.sampling_auto_steps, affordable))
        rounds = -(-req.n_samples // chains)
        if rounds == 1:
            steps, thin = total, req.thin or 1
        else:
            steps = total // 2
            thin = req.thin or max(1, (total - steps) // (rounds - 1))
    return SamplingPlan(sampler, init, int(steps), int(thin), int(chains), n_replicas, betas)


def check_sampling_budget(req: SampleRequest, model: RBM, settings: Settings, plan: SamplingPlan | None = None) -> None:
    """413 past the named limits; the work counts every replica of a parallel-tempering chain."""
    plan = plan or plan_sampling(req, model, settings, has_chains=False)
    if req.n_samples > settings.max_samples_per_request:
        raise PayloadTooLarge(f"n_samples={req.n_samples} exceeds {settings.max_samples_per_request} "
                              "(RBM_MAX_SAMPLES_PER_REQUEST)")
    if plan.steps > settings.max_sampling_steps:
        raise PayloadTooLarge(f"steps={plan.steps} exceeds {settings.max_sampling_steps} (RBM_MAX_SAMPLING_STEPS)")
    # at least one sweep: steps=0 still draws every sample (it used to count as no work at all)
    work = plan.n_chains * plan.replicas * max(plan.sweeps(req.n_samples), 1) * model.n_visible
    if work > settings.max_sampling_work:
        raise PayloadTooLarge(f"this request needs {work:,} unit updates (chains x replicas x sweeps x n_visible); "
                              f"the limit is {settings.max_sampling_work:,} (RBM_MAX_SAMPLING_WORK): ask for fewer "
                              "samples, steps or replicas")
    check_answer_size(req.n_samples, model.n_visible + (model.n_hidden if req.return_hidden else 0), settings,
                      "sample")
    sweeps = max(plan.sweeps(req.n_samples), 1)
    check_sync(gibbs_work(plan.n_chains * plan.replicas, sweeps, model.n_visible, model.n_hidden), settings,
               f"sampling ({plan.n_chains} chains x {plan.replicas} replicas x {sweeps} sweeps)",
               "ask for fewer samples, sweeps or replicas, or split the request (seeded draws can be repeated)")


def initial_state(req: SampleRequest, model: RBM, settings: Settings, session: Session,
                  store: ArtifactStore, generator: torch.Generator, plan: SamplingPlan | None = None,
                  chains: torch.Tensor | None = None) -> str | torch.Tensor:
    init = plan.init if plan is not None else req.init
    if init in ("random", "auto"):
        return "random"
    if init == "chains":
        n = plan.n_chains if plan is not None else min(req.n_chains or req.n_samples, req.n_samples)
        # a seeded choice of distinct stored chains (cycled only when more chains than stored are asked for)
        g = torch.Generator().manual_seed(generator.initial_seed())
        order = torch.randperm(chains.shape[0], generator=g)
        return chains[order[torch.arange(n) % chains.shape[0]]].to(model.device, model.dtype)
    if init == "vectors":
        if not req.vectors:
            raise InvalidRequest("init='vectors' needs `vectors`: a list of starting states")
        return vectors_to_tensor(req.vectors, model, settings, what="vectors")
    if not req.dataset_id:
        raise InvalidRequest("init='data' needs `dataset_id`")
    train = rows_for_model(session, store, req.dataset_id, "train", model.n_visible)
    n = min(req.n_chains or req.n_samples, req.n_samples)
    rows = torch.randint(0, train.shape[0], (n,), generator=torch.Generator().manual_seed(generator.initial_seed()))
    start = torch.from_numpy(np.asarray(train[np.sort(rows.numpy())], dtype=np.float32))
    return model.start_states(start.to(model.device, model.dtype))


def sample(req: SampleRequest, model: RBM, settings: Settings, session: Session,
           store: ArtifactStore, weights_key: str | None = None) -> tuple[SampleResult, int]:
    """Draw the samples of ``req`` (``weights_key`` finds the model's stored chains)."""
    result, seed, _plan = sample_with_plan(req, model, settings, session, store, weights_key)
    return result, seed


def sample_with_plan(req: SampleRequest, model: RBM, settings: Settings, session: Session, store: ArtifactStore,
                     weights_key: str | None = None) -> tuple[SampleResult, int, SamplingPlan]:
    chains, stored_base = stored_chains(store, weights_key)
    plan = plan_sampling(req, model, settings, has_chains=chains is not None)
    check_sampling_budget(req, model, settings, plan)
    seed = req.seed if req.seed is not None else secrets.randbelow(2**63)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    init = initial_state(req, model, settings, session, store, generator, plan, chains)
    base = None
    if plan.sampler == "pt":
        # the training data's base rate stored with the model; else the chains' (few rows: a rough one)
        base = stored_base or (base_from_data(model, chains) if chains is not None else None)
    result = draw_samples(model, n_samples=req.n_samples, steps=plan.steps, thin=plan.thin, init=init,
                          sampler=plan.sampler, generator=generator, beta=req.beta,  # type: ignore[arg-type]
                          return_hidden=req.return_hidden, n_chains=plan.n_chains, betas=plan.betas, base=base,
                          adapt_ladder=req.betas is None)  # an explicit ladder is used as given
    return result, seed, plan


def sample_answer(req: SampleRequest, row, model: RBM, settings: Settings, session: Session,
                  store: ArtifactStore, binary: str | None = None) -> Any:
    """``POST /samples``: the samples, what was run, and its equilibrium diagnostics. With
    ``binary`` (an ``answers`` media type): the samples (and hidden, side by side) as float32,
    the rest in a header."""
    result, seed, plan = sample_with_plan(req, model, settings, session, store, row.weights_key)
    fields = dict(acceptance_rate=result.acceptance_rate, swap_acceptance=result.swap_acceptance,
                  betas=result.betas, diagnostics=DiagnosticsOut(**result.diagnostics.to_dict()), seed=seed,
                  sampler=plan.sampler, steps=plan.steps, thin=plan.thin, n_chains=plan.n_chains,
                  n_replicas=plan.n_replicas, init=plan.init)
    if binary:
        array = result.samples if result.hidden is None else torch.cat([result.samples, result.hidden], dim=1)
        meta = {k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in fields.items()}
        meta["columns"] = {"samples": model.n_visible, "hidden": 0 if result.hidden is None else model.n_hidden}
        return array_response(array, binary, meta)
    # JSON written by orjson from float64 arrays (the same numbers as .tolist()) rather than returned as
    # a SampleOut for FastAPI to validate and json.dumps: 1,000 x 784 samples took ~0.7 s that way and
    # ~0.1 s this way (bench/perf, issue 17). The shape is SampleOut's, field for field.
    payload = {"samples": _json_rows(result.samples),
               "hidden": None if result.hidden is None else _json_rows(result.hidden),
               **{k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in fields.items()}}
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


def _json_rows(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float64).numpy())

