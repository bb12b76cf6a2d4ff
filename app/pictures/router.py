"""Pictures of models and jobs as PNG: samples, filters, reconstructions, learning curves, and the
Ising thermodynamics of models trained at several temperatures. Thin: the service gathers arrays,
``render`` draws them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.core.compute import ComputeSlot
from app.core.deps import ContextDep, SessionDep, SettingsDep
from app.inference.schemas import SampleRequest
from app.jobs.compare import parse_ids
from app.models.service import load_any_model
from app.pictures import render, service

router = APIRouter(tags=["pictures"], dependencies=[ComputeSlot])  # RBM_COMPUTE_CONCURRENCY at a time

PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}, "description": "A PNG image."}}

Count = Annotated[int, Query(ge=1, le=1024, description="How many images in the grid.")]
Seed = Annotated[int, Query(ge=0, lt=2**63, description="Random seed: the same seed draws the same picture.")]


def png(content: bytes) -> Response:
    return Response(content, media_type="image/png")


@router.get("/v1/models/{model_id}/samples.png", response_class=Response, responses=PNG,
            summary="Grid of samples drawn from the model, in its image shape")
def samples_png(model_id: str, ctx: ContextDep, session: SessionDep, n: Count = 64,
                steps: Annotated[int | None, Query(ge=0, description="Sweeps before each sample "
                                                   "(RBM_MAX_SAMPLING_STEPS); default: chosen with the sampler.")] = None,
                seed: Annotated[int | None, Query(ge=0, lt=2**63, description="Random seed; omit for a fresh draw.")] = None,
                sampler: Literal["auto", "gibbs", "metropolis", "pt"] = "auto",
                n_replicas: Annotated[int | None, Query(ge=1, le=256, description="pt: replicas per chain.")] = None,
                ) -> Response:
    row, model = load_any_model(ctx, session, model_id)
    service.image_shape(row)  # refuse before sampling
    req = SampleRequest(n_samples=n, steps=steps, seed=seed, sampler=sampler, n_replicas=n_replicas)
    (images,), scaling = service.in_data_units(session, row, model, service.sample_images(ctx, session, row, model, req))
    return png(render.grid_png(images, scaling=scaling))  # type: ignore[arg-type]


@router.get("/v1/models/{model_id}/filters.png", response_class=Response, responses=PNG,
            summary="Hidden units' weight vectors as images, each normalised to its own range")
def filters_png(model_id: str, ctx: ContextDep, session: SessionDep, n: Count = 100) -> Response:
    row, model = load_any_model(ctx, session, model_id)
    return png(render.grid_png(service.filter_images(row, model, n), scaling="each"))


@router.get("/v1/models/{model_id}/reconstructions.png", response_class=Response, responses=PNG,
            summary="Data rows (left) beside their mean-field reconstructions v -> p(h|v) -> E[v|h] (right)")
def reconstructions_png(model_id: str, ctx: ContextDep, session: SessionDep,
                        n: Annotated[int, Query(ge=1, le=256, description="How many data rows.")] = 16,
                        split: Literal["train", "test"] = "train", seed: Seed = 0,
                        dataset_id: Annotated[str | None, Query(description="Default: the model's training dataset.")] = None,
                        ) -> Response:
    row, model = load_any_model(ctx, session, model_id)
    data, recon = service.reconstruction_images(ctx, session, row, model, n=n, split=split, seed=seed,
                                                dataset_id=dataset_id)
    (data, recon), scaling = service.in_data_units(session, row, model, data, recon)
    return png(render.pairs_png(data, recon, scaling=scaling))  # type: ignore[arg-type]


@router.get("/v1/jobs/{job_id}/curves.png", response_class=Response, responses=PNG,
            summary="The job's per-epoch metrics against epoch; with ?ids= other jobs overlaid")
def curves_png(job_id: str, session: SessionDep, settings: SettingsDep,
               ids: Annotated[str | None, Query(description="More job ids, separated by commas, drawn in the same "
                                                "panels (one colour per job; limit RBM_COMPARE_MAX_JOBS).")] = None,
               ) -> Response:
    if not ids:
        return png(service.job_curves_png(session, job_id))
    runs = service.runs_metrics(session, parse_ids(f"{job_id},{ids}", settings.compare_max_jobs))
    return png(render.overlay_curves_png(runs, title=f"{len(runs)} jobs"))


@router.get("/v1/ising/curves.png", response_class=Response, responses=PNG,
            summary="Ising models: energy and specific heat per site vs T, against the exact curves")
def ising_curves_png(ctx: ContextDep, session: SessionDep,
                     L: Annotated[int | None, Query(ge=2, le=64, description="Only this lattice size; default: every L.")] = None,
                     n: Annotated[int, Query(ge=2, le=10_000, description="Samples per model.")] = 500,
                     steps: Annotated[int, Query(ge=1, description="Gibbs sweeps before each sample.")] = 200,
                     seed: Seed = 0) -> Response:
    """For every lattice size L with models trained on built-in `ising` data at two or more
    temperatures (the newest model per L and T): samples from each model, their energy and
    specific heat per site with error bars, Kaufman's exact finite-L curve and Onsager's L=∞."""
    points = service.ising_points(ctx, session, L, n, steps, seed)
    grid = service.temperature_grid(p.T for pts in points.values() for p in pts)
    exact, infinite = service.exact_curves(points, grid)
    return png(render.ising_png(points, exact, infinite))
