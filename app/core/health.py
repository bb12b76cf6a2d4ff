"""Liveness and readiness, at the root (not under /v1) where orchestrators look for them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.deps import ContextDep
from app.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and its schema is current")
def readyz(ctx: ContextDep) -> JSONResponse:
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(ctx.db.engine), head_revision(ctx.db.url)
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"}, 503)
    if current != head:
        return JSONResponse({"status": "unavailable",
                             "reason": f"schema at {current}, code expects {head}: run `rbm-service migrate`"}, 503)
    return JSONResponse({"status": "ok", "schema": current})
