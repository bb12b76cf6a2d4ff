"""Read a picture grid back into arrays, with the same geometry ``render.grid_png`` uses."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def decode_png(content: bytes) -> np.ndarray:
    assert content[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return np.asarray(Image.open(io.BytesIO(content)).convert("L"))


def cells(content: bytes, n: int, h: int, w: int, ncols: int | None = None, cell: int = 56, pad: int = 2) -> np.ndarray:
    """The ``n`` images of a grid as (n, h, w) values in [0, 1] (one pixel per upscaled block)."""
    pixels = decode_png(content)
    ncols = ncols or math.ceil(math.sqrt(n))
    zoom = max(1, round(cell / max(h, w)))
    assert pixels.shape == (math.ceil(n / ncols) * (h * zoom + pad) + pad, ncols * (w * zoom + pad) + pad)
    out = np.empty((n, h, w))
    for k in range(n):
        r, c = divmod(k, ncols)
        y, x = pad + r * (h * zoom + pad), pad + c * (w * zoom + pad)
        block = pixels[y:y + h * zoom, x:x + w * zoom].astype(np.float64)
        out[k] = block[::zoom, ::zoom] / 255.0
    return out
