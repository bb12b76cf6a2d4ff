"""Request-size limit as ASGI middleware: a body over the limit is refused with 413 before it
is read into memory (multipart uploads get the upload limit, everything else the JSON limit)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import RefusedWhileReading, refused_while_reading


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit, setting = ((self.max_upload_bytes, "RBM_MAX_UPLOAD_BYTES") if is_upload
                          else (self.max_request_bytes, "RBM_MAX_REQUEST_BYTES"))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "payload_too_large", _message(int(declared), limit, setting))
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised inside the route's body read: FastAPI passes it through
                    raise refused_while_reading(413, "payload_too_large", _message(seen, limit, setting))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except RefusedWhileReading as exc:  # the body was read outside a route (middleware): answer here
            if not started:
                await _refuse(send, exc.status_code, exc.code, exc.detail)  # type: ignore[attr-defined]


def _message(size: int, limit: int, setting: str) -> str:
    return (f"request body is over {limit} bytes (got at least {size}); the limit is the setting {setting}; "
            "send a smaller body (large arrays: a dataset upload, or several requests)")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
