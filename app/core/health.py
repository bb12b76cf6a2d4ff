"""Liveness and readiness, at the root (not under /v1) where orchestrators look for them.

``GET /healthz`` is answered by ``HealthzFastPath``, an ASGI branch just inside the Host check:
the route's answer without the rest of the middleware stack, FastAPI's dependency solving or a
thread-pool round trip (a sync route runs its function and its answer's validation in anyio's
thread pool, where under load it queued behind compute requests). The route below stays for the
OpenAPI document and for the requests the fast path passes on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.deps import ContextDep
from app.core.workers import recent_workers
from app.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])

HEALTHZ_BODY = b'{"status":"ok"}'  # what the route's {"status": "ok"} renders to


class HealthzFastPath:
    """Answers a plain ``GET /healthz`` itself. Sits inside TrustedHostMiddleware (a foreign Host
    is still refused) and the metrics middleware (the request is still counted under the route
    ``/healthz``). Anything else, including a request with a query string (RejectNul looks at it)
    or an ``Origin`` header (CORS may add headers), goes down the full stack to the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != "/healthz" or scope["method"] != "GET"
                or scope.get("query_string") or any(k == b"origin" for k, _ in scope.get("headers") or ())):
            await self.app(scope, receive, send)
            return
        scope["route"] = HEALTHZ_ROUTE  # the metrics middleware labels requests by it
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(HEALTHZ_BODY)).encode()),
                                (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": HEALTHZ_BODY})


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


HEALTHZ_ROUTE = router.routes[-1]


@router.get("/readyz", summary="The database is reachable, its schema is current, and the workers' state")
def readyz(ctx: ContextDep, request: Request) -> JSONResponse:
    """503 ``unavailable`` without a usable database; 503 ``degraded`` while ``serve``'s embedded
    worker is down (its supervisor restarts it). ``workers``: every worker's last heartbeat."""
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(ctx.db.engine), head_revision(ctx.db.url)
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"}, 503)
    if current != head:
        return JSONResponse({"status": "unavailable",
                             "reason": f"schema at {current}, code expects {head}: run `rbm-service migrate`"}, 503)
    with ctx.db.session() as session:
        workers = [w.public_dict() for w in recent_workers(session, ctx.settings.heartbeat_seconds)]
    body: dict = {"status": "ok", "schema": current, "workers": workers}
    supervisor = getattr(request.app.state, "supervisor", None)
    if supervisor is not None:
        embedded = {k: v for k, v in supervisor.state().items() if k not in ("pid", "worker_id")}
        body["embedded_worker"] = embedded
        if not embedded["alive"]:
            body["status"] = "degraded"
            body["reason"] = (f"the embedded worker is down (exit code {embedded['last_exit_code']}, "
                              f"{embedded['down_seconds']}s ago); serve is restarting it")
            return JSONResponse(body, 503)
    return JSONResponse(body)
