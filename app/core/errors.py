"""Domain errors, mapped to HTTP once (see ``app.core.handlers``), so every error body has one shape.

Services raise these; routers never build error responses themselves.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client can cause; ``status`` is the HTTP code it maps to."""

    status: int = 400
    code: str = "bad_request"
    headers: dict[str, str] = {}  # extra response headers (e.g. WWW-Authenticate); never mutated

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} does not exist; list them with GET /v1/{kind}s")


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidRequest(ServiceError):
    status = 422
    code = "invalid_request"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(ServiceError):
    status = 429
    code = "too_many_requests"


class RefusedWhileReading(Exception):
    """Raised by ASGI middleware from inside ``receive`` (body too large, NUL in a JSON string).

    It must subclass Starlette's HTTPException to get through FastAPI's body parsing, which turns
    any other exception into a bare 400; built lazily so this module stays free of web imports."""


def refused_while_reading(status: int, code: str, message: str) -> Exception:
    from starlette.exceptions import HTTPException

    class _Refused(HTTPException, RefusedWhileReading):
        pass

    exc = _Refused(status_code=status, detail=message)
    exc.code = code  # type: ignore[attr-defined]
    return exc
