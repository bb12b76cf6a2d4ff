"""Vectorised single-spin Metropolis sweeps for many independent Ising chains.

Why: numpy is fast only on whole arrays, so every spin of one colour class
(a set with no two neighbours, see :func:`app.physics.lattice.colour_classes`) is
proposed at once, and all R chains advance together. Spins of one class have
conditionally independent updates given the other classes, so this is an exact
Metropolis sweep (detailed balance per class), not an approximation.
"""

from __future__ import annotations

import math

import numpy as np

from app.physics.lattice import colour_classes, neighbour_table


class MetropolisKernel:
    """One sweep = every colour class updated once (checkerboard for even L).

    State: ``spins`` of shape ``(R, N)`` int8 in {-1, +1}, modified in place.
    """

    def __init__(self, L: int, T: float) -> None:
        nbr = neighbour_table(L)
        self.classes = colour_classes(L)
        self.class_nbrs = [nbr[c] for c in self.classes]  # each (n_c, 4)
        # acceptance min(1, exp(-beta dE)) with dE = 2 s h, indexed by s*h + 4 in 0..8
        x = np.arange(-4, 5)
        self.accept = np.minimum(1.0, np.exp(-2.0 * x / T))
        self.beta = 1.0 / T
        if not math.isfinite(self.beta):  # pragma: no cover - T > 0 validated upstream
            raise ValueError("T must be > 0")

    def sweep(self, spins: np.ndarray, rng: np.random.Generator) -> None:
        """Advance every chain by one full lattice sweep, in place."""
        for idx, nb in zip(self.classes, self.class_nbrs):
            local = spins[:, idx]  # (R, n_c)
            field = spins[:, nb].sum(axis=-1, dtype=np.int8)  # (R, n_c), in {-4..4}
            p = self.accept[local * field + 4]
            flip = rng.random(local.shape) < p
            spins[:, idx] = np.where(flip, -local, local)
