"""HTTP request counts and latencies by route template (``/v1/jobs/{job_id}``, never the concrete
path, so the number of series stays bounded). A plain ASGI middleware: it sees streaming
responses (SSE) too, timed to their end."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

# request latencies from a cached free energy (~1 ms) to a long AIS or sampling request (minutes)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
UNMATCHED = "unmatched"  # 404s of unknown paths share one label


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("http_requests_total", "HTTP requests answered, by method, route template and status.",
                                ["method", "route", "status"], registry=registry)
        self.duration = Histogram("http_request_duration_seconds", "Time from request to the end of the response.",
                                  ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry)


def route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class MetricsMiddleware:
    def __init__(self, app: Any, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)
