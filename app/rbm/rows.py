"""Which data rows a seeded computation uses: one rule wherever a subset of rows is picked (AIS
start states, evaluation samples, reconstruction pictures), so one seed picks the same rows
everywhere, reproducibly across processes."""

from __future__ import annotations

import numpy as np


def pick_rows(n_rows: int, n: int, seed: int) -> np.ndarray:
    """``min(n, n_rows)`` distinct row indices, sorted (reads stay sequential on a memory map),
    drawn without replacement by numpy's default generator seeded with ``seed``."""
    if n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=n, replace=False))
