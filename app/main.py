"""App factory. Builds the API around a ServiceContext; runs no migrations and starts no
worker (``rbm-service serve`` does both), so tests and servers compose it as they need."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app.apidocs import install_docs
from app.auth.browser import SameOriginWrites, default_allowed_hosts
from app.auth.dependency import authorize
from app.auth.idempotency import install_idempotency
from app.core import health
from app.core.compute import compute_slots
from app.core.context import ServiceContext
from app.core.guards import RejectNul
from app.core.handlers import install_error_handlers
from app.core.limits import BodySizeLimit
from app.core.settings import Settings, get_settings
from app.dashboard.router import router as dashboard_router
from app.datasets.router import router as datasets_router
from app.features.router import router as features_router
from app.inference.batching import FreeEnergyBatcher
from app.inference.router import router as inference_router
from app.ising.router import router as ising_router
from app.jobs.router import router as jobs_router
from app.jobs.stream import router as job_stream_router
from app.metrics import install_metrics
from app.models.router import router as models_router
from app.pictures.router import router as pictures_router
from app.sweeps.router import router as sweeps_router
from app.wavefunctions.router import router as wavefunctions_router

DESCRIPTION = """
Train, store and query Restricted Boltzmann Machines.

* **Binary-binary**: E(v,h) = -a·v - b·h - v·W·h, free energy F(v) = -a·v - Σ_j softplus(b_j + (vW)_j).
* **Gaussian-binary**: E(v,h) = Σ_i (v_i-a_i)²/(2s_i²) - b·h - Σ_ij (v_i/s_i²) W_ij h_j.
* In both, p(v) = exp(-F(v)) / Z. Binary: Z sums over {0,1}^V. Gaussian: Z integrates over R^V, so it
  includes the Gaussian normalisation (2π s_i²)^½; s = exp(visible_log_sigma).
* Wherever all 2^V binary states are listed, the order is binary counting with unit 0 as the most
  significant bit.

Typical flow: `POST /v1/datasets/builtin` → `POST /v1/jobs` → poll `GET /v1/jobs/{id}` →
`POST /v1/models/{id}/samples`.
"""


def _operation_id(route: APIRoute) -> str:
    """Stable ids (the function name), so generated clients get readable method names."""
    return route.name


def create_app(settings: Settings | None = None, context: ServiceContext | None = None) -> FastAPI:
    settings = settings or (context.settings if context else get_settings())
    ctx = context or ServiceContext.from_settings(settings)

    # one per process: concurrent free-energy queries to a model share one matrix product
    batcher = FreeEnergyBatcher(settings.inference_batch_rows, settings.inference_batch_wait_ms / 1000.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        batcher.close()
        if context is None:
            ctx.close()

    app = FastAPI(title="rbm-service", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=_operation_id, docs_url=None, redoc_url=None)
    app.state.context = ctx
    app.state.free_energy_batcher = batcher
    app.state.compute_slots = compute_slots(settings)  # compute routes running at once (app.core.compute)
    app.add_middleware(RejectNul)  # inside the size limit: counts bytes first, then looks for NUL
    app.add_middleware(SameOriginWrites, allowed_origins=settings.cors_origins)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["X-Shape", "X-RBM-Meta", "Idempotent-Replayed"])
    app.add_middleware(BodySizeLimit, max_request_bytes=settings.max_request_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(health.HealthzFastPath)  # GET /healthz answered here, after the Host check
    app.add_middleware(TrustedHostMiddleware,  # outermost: a foreign Host header is refused first
                       allowed_hosts=settings.allowed_hosts or default_allowed_hosts(settings.host))
    install_error_handlers(app)
    install_idempotency(app)
    app.include_router(health.router)  # open: probes carry no key
    install_docs(app)  # /docs and /redoc from local assets (open, like /openapi.json)
    install_metrics(app, ctx)  # /metrics, open like /healthz (counts, no data)
    app.include_router(dashboard_router)  # a static page; its API calls carry the user's key
    for router in (datasets_router, jobs_router, job_stream_router, models_router, inference_router, ising_router,
                   pictures_router, features_router, sweeps_router):
        app.include_router(router, dependencies=[Depends(authorize)])  # the one auth check (app.auth)
    app.include_router(wavefunctions_router, dependencies=[Depends(authorize)])  # /energy, /log-psi (kind vmc)
    return app
