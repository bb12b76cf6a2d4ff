"""ASGI middleware that refuses text the database cannot store, before any route runs: a NUL
character in the path, a query parameter or a JSON string gives a 422 that names where it is
(PostgreSQL rejects NUL in text; SQLite would store it, so both databases answer the same)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import refused_while_reading
from app.core.text import find_nul

_NUL_ESCAPE = b"\\u0000"


class RejectNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in_url(scope)
        if where is not None:
            await _send_422(send, f"{where} contains a NUL character (%00), which is never valid here; remove it")
            return
        ctype = dict(scope.get("headers") or []).get(b"content-type", b"application/json").lower()
        if b"json" not in ctype:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        suspicious = False

        async def checking_receive() -> Message:
            nonlocal suspicious
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                tail = chunks[-1][-6:] if chunks else b""
                suspicious = suspicious or _NUL_ESCAPE in tail + body[:6] or _NUL_ESCAPE in body
                chunks.append(body)
                if not message.get("more_body", False) and suspicious:
                    field = _nul_field(b"".join(chunks))
                    if field is not None:
                        raise refused_while_reading(
                            422, "invalid_request",
                            f"{field} contains a NUL character (\\u0000), which text fields cannot hold; remove it")
                if not message.get("more_body", False):
                    chunks.clear()
            return message

        await self.app(scope, checking_receive, send)


def _nul_in_url(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "the path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                return f"query parameter {key.replace(chr(0), '')!r}"
        return "the query string"
    return None


def _nul_field(raw: bytes) -> str | None:
    try:
        return find_nul(json.loads(raw))
    except (ValueError, RecursionError):
        return None  # not JSON: the route's own parsing reports that


async def _send_422(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "invalid_request", "message": message}}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
