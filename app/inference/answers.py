"""Array answers: their size bounded (rows x width, RBM_MAX_ANSWER_VALUES) before anything is
computed, and offered in binary, which is ~10x smaller and faster than JSON for large arrays:

* ``Accept: application/x-npy``: a ``.npy`` file (float32, shape in its header);
* ``Accept: application/octet-stream``: raw little-endian float32, row-major, shape in ``X-Shape``.

Both carry the answer's other fields (seed, sampler, ...) as JSON in the ``X-RBM-Meta`` header."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import torch
from fastapi import Request, Response

from app.core.errors import PayloadTooLarge
from app.core.settings import Settings

NPY = "application/x-npy"
RAW = "application/octet-stream"

#: OpenAPI ``responses`` entry for routes that answer arrays.
BINARY_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {
    NPY: {"schema": {"type": "string", "format": "binary"}, "description": "float32 .npy (send Accept: " + NPY + ")"},
    RAW: {"schema": {"type": "string", "format": "binary"},
          "description": "raw float32 little-endian, row-major; shape in the X-Shape header (send Accept: " + RAW + ")"},
}}}


def binary_format(request: Request) -> str | None:
    """``NPY``, ``RAW`` or None (JSON) from the Accept header; the first listed binary type wins."""
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in (NPY, "application/npy"):
            return NPY
        if media == RAW:
            return RAW
    return None


def check_answer_size(rows: int, width: int, settings: Settings, what: str) -> None:
    """413 before any work when the answer would hold more than RBM_MAX_ANSWER_VALUES numbers."""
    values = rows * width
    if values > settings.max_answer_values:
        raise PayloadTooLarge(f"the answer would hold {rows} x {width} = {values:,} {what} values; the limit is "
                              f"{settings.max_answer_values:,} per request (RBM_MAX_ANSWER_VALUES): ask for fewer "
                              "rows and split the work over several requests")


def array_response(array: torch.Tensor | np.ndarray, fmt: str, meta: dict[str, Any] | None = None) -> Response:
    """The array as ``.npy`` or raw float32, with ``X-Shape`` and the other fields in ``X-RBM-Meta``."""
    data = array.detach().to("cpu", torch.float32).numpy() if isinstance(array, torch.Tensor) \
        else np.asarray(array, dtype=np.float32)
    data = np.ascontiguousarray(data, dtype="<f4")
    headers = {"X-Shape": ",".join(str(d) for d in data.shape)}
    if meta:
        headers["X-RBM-Meta"] = json.dumps(meta, separators=(",", ":"), default=str)
    if fmt == NPY:
        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        return Response(buf.getvalue(), media_type=NPY, headers=headers)
    return Response(data.tobytes(), media_type=RAW, headers=headers)
