"""Independent loop-based reference code shared by the physics tests."""

from __future__ import annotations

import itertools

import numpy as np


def brute_energy(spins_pm: np.ndarray, L: int) -> float:
    """Loop-based H = -sum_i s_i (s_right + s_down) on an (L, L) +-1 grid."""
    e = 0
    for i, j in itertools.product(range(L), range(L)):
        e -= spins_pm[i, j] * (spins_pm[i, (j + 1) % L] + spins_pm[(i + 1) % L, j])
    return float(e)
