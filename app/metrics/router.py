"""``GET /metrics`` in Prometheus's text format. Open like /healthz (scrapers seldom carry keys):
it shows counts, durations and worker names, never data, ids of datasets or models, or keys.
Each app has its own registry, so several apps in one process (tests) do not collide."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from app.core.context import ServiceContext
from app.metrics.cache import ModelCacheCollector
from app.metrics.database import DatabaseCollector
from app.metrics.http import HttpMetrics, MetricsMiddleware


def install_metrics(app: FastAPI, ctx: ServiceContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    registry.register(DatabaseCollector(ctx.db))
    registry.register(ModelCacheCollector(ctx.models))

    @app.get("/metrics", include_in_schema=True, tags=["health"], response_class=Response,
             summary="Prometheus metrics (text format; open like /healthz)",
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics_registry = registry
    return registry
