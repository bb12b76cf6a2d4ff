"""At most RBM_COMPUTE_CONCURRENCY compute-heavy requests at a time per API process.

Sync routes run in anyio's thread pool (40 threads). Forty requests doing torch and NumPy work at
once on a few cores gain no throughput, and the event loop thread (which accepts connections,
answers /healthz and hands every other request to a thread) then competes with all of them for the
GIL and the CPU: under 50 clients on 2 cores /healthz waited up to a second. With this dependency
a compute route first takes a slot of one CapacityLimiter; requests beyond the limit wait for one
in the event loop (a parked coroutine, no thread), in arrival order."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from anyio import CapacityLimiter
from fastapi import Depends, FastAPI, Request

from app.core.settings import Settings


def compute_slots(settings: Settings) -> int:
    """RBM_COMPUTE_CONCURRENCY, or the CPUs this process may run on when it is 0."""
    if settings.compute_concurrency:
        return settings.compute_concurrency
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def compute_limiter(app: FastAPI) -> CapacityLimiter:
    """The app's limiter (``create_app`` sets ``app.state.compute_slots``), made on first use: an
    anyio limiter belongs to a running event loop."""
    limiter = getattr(app.state, "compute_limiter", None)
    if limiter is None:
        limiter = app.state.compute_limiter = CapacityLimiter(app.state.compute_slots)
    return limiter


async def _compute_slot(request: Request) -> AsyncIterator[None]:
    async with compute_limiter(request.app):
        yield


# for a route's or router's `dependencies=[...]`; held until the route function returns
ComputeSlot = Depends(_compute_slot, scope="function")
