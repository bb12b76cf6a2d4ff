"""Partition function, likelihoods and KL for a stored model: input resolution, limits and
caching here, the math in ``app.rbm``. log Z results are cached in the artifact store, keyed by
model and parameters, so every API process shares them and a model is never enumerated twice."""

from __future__ import annotations

import hashlib
import json
import math
import time

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.core.settings import Settings
from app.datasets.service import rows_for_model
from app.db.tables import Model
from app.inference.cost import ais_work, check_sync, exact_work
from app.inference.schemas import (
    DataSource,
    KLOut,
    KLRequest,
    LikelihoodOut,
    LikelihoodRequest,
    PartitionOut,
    PartitionRequest,
    PseudoLikelihoodOut,
)
from app.inference.tensors import vectors_to_tensor
from app.rbm.likelihood import empirical_distribution, kl_divergence, log_likelihood, pseudo_log_likelihood
from app.rbm.model import RBM, log_odds
from app.rbm.partition import ProgressCallback, ais_base, ais_forward, ais_reverse, default_betas, exact_log_partition
from app.rbm.rows import pick_rows

#: What a synchronous request that is too expensive should do instead.
USE_ESTIMATE_JOB = ('submit it as a job instead: POST /v1/jobs {"kind": "estimate", "model_id": ..., '
                    '"estimate": {"partition_function": {...}}} runs on a worker, reports progress, and fills the '
                    'cache, so this request then answers at once')


def dataset_rows(ctx: ServiceContext, session: Session, dataset_id: str, split: str,
                 model: RBM, limit: int | None = None) -> np.ndarray:
    return rows_for_model(session, ctx.store, dataset_id, split, model.n_visible, limit)


def resolve_vectors(ctx: ServiceContext, session: Session, source: DataSource, model: RBM) -> torch.Tensor:
    if (source.data is None) == (source.dataset_id is None):
        raise InvalidRequest("give exactly one of `data` (vectors) or `dataset_id`")
    if source.data is not None:
        return vectors_to_tensor(source.data, model, ctx.settings)
    rows = dataset_rows(ctx, session, source.dataset_id, source.split, model, source.limit)  # type: ignore[arg-type]
    return vectors_to_tensor(rows, model, ctx.settings, what=f"dataset {source.dataset_id!r}")


def resolve_method(req: PartitionRequest, model: RBM, settings: Settings) -> str:
    if req.method != "auto":
        return req.method
    return "exact" if model.exact_bits <= settings.auto_exact_bits else "ais"


def estimated_work(method: str, req: PartitionRequest, model: RBM) -> float:
    """Multiply-adds of a log Z computation (see :mod:`app.inference.cost`)."""
    if method == "exact":
        bits = model.exact_bits
        return exact_work(bits, model.n_visible if bits == model.n_hidden else model.n_hidden)
    return ais_work(req.n_runs, req.n_betas, model.n_visible, model.n_hidden)


def check_limits(method: str, req: PartitionRequest, model: RBM, settings: Settings, *, sync: bool) -> None:
    """The limits of one log Z computation; ``sync`` adds the time budget of a synchronous request."""
    if method == "exact" and model.exact_bits > settings.exact_log_z_max_bits:
        raise InvalidRequest(f"exact log Z would enumerate 2^{model.exact_bits} states; the limit is "
                             f"2^{settings.exact_log_z_max_bits} (RBM_EXACT_LOG_Z_MAX_BITS): use method='ais'")
    if not sync:
        work = estimated_work(method, req, model)
        if work > settings.max_estimate_job_work:
            raise PayloadTooLarge(f"this estimation needs about {work:.3g} multiply-adds; one job may do "
                                  f"{settings.max_estimate_job_work:.3g} (RBM_MAX_ESTIMATE_JOB_WORK): "
                                  "use fewer runs or betas")
        return
    if method == "ais" and req.n_runs * req.n_betas > settings.max_ais_work:
        raise PayloadTooLarge(f"AIS with n_runs x n_betas = {req.n_runs * req.n_betas:,} exceeds "
                              f"{settings.max_ais_work:,} (RBM_MAX_AIS_WORK)")
    what = f"log Z by {'exact enumeration' if method == 'exact' else f'AIS ({req.n_runs} runs x {req.n_betas} betas)'}"
    check_sync(estimated_work(method, req, model), settings, what, USE_ESTIMATE_JOB)


def _ais_data(ctx: ServiceContext, session: Session, row: Model, model: RBM, dataset_id: str | None,
              n_runs: int, seed: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(base-rate visible bias or None, rows for reverse AIS or None) from the chosen data."""
    dataset_id = dataset_id or row.dataset_id
    if dataset_id is None:
        return None, None
    rows = dataset_rows(ctx, session, dataset_id, "train", model)
    mean = torch.from_numpy(np.asarray(rows.mean(axis=0), dtype=np.float64))
    start = torch.from_numpy(np.asarray(rows[pick_rows(rows.shape[0], n_runs, seed)], dtype=np.float32))
    start = model.start_states(start.to(model.device, model.dtype))
    return (mean if model.visible_type == "gaussian" else log_odds(mean)).to(model.device), start


def _cache_key(row: Model, method: str, req: PartitionRequest) -> str:
    params = {"method": method} if method == "exact" else {
        "method": method, "n_runs": req.n_runs, "n_betas": req.n_betas, "seed": req.seed,
        "dataset_id": req.dataset_id or row.dataset_id}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    return f"cache/log-z/{row.id}/{digest}.json"


def partition_function(ctx: ServiceContext, session: Session, row: Model, model: RBM, req: PartitionRequest,
                       *, sync: bool = True, progress: ProgressCallback | None = None) -> PartitionOut:
    """log Z, from the cache when this model and these parameters were computed before (by any
    process, request or job); a finished result is cached even if its caller has gone."""
    method = resolve_method(req, model, ctx.settings)
    key = _cache_key(row, method, req)
    if ctx.store.exists(key):
        return PartitionOut(**json.loads(ctx.store.get_bytes(key)), cached=True)
    check_limits(method, req, model, ctx.settings, sync=sync)
    started = time.perf_counter()
    if method == "exact":
        result = {"log_z": exact_log_partition(model, max_bits=ctx.settings.exact_log_z_max_bits), "log_z_std": 0.0}
    else:
        result = _ais(ctx, session, row, model, req, progress)
    result.update(method=method, seconds=round(time.perf_counter() - started, 4))
    if not all(math.isfinite(result[k]) for k in ("log_z", "log_z_std", "log_z_reverse") if result.get(k) is not None):
        # never cached and never a 200 with null: the parameters overflow float32 along the way
        raise InvalidRequest(f"log Z by {method} is not finite for this model (log_z={result['log_z']}): its "
                             "parameters are too large to compute with in float32; rescale the model")
    ctx.store.put_bytes(key, json.dumps(result).encode())
    return PartitionOut(**result, cached=False)


def _ais(ctx: ServiceContext, session: Session, row: Model, model: RBM, req: PartitionRequest,
         progress: ProgressCallback | None) -> dict:
    """Forward AIS, then reverse AIS from data where the model has some: a bracket. ``progress``
    sees one count over both directions."""
    base, start = _ais_data(ctx, session, row, model, req.dataset_id, req.n_runs, req.seed)
    generator = torch.Generator(device=model.device).manual_seed(req.seed)
    path = ais_base(model, base_visible_bias=base)
    schedule = default_betas(req.n_betas).tolist()
    passes = 1 if start is None else 2
    forward_progress = None if progress is None else (lambda d, t: progress(d, passes * t))
    forward = ais_forward(path, n_runs=req.n_runs, schedule=schedule, generator=generator, progress=forward_progress)
    result = {"log_z": forward.log_z, "log_z_std": forward.log_z_std}
    if start is not None:
        reverse_progress = None if progress is None else (lambda d, t: progress(t + d, 2 * t))
        reverse = ais_reverse(path, n_runs=req.n_runs, schedule=schedule, generator=generator, data=start,
                              progress=reverse_progress)
        result.update(log_z_reverse=reverse.log_z, log_z_reverse_std=reverse.log_z_std)
    return result


def likelihood(ctx: ServiceContext, session: Session, row: Model, model: RBM, req: LikelihoodRequest,
               *, sync: bool = True, progress: ProgressCallback | None = None) -> LikelihoodOut:
    """log p(v) = -F(v) - log Z per vector, with the log Z bracket where AIS gave one."""
    return likelihood_of(ctx, session, row, model, resolve_vectors(ctx, session, req, model), req,
                         sync=sync, progress=progress)


def likelihood_of(ctx: ServiceContext, session: Session, row: Model, model: RBM, data: torch.Tensor,
                  req: PartitionRequest, *, sync: bool = True, progress: ProgressCallback | None = None) -> LikelihoodOut:
    z = partition_function(ctx, session, row, model, req, sync=sync, progress=progress)
    with torch.no_grad():
        values = log_likelihood(model, data, z.log_z).double().cpu()
        mean = float(values.mean())
    reverse = None if z.log_z_reverse is None else mean + z.log_z - z.log_z_reverse
    return LikelihoodOut(log_likelihood=values.tolist(), mean=mean, log_z=z.log_z, log_z_std=z.log_z_std,
                         method=z.method, mean_reverse=reverse)


def kl_to_target(ctx: ServiceContext, session: Session, row: Model, model: RBM, req: KLRequest) -> KLOut:
    if model.visible_type != "bernoulli":
        raise InvalidRequest("KL divergence over all visible states needs a binary (bernoulli) model")
    if model.n_visible > ctx.settings.kl_max_visible:
        raise InvalidRequest(f"KL enumerates 2^{model.n_visible} visible states; the limit is "
                             f"2^{ctx.settings.kl_max_visible} (RBM_KL_MAX_VISIBLE)")
    if (req.probabilities is None) == (req.dataset_id is None):
        raise InvalidRequest("give exactly one of `probabilities` (over all 2^n_visible states) or `dataset_id`")
    if req.probabilities is not None:
        target = torch.tensor(req.probabilities, dtype=torch.float64)
    else:
        rows = dataset_rows(ctx, session, req.dataset_id, req.split, model)  # type: ignore[arg-type]
        target = empirical_distribution(vectors_to_tensor(rows, model, ctx.settings, what="dataset"))
    log_z = partition_function(ctx, session, row, model, PartitionRequest(method="exact")).log_z
    return KLOut(kl_divergence=kl_divergence(target, model, log_z), log_z=log_z, n_states=1 << model.n_visible)


def pseudo_likelihood(ctx: ServiceContext, session: Session, model: RBM, source: DataSource) -> PseudoLikelihoodOut:
    """Exact pseudo-log-likelihood of each row, summed over all sites."""
    data = resolve_vectors(ctx, session, source, model)
    with torch.no_grad():
        values = pseudo_log_likelihood(model, data).double().cpu()
    return PseudoLikelihoodOut(pseudo_log_likelihood=values.tolist(), mean=float(values.mean()))
