"""Queries on a stored DBN: samples (the top RBM's sampler, then a down pass), features and
reconstructions at a layer, and the variational lower bound on log p(v) with the top RBM's log Z
(exact or AIS, cached like an RBM's). Orchestration only; the math is :mod:`app.rbm.dbn`."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.datasets.service import rows_for_model
from app.db.tables import Model
from app.inference import service
from app.inference.estimation import check_limits, resolve_method, resolve_vectors
from app.inference.schemas import DiagnosticsOut, LikelihoodRequest, SampleOut, SampleRequest
from app.inference.tensors import vectors_to_tensor
from app.rbm.dbn import DBN, log_likelihood_lower_bound
from app.rbm.model import log_odds
from app.rbm.partition import ais_base, ais_forward, ais_reverse, default_betas, exact_log_partition
from app.rbm.rows import pick_rows

#: Draws from q(h_1 | v) per vector for the Monte-Carlo bound (its standard error is reported).
BOUND_SAMPLES = 50
#: Rows of the model's training data whose up-pass features set the AIS base rate of the top RBM.
_AIS_DATA_ROWS = 10_000


def _top_states(dbn: DBN, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Binary states of the top RBM's visible layer: the mean-field up-pass of ``v``, sampled."""
    p = dbn.up(v, dbn.n_layers - 1)
    if dbn.n_layers == 1:
        return p
    return torch.lt(torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype), p).to(p.dtype)


def sample_top(req: SampleRequest, dbn: DBN, ctx: ServiceContext, session: Session):
    """Run the request's sampler on the top RBM; ``init`` data/vectors start from their up-pass.
    Returns (result, seed, plan) of :func:`app.inference.service.sample_with_plan`."""
    if req.return_hidden:
        raise InvalidRequest("return_hidden is not available for a DBN; use /hidden with `layer` on the samples")
    if req.init == "chains":
        raise InvalidRequest("a DBN is stored without training chains: use init='random', 'data' or 'vectors'")
    top_req = req
    if req.init in ("data", "vectors"):
        g = torch.Generator().manual_seed(req.seed or 0)
        if req.init == "data":
            if not req.dataset_id:
                raise InvalidRequest("init='data' needs `dataset_id`")
            rows = rows_for_model(session, ctx.store, req.dataset_id, "train", dbn.n_visible)
            n = min(req.n_chains or req.n_samples, req.n_samples, rows.shape[0])
            pick = np.sort(np.random.default_rng(req.seed or 0).choice(rows.shape[0], n, replace=False))
            start = torch.from_numpy(np.asarray(rows[pick], dtype=np.float32))
        else:
            if not req.vectors:
                raise InvalidRequest("init='vectors' needs `vectors`: a list of starting states")
            start = vectors_to_tensor(req.vectors, dbn.layers[0], ctx.settings, what="vectors")
        if dbn.visible_type == "bernoulli":
            start = start.clamp(0, 1)
        top_start = _top_states(dbn, start.to(dbn.device, dbn.dtype), g)
        top_req = req.model_copy(update={"init": "vectors", "vectors": top_start.cpu().tolist(), "dataset_id": None})
    return service.sample_with_plan(top_req, dbn.top, ctx.settings, session, ctx.store, None)


def down_pass(dbn: DBN, top_samples: torch.Tensor, seed: int, *, mean_visible: bool) -> torch.Tensor:
    """Sampled intermediate layers; the visible layer as ``E[v | h_1]`` or a draw."""
    if dbn.n_layers == 1:
        return top_samples
    g = torch.Generator(device=dbn.device).manual_seed(seed)
    with torch.no_grad():
        x = top_samples.to(dbn.device, dbn.dtype)
        below = dbn.layers[:-1]
        for i, lay in enumerate(reversed(below)):
            last = i == len(below) - 1
            x = lay.visible_mean(x) if (last and mean_visible) else lay.sample_visible(x, g)
        return x


def sample_answer(req: SampleRequest, dbn: DBN, ctx: ServiceContext, session: Session) -> SampleOut:
    """``POST /samples`` on a DBN: visible draws ``v ~ p(v | h_1)`` below the top RBM's samples; the
    diagnostics are those of the top RBM's chains."""
    result, seed, plan = sample_top(req, dbn, ctx, session)
    v = down_pass(dbn, result.samples, seed, mean_visible=False)
    return SampleOut(samples=v.cpu().tolist(), hidden=None, acceptance_rate=result.acceptance_rate,
                     swap_acceptance=result.swap_acceptance, betas=result.betas,
                     diagnostics=DiagnosticsOut(**result.diagnostics.to_dict()), seed=seed, sampler=plan.sampler,
                     steps=plan.steps, thin=plan.thin, n_chains=plan.n_chains, n_replicas=plan.n_replicas,
                     init=plan.init)


def sample_images(req: SampleRequest, dbn: DBN, ctx: ServiceContext, session: Session) -> np.ndarray:
    """Pictures of samples: the visible means ``E[v | h_1]`` of the down pass (smoother than draws)."""
    result, seed, _ = sample_top(req, dbn, ctx, session)
    return down_pass(dbn, result.samples, seed, mean_visible=True).double().cpu().numpy()


def layer_of(dbn: DBN, layer: int | None) -> int:
    k = dbn.n_layers if layer is None else layer
    if not 0 <= k <= dbn.n_layers:
        raise InvalidRequest(f"layer must be between 0 (the input) and {dbn.n_layers} (the top hidden layer), got {layer}")
    return k


def hidden(dbn: DBN, data, layer: int | None, ctx: ServiceContext) -> torch.Tensor:
    """Mean-field features at ``layer`` (default the top)."""
    return dbn.up(vectors_to_tensor(data, dbn.layers[0], ctx.settings), layer_of(dbn, layer))


def reconstruct(dbn: DBN, data, layer: int | None, ctx: ServiceContext) -> torch.Tensor:
    """Up to ``layer`` (default the top) by mean field and back down by the layers' means."""
    return dbn.reconstruct(vectors_to_tensor(data, dbn.layers[0], ctx.settings), layer_of(dbn, layer))


# ------------------------------------------------------------------------------ likelihood
def _top_data(ctx: ServiceContext, session: Session, row: Model, dbn: DBN, dataset_id: str | None,
              n_runs: int, seed: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(base-rate visible bias of the top RBM, start states of reverse AIS) from the up-pass of the
    model's (or the named) training data; (None, None) without data."""
    dataset_id = dataset_id or row.dataset_id
    if dataset_id is None:
        return None, None
    rows = rows_for_model(session, ctx.store, dataset_id, "train", dbn.n_visible, _AIS_DATA_ROWS)
    x = torch.from_numpy(np.asarray(rows, dtype=np.float32)).to(dbn.device, dbn.dtype)
    if dbn.visible_type == "bernoulli":
        x = x.clamp(0, 1)
    p = dbn.up(x, dbn.n_layers - 1)
    g = torch.Generator(device=dbn.device).manual_seed(seed)
    pick = torch.from_numpy(pick_rows(p.shape[0], n_runs, seed)).to(p.device)
    start = torch.lt(torch.rand((pick.shape[0], p.shape[1]), generator=g, device=p.device, dtype=p.dtype), p[pick])
    return log_odds(p.double().mean(dim=0)), start.to(p.dtype)


def top_log_z(ctx: ServiceContext, session: Session, row: Model, dbn: DBN, req: LikelihoodRequest) -> dict:
    """log Z of the top RBM, exact or AIS (forward, plus reverse from data: a bracket), cached per
    model and parameters in the artifact store."""
    top = dbn.top
    if dbn.n_layers == 1 and top.visible_type == "gaussian":
        raise InvalidRequest("a one-layer gaussian DBN is an RBM: upload it as one")
    method = resolve_method(req, top, ctx.settings)
    params = {"method": method, "top": True} if method == "exact" else {
        "method": method, "top": True, "n_runs": req.n_runs, "n_betas": req.n_betas, "seed": req.seed,
        "dataset_id": req.dataset_id or row.dataset_id}
    key = f"cache/log-z/{row.id}/{hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]}.json"
    if ctx.store.exists(key):
        return {**json.loads(ctx.store.get_bytes(key)), "cached": True}
    check_limits(method, req, top, ctx.settings, sync=True)
    started = time.perf_counter()
    if method == "exact":
        result = {"log_z": exact_log_partition(top, max_bits=ctx.settings.exact_log_z_max_bits), "log_z_std": 0.0}
    else:
        base, start = _top_data(ctx, session, row, dbn, req.dataset_id, req.n_runs, req.seed)
        generator = torch.Generator(device=top.device).manual_seed(req.seed)
        path = ais_base(top, base_visible_bias=base)
        schedule = default_betas(req.n_betas).tolist()
        fwd = ais_forward(path, n_runs=req.n_runs, schedule=schedule, generator=generator)
        result = {"log_z": fwd.log_z, "log_z_std": fwd.log_z_std}
        if start is not None:
            rev = ais_reverse(path, n_runs=req.n_runs, schedule=schedule, generator=generator, data=start)
            result.update(log_z_reverse=rev.log_z, log_z_reverse_std=rev.log_z_std)
    result.update(method=method, seconds=round(time.perf_counter() - started, 4))
    ctx.store.put_bytes(key, json.dumps(result).encode())
    return {**result, "cached": False}


def lower_bound_answer(ctx: ServiceContext, session: Session, row: Model, dbn: DBN, req: LikelihoodRequest) -> dict:
    """``POST /log-likelihood`` on a DBN: the variational lower bound per vector (Salakhutdinov &
    Murray 2008) with the top RBM's log Z; with AIS also the bound under the reverse estimate."""
    data = resolve_vectors(ctx, session, req, dbn.layers[0])
    z = top_log_z(ctx, session, row, dbn, req)
    g = torch.Generator(device=dbn.device).manual_seed(req.seed)
    lb = log_likelihood_lower_bound(dbn, data, z["log_z"], n_samples=BOUND_SAMPLES, generator=g)
    values = lb.bound.double()
    mean = float(values.mean())
    z_method = "exact log Z of the top RBM" if z["method"] == "exact" else "AIS on the top RBM"
    out = {"log_likelihood": values.tolist(), "mean": mean, "log_z": z["log_z"], "log_z_std": z["log_z_std"],
           "method": f"variational lower bound, {z_method}", "bound_std": lb.bound_std.tolist()}
    if z.get("log_z_reverse") is not None:
        out["log_z_reverse"] = z["log_z_reverse"]
        out["mean_reverse"] = mean + z["log_z"] - z["log_z_reverse"]
    return out
