"""The one place where exceptions become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import ServiceError
from app.data.errors import DataError, DataUnavailable
from app.rbm.errors import InvalidInput, InvalidWeights, TooLarge

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts[:10]) + ("; ..." if len(parts) > 10 else "")


# Library errors (raised by the plain-Python packages, which know nothing of HTTP) -> (status, code).
# Subclasses first: the first matching entry wins.
LIBRARY_ERRORS: list[tuple[type[Exception], int, str]] = [
    (DataUnavailable, 503, "data_unavailable"),
    (DataError, 422, "invalid_data"),
    (InvalidInput, 422, "invalid_input"),
    (InvalidWeights, 422, "invalid_weights"),
    (TooLarge, 422, "too_large"),
]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message)
        response.headers.update(exc.headers)
        return response

    async def _library(_: Request, exc: Exception) -> JSONResponse:
        status, code = next((s, c) for cls, s, c in LIBRARY_ERRORS if isinstance(exc, cls))
        return error_response(status, code, str(exc))

    for cls, _status, _code in LIBRARY_ERRORS:
        app.add_exception_handler(cls, _library)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has details")
