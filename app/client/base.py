"""What the sync and async clients share: configuration, headers, the retry rule, and turning an
answer into a value or an ``RBMError``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from app.client.calls import Call
from app.client.errors import RBMConnectionError, RBMError, RBMTimeoutError

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
# A stream sends a heartbeat every RBM_SSE_HEARTBEAT_SECONDS (15 s by default); a read that waits
# much longer than that means the connection is dead, so it is retried with Last-Event-ID.
STREAM_READ_TIMEOUT = 90.0
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    api_key: str | None
    timeout: float
    retries: int
    backoff: float

    @classmethod
    def resolve(cls, base_url: str | None, api_key: str | None, timeout: float, retries: int,
                backoff: float) -> ClientConfig:
        """Arguments first, then RBM_URL / RBM_API_KEY, then the local default server."""
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must be >= 0")
        url = (base_url or os.environ.get("RBM_URL") or DEFAULT_URL).rstrip("/")
        return cls(url, api_key or os.environ.get("RBM_API_KEY") or None, timeout, retries, backoff)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", **(extra or {})}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        kwargs = {"method": call.method, "url": call.path, "params": call.params, "json": call.json,
                  "files": call.files, "data": call.data, "headers": self.headers(call.headers)}
        if call.read_timeout is not None:
            kwargs["timeout"] = httpx.Timeout(self.timeout, read=max(self.timeout, call.read_timeout))
        return kwargs

    def should_retry(self, call: Call[Any], exc: Exception, attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return False  # it reached the server, which is still busy: repeating it only adds load
        return isinstance(exc, CONNECT_ERRORS) or (call.retry_any_transport_error and isinstance(exc, httpx.TransportError))

    def delay(self, attempt: int) -> float:
        """Exponential backoff: backoff, 2 backoff, 4 backoff, ... capped at 30 s."""
        return min(30.0, self.backoff * 2**attempt)


def transport_error(url: str, timeout: float, exc: httpx.TransportError) -> RBMError:
    """A timeout after the server was reached is not "cannot reach"."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return RBMTimeoutError(url, timeout, exc)
    return RBMConnectionError(url, exc)


def result(call: Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        raise RBMError.from_response(response)
    return call.parse(response)


def stream_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, read=max(timeout, STREAM_READ_TIMEOUT))
