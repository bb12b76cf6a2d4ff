"""Liveness and readiness, at the root (not under /v1) where orchestrators look for them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.deps import ContextDep
from app.core.workers import recent_workers
from app.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


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
