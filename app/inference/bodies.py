"""Request bodies of visible vectors in three encodings, parsed without pydantic.

For a 100 x 784 free-energy query, turning JSON into a tensor costs 10-50x the math
(pydantic's ``list[list[float]]`` ~5 ms, ``torch.tensor`` on nested lists 9-50 ms), so the hot
endpoints read the raw body themselves:

* ``application/json`` (default): ``{"data": [[...], ...]}`` via orjson + ``np.asarray``;
* ``application/octet-stream``: raw little-endian float32, row-major, with the row count in an
  ``X-Shape: rows[,cols]`` header or a ``rows`` query parameter;
* ``application/x-npy``: a ``.npy`` file (no pickles).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
from fastapi import Request

from app.apidocs.examples import DIGITS_ROWS
from app.core.errors import InvalidRequest

#: OpenAPI description of the accepted bodies (the route reads the raw body, so FastAPI cannot infer it).
OPENAPI_VECTORS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {
                "type": "object", "required": ["data"], "additionalProperties": False,
                "properties": {"data": {"type": "array", "items": {"type": "array", "items": {"type": "number"}},
                                        "description": "Visible vectors, one per row."}}},
                "example": {"data": DIGITS_ROWS}},  # fits the README's 64-unit digits model
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"},
                                         "description": "float32 little-endian row-major; rows in the "
                                         "X-Shape header (rows or rows,cols) or the rows query parameter."},
            "application/x-npy": {"schema": {"type": "string", "format": "binary"},
                                  "description": "A .npy array (n, n_visible)."},
        },
    },
    "parameters": [{"name": "rows", "in": "query", "required": False, "schema": {"type": "integer"},
                    "description": "Rows of an application/octet-stream body (or send X-Shape)."}],
}


def _from_octets(raw: bytes, request: Request) -> np.ndarray:
    shape = request.headers.get("x-shape") or request.query_params.get("rows")
    if not shape:
        raise InvalidRequest("an application/octet-stream body needs its row count: header X-Shape: rows[,cols] "
                             "or query parameter ?rows=")
    try:
        dims = [int(d) for d in shape.replace("x", ",").split(",") if d.strip()]
    except ValueError:
        raise InvalidRequest(f"X-Shape must be 'rows' or 'rows,cols', got {shape!r}") from None
    if len(raw) % 4:
        raise InvalidRequest(f"body length {len(raw)} is not a whole number of float32 values")
    count = len(raw) // 4
    if not dims or len(dims) > 2 or dims[0] < 1 or count % dims[0] or (len(dims) == 2 and dims[0] * dims[1] != count):
        raise InvalidRequest(f"X-Shape {shape!r} does not match a body of {count} float32 values")
    return np.frombuffer(raw, dtype="<f4").reshape(dims[0], count // dims[0])


def _from_npy(raw: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/OSError/EOFError for malformed files
        raise InvalidRequest(f"body is not a readable .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise InvalidRequest("the .npy body must hold a numeric array")
    return array


def _from_json(raw: bytes) -> Any:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(obj, dict) or "data" not in obj:
        raise InvalidRequest('expected a JSON object {"data": [[...], ...]}')
    extra = sorted(set(obj) - {"data"})
    if extra:
        raise InvalidRequest(f"unexpected field(s) {extra}: the body has only `data`")
    data = obj["data"]
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise InvalidRequest("`data` must be a list of vectors (lists of numbers)")
    return data


async def read_vectors(request: Request) -> Any:
    """The body's vectors: a 2-D ``np.ndarray`` (binary bodies) or a list of lists (JSON).

    Shape, length, value and limit checks are left to ``vectors_to_tensor``, shared with
    every other endpoint, so the errors read the same whatever the encoding.
    """
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "application/octet-stream":
        return _from_octets(raw, request)
    if ctype in ("application/x-npy", "application/npy"):
        return _from_npy(raw)
    if ctype in ("application/json", "") or ctype.endswith("+json"):
        return _from_json(raw)
    raise InvalidRequest(f"unsupported content-type {ctype!r}: use application/json, application/octet-stream "
                         "or application/x-npy")
