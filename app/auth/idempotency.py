"""``Idempotency-Key`` on creating POSTs: a retry with the same key and the same request gets the
first response again (same status, same JSON); the same key with a different request is a 409.

The key is reserved by inserting its row into the request's own database transaction, so the row
commits together with what the request creates (job, dataset, model) or not at all: a crash can
never leave a created resource without its key, nor a key without its resource. After a 2xx the
middleware stores the response in the row before the client sees it. Rows live in the database,
so every API process sees them. Only 2xx responses are kept; after a 4xx the key may be reused."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.dependency import PrincipalDep
from app.core.deps import ContextDep, SessionDep
from app.core.errors import Conflict
from app.db.tables import IdempotencyRecord
from app.db.types import utcnow

STATE_KEY = "idempotency"


class IdempotentReplay(Exception):
    """Raised by the dependency to answer with the stored first response."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(status_code)
        self.status_code, self.body = status_code, body


async def fingerprint(request: Request) -> str:
    """SHA-256 of method, route and body content. JSON is canonicalised and multipart is hashed
    field by field (file bytes included), so a client's retry with a new boundary still matches."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = await request.form()
        for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
            digest.update(f"\x00{name}\x00".encode())
            if isinstance(value, UploadFile):
                digest.update(f"file:{value.filename}\x00".encode())
                while chunk := await value.read(1 << 20):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(f"text:{value}".encode())
    else:
        raw = await request.body()
        try:
            raw = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            pass
        digest.update(raw)
    return digest.hexdigest()


def _reserve(session: Session, owner: str, key: str, fp: str, ttl_seconds: float) -> None:
    """Insert the key's row into the open transaction, or raise the replay / 409 it calls for."""
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < utcnow() - timedelta(seconds=ttl_seconds)))
    existing = session.get(IdempotencyRecord, (owner, key))
    if existing is None:
        session.add(IdempotencyRecord(owner=owner, key=key, fingerprint=fp))
        try:
            session.flush()  # commits with the resource the request creates, or rolls back with it
            return
        except IntegrityError:  # a concurrent request with this key committed first
            session.rollback()
            existing = session.get(IdempotencyRecord, (owner, key))
            if existing is None:
                raise Conflict(f"Idempotency-Key {key!r} is in use by a concurrent request; retry in a moment") from None
    if existing.fingerprint != fp:
        raise Conflict(f"Idempotency-Key {key!r} was already used with a different request (method, path or "
                       "body); send a new key for a new request")
    if existing.status_code is None:
        raise Conflict(f"the first request with Idempotency-Key {key!r} was accepted but its response was not "
                       "recorded (it is still running, or the server stopped mid-request); check the resource "
                       "list before retrying with a new key")
    raise IdempotentReplay(existing.status_code, existing.response or "")


async def idempotency(request: Request, ctx: ContextDep, session: SessionDep, principal: PrincipalDep,
                      idempotency_key: Annotated[str | None, Header(
                          alias="Idempotency-Key", min_length=1, max_length=200,
                          description="Retries with the same key and body return the first response; "
                                      "the same key with another body is a 409.")] = None) -> None:
    if idempotency_key is None:
        return
    owner = principal.key_id or ""
    fp = await fingerprint(request)
    await run_in_threadpool(_reserve, session, owner, idempotency_key, fp, ctx.settings.idempotency_ttl_seconds)
    request.state.idempotency = (owner, idempotency_key)


Idempotent = Depends(idempotency)


def _store(ctx, owner: str, key: str, status_code: int, body: bytes) -> None:
    with ctx.db.session() as session:
        session.execute(update(IdempotencyRecord)
                        .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key,
                               IdempotencyRecord.status_code.is_(None))
                        .values(status_code=status_code, response=body.decode()))
        session.commit()


class IdempotencyRecorder:
    """ASGI middleware: after a 2xx to a request that reserved a key, store the response in the key's
    row, then send it (so a retry that arrives right after sees the stored response)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        holding = False

        async def recording_send(message: Message) -> None:
            nonlocal holding
            if message["type"] == "http.response.start":
                reservation = (scope.get("state") or {}).get(STATE_KEY)
                holding = reservation is not None and 200 <= message["status"] < 300
            if not holding:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                body = b"".join(m.get("body", b"") for m in held[1:])
                owner, key = scope["state"][STATE_KEY]
                await run_in_threadpool(_store, scope["app"].state.context, owner, key, held[0]["status"], body)
                for m in held:
                    await send(m)
                held.clear()

        await self.app(scope, receive, recording_send)


def install_idempotency(app: FastAPI) -> None:
    """Add the recorder middleware and the replay handler."""
    app.add_middleware(IdempotencyRecorder)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_: Request, exc: IdempotentReplay) -> Response:
        return Response(exc.body, status_code=exc.status_code, media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
