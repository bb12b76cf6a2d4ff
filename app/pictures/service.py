"""What each picture shows, as arrays: gathered from the database, the artifact store, the sampling
service and the physics references. Drawing is ``render``'s job; HTTP is the router's."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import Conflict, InvalidRequest, NotFound, ServiceError
from app.datasets.service import rows_for_model
from app.db.states import JobKind
from app.db.tables import Dataset, Model
from app.inference import dbn as dbn_queries
from app.inference import service as inference
from app.inference.schemas import SampleRequest
from app.jobs.events import metrics_by_job
from app.jobs.service import get_job
from app.physics.ising_exact import kaufman, onsager
from app.physics.observables import ising_observables
from app.pictures import render
from app.pictures.render import IsingCurve, IsingPoint
from app.rbm.dbn import DBN
from app.rbm.model import RBM, GaussianRBM
from app.rbm.sampling import SampleResult
from app.rbm.rows import pick_rows


def image_shape(row: Model) -> tuple[int, int]:
    """The model's (height, width), or a 422 that says how to give it one."""
    shape = row.image_shape
    if not shape or len(shape) != 2 or math.prod(shape) != row.n_visible:
        raise InvalidRequest(f"model {row.id!r} has no image shape (its {row.n_visible} visible units are not "
                             "known to be an image); models trained on digits, mnist, ising or an upload with "
                             "an image shape have one, and POST /v1/models takes image_shape")
    return int(shape[0]), int(shape[1])


def scaling_for(model: RBM) -> str:
    """Binary units already lie in [0, 1]; Gaussian values get one shared min-max."""
    return "none" if model.visible_type == "bernoulli" else "global"


def in_data_units(session: Session, row: Model, model: RBM | DBN, *images: np.ndarray) -> tuple[list[np.ndarray], str]:
    """Images ready for ``render`` and the scaling to draw them with. Gaussian values are shown in
    the data's units: the training data's value range is black..white (samples beyond it clip), so
    grey levels mean what they mean in the data; one min-max over the grid where that range is unknown."""
    if model.visible_type == "bernoulli":
        return list(images), "none"
    dataset = session.get(Dataset, row.dataset_id) if row.dataset_id else None
    low, high = ((dataset.info or {}).get("value_range") or [None, None]) if dataset is not None else (None, None)
    if low is None or high is None or not high > low:
        return list(images), scaling_for(model)
    return [(x - low) / (high - low) for x in images], "none"


def shown_samples(model: RBM, result: SampleResult) -> torch.Tensor:
    """What ``samples.png`` draws of a sample set: the samples, or for gaussian visibles the
    noise-free means ``E[v | h]`` of the hidden state drawn from each sample (``result.hidden``),
    as a DBN's picture does: each pixel's own noise would bury the strokes the hidden units carry
    (MNIST, 64 hidden: the means show readable digits, the samples squiggles; a classifier is sure
    of 39 / 28 % of them after 150 epochs, 30 / 34 % after 600; bench/README.md, Gaussian section)."""
    if isinstance(model, GaussianRBM) and result.hidden is not None:
        return model.visible_mean(result.hidden.to(model.dtype))
    return result.samples


def sample_images(ctx: ServiceContext, session: Session, row: Model, model: RBM | DBN, req: SampleRequest) -> np.ndarray:
    """Samples from the sampling service (same limits as POST .../samples), shaped as images; a DBN's
    are the visible means of a down pass below its top RBM's samples, a gaussian RBM's the means
    of ``p(v | h)`` (:func:`shown_samples`)."""
    h, w = image_shape(row)
    if isinstance(model, DBN):
        return dbn_queries.sample_images(req, model, ctx, session).reshape(-1, h, w)
    if isinstance(model, GaussianRBM):
        req = req.model_copy(update={"return_hidden": True})
    result, _seed = inference.sample(req, model, ctx.settings, session, ctx.store, row.weights_key)
    return shown_samples(model, result).double().cpu().numpy().reshape(-1, h, w)


def filter_images(row: Model, model: RBM | DBN, n: int) -> np.ndarray:
    """The first ``n`` hidden units' incoming weight vectors, shaped as images (a DBN: its first layer's)."""
    h, w = image_shape(row)
    if isinstance(model, DBN):
        model = model.layers[0]
    # [V, H]; a whitened gaussian's weights rotated back to pixels (each hidden unit's shift of E[v|h])
    weight = model.from_basis(model.weight.detach().T).T.double().cpu().numpy()
    return weight[:, : min(n, model.n_hidden)].T.reshape(-1, h, w)


def reconstruction_images(ctx: ServiceContext, session: Session, row: Model, model: RBM, *, n: int,
                          split: str, seed: int, dataset_id: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded-random rows of the dataset and their mean-field reconstructions v -> p(h|v) -> E[v|h]."""
    h, w = image_shape(row)
    ident = dataset_id or row.dataset_id
    if ident is None:
        raise InvalidRequest(f"model {row.id!r} has no training dataset; pass dataset_id=... to reconstruct its rows")
    if dataset_id is None and session.get(Dataset, ident) is None:
        raise TrainingDataGone(row, ident)
    rows = rows_for_model(session, ctx.store, ident, split, model.n_visible)
    pick = pick_rows(rows.shape[0], n, seed)
    data = torch.from_numpy(np.asarray(rows[pick], dtype=np.float32)).to(model.device, model.dtype)
    with torch.no_grad():
        recon = model.reconstruct(data) if isinstance(model, DBN) else model.visible_mean(model.hidden_probs(data))
    as_images = lambda t: t.double().cpu().numpy().reshape(-1, h, w)  # noqa: E731
    return as_images(data), as_images(recon)


class TrainingDataGone(NotFound):
    """The model's own training dataset was deleted: say that another one of its width works."""

    def __init__(self, row: Model, dataset_id: str) -> None:
        ServiceError.__init__(self, f"model {row.id!r} was trained on dataset {dataset_id!r}, which has been deleted; "
                              f"pass ?dataset_id= with another dataset of {row.n_visible} features "
                              "(GET /v1/datasets lists them)")


def runs_metrics(session: Session, job_ids: list[str]) -> dict[str, list[dict]]:
    """{label: per-epoch metrics} of several jobs for an overlay, labelled by name (or short id);
    409 while one of them has finished no epoch."""
    out: dict[str, list[dict]] = {}
    for job_id in job_ids:
        job = get_job(session, job_id)
        label = job.name or job.id[:8]
        if label in out:
            label = f"{label} ({job.id[:8]})"
        out[label] = job_metrics(session, job_id)
    return out


def job_curves_png(session: Session, job_id: str) -> bytes:
    """Learning curves per metric; a VMC job's energy with its error band and the exact line."""
    metrics = job_metrics(session, job_id)
    if get_job(session, job_id).kind == JobKind.vmc:
        return render.energy_curve_png(metrics, title=f"VMC job {job_id}")
    return render.curves_png(metrics, title=f"job {job_id}")


def job_metrics(session: Session, job_id: str) -> list[dict]:
    """The job's per-epoch metrics; 409 while it has finished no epoch yet."""
    job = get_job(session, job_id)
    metrics = metrics_by_job(session, [job.id])[job.id]
    if not metrics:
        raise Conflict(f"job {job.id!r} ({job.status}) has no finished epoch yet; its curves exist once "
                       "progress.epoch >= 1")
    return metrics


@dataclass(frozen=True)
class IsingModel:
    row: Model
    L: int
    T: float


def ising_models(session: Session, only_L: int | None) -> dict[int, list[IsingModel]]:
    """Binary models trained on built-in 'ising' data, the newest per (L, T), grouped by L."""
    stmt = (select(Model, Dataset).join(Dataset, Dataset.id == Model.dataset_id)
            .where(Dataset.builtin == "ising", Model.visible_type == "bernoulli", Model.kind == "rbm")
            .order_by(Model.created_at.desc(), Model.id.desc()))
    seen: set[tuple[int, float]] = set()
    groups: dict[int, list[IsingModel]] = {}
    for model, dataset in session.execute(stmt):
        params = dataset.params or {}
        L, T = int(params.get("L", 0)), float(params.get("T", 0.0))
        if L < 2 or T <= 0 or model.n_visible != L * L or (only_L is not None and L != only_L) or (L, T) in seen:
            continue
        seen.add((L, T))
        groups.setdefault(L, []).append(IsingModel(model, L, T))
    return groups


def ising_points(ctx: ServiceContext, session: Session, only_L: int | None, n: int, steps: int,
                 seed: int) -> dict[int, list[IsingPoint]]:
    """Energy and specific heat per site of each model's samples, for every L trained at two or
    more temperatures. The whole picture's sampling work is held to RBM_MAX_SAMPLING_WORK."""
    groups = {L: ms for L, ms in ising_models(session, only_L).items() if len(ms) >= 2}
    if not groups:
        where = f"L={only_L}" if only_L is not None else "any L"
        raise InvalidRequest(f"no lattice size ({where}) has models at two or more temperatures: train binary "
                             "models on built-in 'ising' data sets with the same L and different T")
    total = sum(n * steps * m.L * m.L for ms in groups.values() for m in ms)
    if total > ctx.settings.max_sampling_work:
        raise InvalidRequest(f"sampling every model needs {total:,} unit updates; the limit is "
                             f"{ctx.settings.max_sampling_work:,} (RBM_MAX_SAMPLING_WORK): lower n or steps, or pick one L")
    req = SampleRequest(n_samples=n, steps=steps, seed=seed)  # the sampling service's defaults, as POST /samples
    points: dict[int, list[IsingPoint]] = {}
    for L, members in groups.items():
        for m in members:
            model = ctx.models.get(m.row.weights_key)
            result, _ = inference.sample(req, model, ctx.settings, session, ctx.store, m.row.weights_key)
            obs = ising_observables(result.samples.cpu().numpy().round().astype(np.int8), L, m.T)
            points.setdefault(L, []).append(IsingPoint(
                m.T, obs["energy_per_site"], obs["energy_per_site_error"],
                obs["specific_heat_per_site"], obs["specific_heat_per_site_error"]))
    return points


def temperature_grid(temperatures: Iterable[float], n: int = 80) -> np.ndarray:
    ts = list(temperatures)
    return np.linspace(0.85 * min(ts), 1.1 * max(ts), n)


def exact_curves(sizes: Iterable[int], grid: np.ndarray) -> tuple[dict[int, IsingCurve], IsingCurve]:
    """Kaufman's exact finite-L curves and Onsager's infinite lattice on ``grid``."""
    finite = {}
    for L in sizes:
        refs = [kaufman(L, float(t)) for t in grid]
        finite[L] = IsingCurve(grid, np.array([r["energy_per_site"] for r in refs]),
                               np.array([r["specific_heat_per_site"] for r in refs]), f"exact, L={L}")
    inf = [onsager(float(t)) for t in grid]
    return finite, IsingCurve(grid, np.array([r["energy_per_site"] for r in inf]),
                              np.array([r["specific_heat_per_site"] for r in inf]), "exact, L=∞")
