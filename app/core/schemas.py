"""Pieces shared by every domain's schemas."""

from __future__ import annotations

from datetime import datetime, UTC
from typing import Annotated

from pydantic import PlainSerializer


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ISO 8601, UTC, microseconds, trailing Z: "2026-11-28T09:41:07.123456Z"
UTCTimestamp = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]
