"""A Server-Sent Events parser fed line by line, shared by the sync and async event iterators."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobEvent:
    """One event of ``GET /v1/jobs/{id}/events``: ``event`` is "progress" or "status"."""

    id: int
    event: str
    data: dict[str, Any]


class SSEParser:
    """Collects ``id:``, ``event:`` and ``data:`` lines; a blank line ends an event. Comments
    (heartbeats) and ``retry:`` are skipped."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}
        self._data: list[str] = []

    def feed(self, line: str) -> JobEvent | None:
        line = line.rstrip("\r\n")
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name in ("id", "event"):
            self._fields[name] = value
        return None

    def _dispatch(self) -> JobEvent | None:
        fields, data = self._fields, self._data
        self._fields, self._data = {}, []
        if not data or "id" not in fields:
            return None
        return JobEvent(int(fields["id"]), fields.get("event", "message"), json.loads("\n".join(data)))


from app.client.enums import FINAL_STATUSES  # noqa: E402  (generated from the server's OpenAPI)


def is_final(event: JobEvent) -> bool:
    return event.event == "status" and event.data.get("status") in FINAL_STATUSES
