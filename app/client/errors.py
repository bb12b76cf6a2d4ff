"""The one exception the client raises: what the server said (status, code, message), or that it
could not be reached."""

from __future__ import annotations

import httpx


class RBMError(Exception):
    """An error answer from rbm-service: ``status`` (HTTP), ``code`` and ``message`` from its
    ``{"error": {"code", "message"}}`` body. ``status`` is 0 when the server was unreachable."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def from_response(cls, response: httpx.Response) -> RBMError:
        try:
            error = response.json()["error"]
            return cls(response.status_code, str(error["code"]), str(error["message"]))
        except Exception:  # not our JSON shape (a proxy's page, say): keep what there is
            return cls(response.status_code, "http_error", response.text[:500] or response.reason_phrase)


class RBMConnectionError(RBMError):
    """The server could not be reached, after the client's retries."""

    def __init__(self, url: str, cause: Exception) -> None:
        super().__init__(0, "connection_error", f"cannot reach {url}: {type(cause).__name__}: {cause}")


class RBMTimeoutError(RBMError):
    """The server was reached but did not answer within the client's timeout: it may still be
    working (a long estimation, say), so this is not "cannot reach"."""

    def __init__(self, url: str, timeout: float, cause: Exception) -> None:
        super().__init__(0, "timeout", f"{url} did not answer within {timeout:g} s ({type(cause).__name__}); "
                         "the server may still be computing: raise the client's timeout, or submit long "
                         "estimations as jobs (kind 'estimate') and wait() for them")
