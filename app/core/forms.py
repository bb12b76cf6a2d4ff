"""Multipart form fields that several upload routes share."""

from __future__ import annotations

from app.core.errors import InvalidRequest


def parse_image_shape(text: str | None) -> list[int] | None:
    """'28,28' or '28x28' -> [28, 28]; None when absent."""
    if not text:
        return None
    try:
        shape = [int(p) for p in text.replace("x", ",").split(",")]
    except ValueError:
        raise InvalidRequest(f"image_shape must be two integers like '28,28', got {text!r}") from None
    if len(shape) != 2 or min(shape) < 1:
        raise InvalidRequest(f"image_shape must be two positive integers like '28,28', got {text!r}")
    return shape
