"""Stop synchronous work whose client has gone: a progress callback for long loops (AIS) that,
from the route's worker thread, asks the event loop whether the client disconnected."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio.from_thread
from fastapi import Request

from app.core.errors import ServiceError

log = logging.getLogger(__name__)


class ClientGone(ServiceError):
    status = 499  # nginx's "client closed request": nobody reads it, the log line says what happened
    code = "client_disconnected"


def stop_when_disconnected(request: Request, every_seconds: float = 0.25) -> Callable[[int, int], None]:
    """``progress(done, total)`` that raises :class:`ClientGone` once the client has disconnected;
    it looks at most every ``every_seconds``. Call it only from a sync route's worker thread."""
    last = [time.monotonic()]

    def check(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < every_seconds:
            return
        last[0] = now
        try:
            gone = anyio.from_thread.run(request.is_disconnected)
        except RuntimeError:  # not in an anyio worker thread (a library caller): nothing to watch
            return
        if gone:
            log.info("client left %s %s at %d/%d; stopping the computation", request.method, request.url.path,
                     done, total)
            raise ClientGone("the client disconnected; the computation was stopped")

    return check
