"""The one place where exceptions become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError as DBDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.core.errors import ServiceError
from app.data.errors import DataError, DataUnavailable
from app.rbm.errors import InvalidInput, InvalidWeights, TooLarge

log = logging.getLogger(__name__)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


def _multipart_problem(exc: BaseException) -> str:
    """Starlette says only 'Invalid multipart data'; the parser's own error is down the chain."""
    root: BaseException = exc
    while (nxt := root.__cause__ or root.__context__) is not None:
        root = nxt
    reason = _cause(root) if root is not exc else "malformed multipart body"
    if "header size" in reason:
        return ("the multipart body could not be parsed: a part's header is over 4096 bytes; a long filename "
                "does this: uploaded file names may have at most 255 characters")
    return f"the multipart body could not be parsed ({reason}); send multipart/form-data with a `file` part"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # loc is ("body", character offset)
            offset = err.get("loc", ("body", "?"))[-1]
            reason = (err.get("ctx") or {}).get("error", "invalid")
            parts.append(f"the body is not valid JSON: {reason} at character {offset} (is it truncated, or "
                         "missing a quote or bracket?)")
            continue
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
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ClientDisconnect) or isinstance(exc.__context__, ClientDisconnect):
            return await _gone(request, ClientDisconnect())
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):  # FastAPI's json.loads
            return error_response(422, "invalid_request", "the JSON body is nested too deeply to parse (about "
                                  f"{sys.getrecursionlimit()} levels at most); vectors are a list of lists, two levels")
        if exc.status_code == 400 and exc.__cause__ is not None and str(exc.detail).startswith("There was an error"):
            return error_response(400, "bad_request", f"the body could not be parsed: {_cause(exc.__cause__)}")
        if exc.status_code == 400 and str(exc.detail).startswith("Invalid multipart data"):
            return error_response(400, "bad_request", _multipart_problem(exc))
        return error_response(exc.status_code, getattr(exc, "code", "http_error"), str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> JSONResponse:
        log.info("client disconnected before sending the whole body of %s %s", request.method, request.url.path)
        return error_response(400, "client_disconnected", "the client disconnected before the body was complete")

    @app.exception_handler(DBDataError)
    async def _db_data(request: Request, exc: DBDataError) -> JSONResponse:  # a last line: never a 500
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                    str(exc.orig).splitlines()[0] if exc.orig else exc)
        return error_response(422, "invalid_request", "a value in the request cannot be stored (the database "
                              f"refused it: {str(exc.orig).splitlines()[0] if exc.orig else 'invalid value'})")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has details")
