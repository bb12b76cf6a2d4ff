"""Turning request data into tensors a model accepts, with the limits and the clear errors that
every query endpoint shares."""

from __future__ import annotations

import numpy as np
import torch

from app.core.errors import InvalidRequest, PayloadTooLarge
from app.core.settings import Settings
from app.rbm.model import RBM


def vectors_to_tensor(data: list[list[float]] | np.ndarray, model: RBM, settings: Settings, what: str = "data") -> torch.Tensor:
    n = len(data)
    if n == 0:
        raise InvalidRequest(f"{what} is empty; send at least one vector of length {model.n_visible}")
    if n > settings.max_vectors_per_request:
        raise PayloadTooLarge(f"{what} has {n} vectors; the limit is {settings.max_vectors_per_request} per request "
                              "(RBM_MAX_VECTORS_PER_REQUEST); split it into several requests")
    try:
        array = np.asarray(data, dtype=np.float32)
    except (ValueError, TypeError):
        if isinstance(data, list) and len({len(r) if isinstance(r, list) else -1 for r in data}) > 1:
            raise InvalidRequest(f"{what} rows have different lengths; every row needs {model.n_visible} "
                                 "values") from None
        raise InvalidRequest(f"{what} must hold numbers only (a list of rows of {model.n_visible} numbers); "
                             "found a string, null or nested list among the values") from None
    if not array.flags.writeable:  # memory-mapped dataset rows: torch wants its own buffer
        array = array.copy()
    if array.ndim != 2:
        raise InvalidRequest(f"{what} must be a list of vectors (2-D), got {array.ndim}-D")
    tensor = torch.from_numpy(array).to(model.device, model.dtype)
    model.validate_input(tensor)
    return tensor
