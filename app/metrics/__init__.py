"""Prometheus metrics at ``GET /metrics``: the API process's own HTTP counters and model-cache
counters, plus the queue, job and worker numbers read from the database at scrape time, so what
the worker processes do reaches any API process without a shared multiprocess registry."""

from app.metrics.router import install_metrics

__all__ = ["install_metrics"]
