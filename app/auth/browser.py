"""Browser safety for a service that may run in open mode on a developer's machine: a web page
the user visits must not drive it. Two checks, both before any route runs:

* the Host header must name this server (TrustedHost; defeats DNS rebinding): RBM_ALLOWED_HOSTS,
  by default the loopback names when serving on loopback;
* a write (POST/PUT/PATCH/DELETE) that a browser sent from another origin is refused with 403
  unless that origin is listed in RBM_CORS_ORIGINS (CORS is closed by default). Browsers send
  ``Origin`` on every cross-origin write, so the dashboard (same origin) and non-browser clients
  (no ``Origin``) pass."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SameOriginWrites:
    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/").lower()
        if not origin or "*" in self.allowed or origin in self.allowed or _same_origin(origin, headers):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": {"code": "cross_origin_refused", "message": (
            f"a {scope['method']} from the web origin {origin!r} is refused: this service accepts writes only from "
            "its own pages and non-browser clients. To allow that origin, add it to RBM_CORS_ORIGINS")}}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _same_origin(origin: str, headers: dict[bytes, bytes]) -> bool:
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return origin != "null" and urlsplit(origin).netloc == host


def default_allowed_hosts(listen_host: str) -> list[str]:
    """Loopback: the loopback names (and Starlette's test client's 'testserver', which no DNS
    resolves); any other address: every host (set RBM_ALLOWED_HOSTS to the names you serve)."""
    from app.auth.mode import is_loopback

    if is_loopback(listen_host):
        return ["localhost", "127.0.0.1", "::1", "[::1]", "testserver"]
    return ["*"]
