"""Geometry of the L x L periodic square lattice shared by samplers and exact code.

Sites are numbered row-major, ``site = i * L + j`` for row ``i`` and column ``j``,
which is the flattening used for every ``(n, L*L)`` spin array in this package.

Energy convention (J = 1): ``H = -sum_i s_i * (s_right(i) + s_down(i))``, i.e. every
site owns its right and down bond, giving exactly ``2 N`` bonds for ``N = L*L``.
For ``L = 2`` the right and left neighbour coincide, so each neighbouring pair is
joined by two bonds; this is the torus that Kaufman's formula describes.
"""

from __future__ import annotations

import math

import numpy as np

#: Critical temperature of the infinite lattice, 2 / ln(1 + sqrt 2) ~= 2.269185.
T_CRITICAL: float = 2.0 / math.log1p(math.sqrt(2.0))

#: Column order of :func:`neighbour_table`.
RIGHT, DOWN, LEFT, UP = 0, 1, 2, 3


def validate_size(L: int) -> int:
    """Return ``L`` as int after checking it is an integer >= 2."""
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)):
        raise ValueError(f"L must be an integer >= 2, got {L!r}")
    if L < 2:
        raise ValueError(f"L must be >= 2, got {L}")
    return int(L)


def validate_temperature(T: float) -> float:
    """Return ``T`` as float after checking it is finite and > 0."""
    try:
        t = float(T)
    except (TypeError, ValueError):
        raise ValueError(f"T must be a positive finite number, got {T!r}") from None
    if not math.isfinite(t) or t <= 0.0:
        raise ValueError(f"T must be a positive finite number, got {T!r}")
    return t


def neighbour_table(L: int) -> np.ndarray:
    """Periodic neighbours of every site, shape ``(N, 4)`` int64.

    Columns are ``RIGHT, DOWN, LEFT, UP``; ``table[s, LEFT]`` is the site whose
    RIGHT neighbour is ``s`` (and likewise UP/DOWN), which cluster growth uses to
    find "sites next to the frontier" with a gather instead of a scatter.
    """
    i, j = np.divmod(np.arange(L * L), L)
    return np.stack(
        [
            i * L + (j + 1) % L,
            ((i + 1) % L) * L + j,
            i * L + (j - 1) % L,
            ((i - 1) % L) * L + j,
        ],
        axis=1,
    ).astype(np.int64)


def colour_classes(L: int) -> list[np.ndarray]:
    """Partition the sites into classes with no two neighbours in one class.

    Why: a class can be updated in parallel (each spin's conditional law only
    depends on the other classes). For even ``L`` this is the checkerboard
    (two sublattices). For odd ``L`` the periodic lattice is not bipartite
    (site (0, 0) and (0, L-1) are neighbours with equal parity), so the
    checkerboard would update neighbours simultaneously and break detailed
    balance; there a greedy colouring (3 classes) is used instead.
    Returns a list of sorted int64 site-index arrays.
    """
    i, j = np.divmod(np.arange(L * L), L)
    if L % 2 == 0:
        parity = (i + j) % 2
        return [np.flatnonzero(parity == c) for c in (0, 1)]
    nbr = neighbour_table(L)
    colour = np.full(L * L, -1, dtype=np.int64)
    for site in range(L * L):
        used = set(colour[nbr[site]].tolist())
        colour[site] = min(c for c in range(5) if c not in used)
    return [np.flatnonzero(colour == c) for c in range(int(colour.max()) + 1)]


def energy_pm(spins: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Total energy H of ``(R, N)`` +-1 configurations via a neighbour table, shape ``(R,)`` float64."""
    s = spins.astype(np.int64, copy=False)
    bond_sum = s * (s[:, nbr[:, RIGHT]] + s[:, nbr[:, DOWN]])
    return -bond_sum.sum(axis=1).astype(np.float64)
