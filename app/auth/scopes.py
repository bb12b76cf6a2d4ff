"""Which scope a request needs, from its method and route template. The one rule for every route,
so a new route is covered the day it is added (unknown writes need ``admin``)."""

from __future__ import annotations

from collections.abc import Iterable

TRAIN_ROUTES = {("POST", "/v1/jobs"), ("POST", "/v1/jobs/{job_id}/cancel"), ("POST", "/v1/models"),
                ("POST", "/v1/sweeps"), ("POST", "/v1/sweeps/{sweep_id}/cancel"), ("PATCH", "/v1/models/{model_id}")}
MODEL_QUERY_PREFIX = "/v1/models/{model_id}/"


def required_scope(method: str, route: str) -> str:
    """read: GET; infer: queries on a model and rendered images; train: jobs and uploads;
    admin: DELETE and anything not listed."""
    method = method.upper()
    if route.endswith(".png"):
        return "infer"
    if method in ("GET", "HEAD"):
        return "read"
    if (method, route) in TRAIN_ROUTES:  # includes PATCH of a model's name and tags
        return "train"
    if method == "POST":
        if (method, route) in TRAIN_ROUTES or route == "/v1/datasets" or route.startswith("/v1/datasets/"):
            return "train"
        if route.startswith(MODEL_QUERY_PREFIX):
            return "infer"
    return "admin"


def allows(scopes: Iterable[str], needed: str) -> bool:
    granted = set(scopes)
    return needed in granted or "admin" in granted
