"""Vectorised Swendsen-Wang cluster sweeps for many independent Ising chains.

Why: the fastest exact cluster algorithm available from numpy/scipy. Every
satisfied bond (s_i = s_j) is activated with probability p = 1 - exp(-2/T),
the resulting Fortuin-Kasteleyn clusters of all R chains are labelled in one
call to ``scipy.sparse.csgraph.connected_components`` (C code, on a block
diagonal graph of R*N nodes), and each cluster is flipped with probability 1/2.
Unlike a Python-level Wolff growth this costs a fixed few array passes per sweep,
which is what makes L = 16 at T_c with 10^4 samples take well under a second.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from app.physics.lattice import DOWN, RIGHT, neighbour_table


class SwendsenWangKernel:
    """One sweep = one Swendsen-Wang update of every site, on ``(R, N)`` int8 +-1 spins in place."""

    def __init__(self, L: int, T: float) -> None:
        nbr = neighbour_table(L)
        n = L * L
        self.n_sites = n
        self.src = np.concatenate([np.arange(n), np.arange(n)])  # (2N,) bond ends, every bond once
        self.dst = np.concatenate([nbr[:, RIGHT], nbr[:, DOWN]])
        self.p_bond = -math.expm1(-2.0 / T)

    def sweep(self, spins: np.ndarray, rng: np.random.Generator) -> None:
        """Advance every chain by one Swendsen-Wang update, in place."""
        R, N = spins.shape
        bonded = (spins[:, self.src] == spins[:, self.dst]) & (rng.random((R, self.src.size)) < self.p_bond)
        chain, bond = np.nonzero(bonded)
        rows = chain * N + self.src[bond]
        cols = chain * N + self.dst[bond]
        graph = csr_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(R * N, R * N))
        n_clusters, labels = connected_components(graph, directed=False)
        flip = rng.random(n_clusters) < 0.5
        flat = spins.reshape(-1)
        flat[flip[labels]] *= -1
