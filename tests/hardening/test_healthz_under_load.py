"""Issue 15, /healthz under load: compute routes run at most RBM_COMPUTE_CONCURRENCY at a time (the
rest wait in the event loop, not in threads that compete with it for the GIL), and GET /healthz is
answered by an ASGI fast path that needs no thread at all, behind the same Host check.
bench/load.py measures the p99; these tests pin the mechanisms."""

from __future__ import annotations

import asyncio
import threading
import time

import anyio.to_thread
import httpx
import pytest
import torch
from safetensors.torch import save as save_tensors

from app.core import health
from app.core.compute import ComputeSlot, compute_slots
from app.core.settings import Settings
from app.features.router import router as features_router
from app.inference import service as inference_service
from app.inference.router import router as inference_router
from app.ising.router import router as ising_router
from app.main import create_app
from app.pictures.router import router as pictures_router
from app.wavefunctions.router import router as wavefunctions_router


def run_in_own_loop(main):
    """``asyncio.run(main())`` in a thread of its own: a browser test earlier in the session may leave
    an event loop running in this one, where ``asyncio.run`` refuses to start."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(main())
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _app(ctx, tmp_path, **settings):
    return create_app(settings=Settings(data_dir=tmp_path, database_url=ctx.settings.database_url, device="cpu",
                                        **settings), context=ctx)


async def _get(app, path: str, timeout: float = 5.0, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await asyncio.wait_for(http.get(path, headers=headers), timeout)


# -- /healthz fast path ------------------------------------------------------------------------------

def test_healthz_answers_while_the_thread_pool_is_exhausted(ctx, tmp_path):
    """The fast path needs no thread: with every thread-pool token taken, /healthz still answers,
    while the same request down the full stack (a query string sends it there) waits for a thread."""
    app = _app(ctx, tmp_path)

    async def run() -> tuple[httpx.Response, bool]:
        pool = anyio.to_thread.current_default_thread_limiter()
        pool.total_tokens = 1
        await pool.acquire()  # the one token: no sync route or dependency can run now
        try:
            fast = await _get(app, "/healthz", timeout=2)
            try:
                await _get(app, "/healthz?full=1", timeout=0.5)
                slow_waited = False
            except TimeoutError:
                slow_waited = True
        finally:
            pool.release()
        return fast, slow_waited

    fast, slow_waited = run_in_own_loop(run)
    assert fast.status_code == 200 and fast.json() == health.healthz()
    assert fast.headers["content-type"] == "application/json"
    assert slow_waited, "the full stack should have needed a thread (else this test proves nothing)"


def test_healthz_fast_path_keeps_the_host_check_metrics_and_route_answer(ctx, tmp_path):
    app = _app(ctx, tmp_path)

    async def run() -> list[httpx.Response]:
        return [await _get(app, "/healthz"),
                await _get(app, "/healthz", host="evil.example"),        # DNS rebinding: refused first
                await _get(app, "/healthz?x=1"),                          # full stack: same answer
                await _get(app, "/healthz", origin="http://127.0.0.1"),  # full stack (CORS may apply)
                await _get(app, "/metrics")]

    fast, foreign, with_query, with_origin, metrics = run_in_own_loop(run)
    assert fast.status_code == 200 and fast.content == with_query.content == with_origin.content
    assert foreign.status_code == 400
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 3.0' in metrics.text
    stack, layers = app.middleware_stack, []
    while stack is not None and len(layers) < 30:
        layers.append(type(stack).__name__)
        stack = getattr(stack, "app", None)
    assert layers.index("HealthzFastPath") == layers.index("TrustedHostMiddleware") + 1, layers


# -- compute routes: at most RBM_COMPUTE_CONCURRENCY at once -----------------------------------------

COMPUTE_ROUTERS = [ising_router, features_router, pictures_router, wavefunctions_router]
NOT_COMPUTE = {"/v1/models/{model_id}/free-energy"}  # micro-batched on its own single compute thread


def test_every_compute_route_takes_a_slot():
    routes = [r for router in [inference_router, *COMPUTE_ROUTERS] for r in router.routes]
    assert len(routes) > 12
    for route in routes:
        assert (ComputeSlot in route.dependencies) == (route.path not in NOT_COMPUTE), route.path


def test_compute_slots_default_to_the_cpus(tmp_path):
    import os

    assert compute_slots(Settings(data_dir=tmp_path, compute_concurrency=3)) == 3
    assert compute_slots(Settings(data_dir=tmp_path)) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("limit", [2, 5])
def test_compute_routes_run_at_most_the_setting_at_once(ctx, tmp_path, monkeypatch, limit):
    app = _app(ctx, tmp_path, compute_concurrency=limit)
    g = torch.Generator().manual_seed(0)
    weights = save_tensors({"weight": torch.randn(6, 4, generator=g) * 0.1, "visible_bias": torch.zeros(6),
                            "hidden_bias": torch.zeros(4)}, metadata={"visible_type": "bernoulli"})
    running, peak, lock = [0], [0], threading.Lock()
    real = inference_service.sample_answer

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.3)
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(inference_service, "sample_answer", counted)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as http:
            r = await http.post("/v1/models", files={"file": ("m.safetensors", weights)})
            assert r.status_code == 201, r.text
            model = r.json()["id"]
            answers = await asyncio.gather(*(http.post(f"/v1/models/{model}/samples",
                                                       json={"n_samples": 2, "steps": 1, "sampler": "gibbs"})
                                             for _ in range(8)))
            return [a.status_code for a in answers]

    assert run_in_own_loop(run) == [200] * 8
    assert peak[0] == limit, f"{peak[0]} sampling requests ran at once with RBM_COMPUTE_CONCURRENCY={limit}"
