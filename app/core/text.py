"""Checks on text that clients send and the database stores: PostgreSQL cannot hold a NUL
character in text, and a file name is a name, not a document. One home for both rules."""

from __future__ import annotations

from typing import Any

from app.core.errors import InvalidRequest

# Longest uploaded file name kept (most file systems' limit on one name).
MAX_FILENAME_CHARS = 255


def reject_nul(value: str | None, field: str) -> None:
    """422 naming ``field`` when ``value`` holds a NUL character."""
    if value is not None and "\x00" in value:
        raise InvalidRequest(f"{field} contains a NUL character (\\u0000), which text fields cannot hold; "
                             "remove it")


def check_filename(filename: str | None) -> str:
    """The uploaded file's name, checked: no NUL, at most MAX_FILENAME_CHARS characters."""
    name = filename or "upload"
    reject_nul(name, "the uploaded file's filename")
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidRequest(f"the uploaded file's filename is {len(name)} characters long; the limit is "
                             f"{MAX_FILENAME_CHARS}: rename the file (only its extension matters)")
    return name


def find_nul(obj: Any, path: str = "body") -> str | None:
    """Dotted path of the first string (or key) in a parsed JSON value that holds a NUL."""
    if isinstance(obj, str):
        return path if "\x00" in obj else None
    if isinstance(obj, dict):
        for key, value in obj.items():
            if "\x00" in key:
                return f"{path} (a key)"
            found = find_nul(value, f"{path}.{key}" if path != "body" else key)
            if found:
                return found
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found = find_nul(value, f"{path}[{i}]")
            if found:
                return found
    return None
