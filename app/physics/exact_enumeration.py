"""Brute-force Boltzmann statistics of the L x L periodic Ising model (L <= 4).

Why: 2^(L*L) <= 65536 states can be summed exactly in a few milliseconds, giving
references with no approximation at all for the samplers and for the RBM (whose
visible-state enumeration uses the same state order, see :func:`all_states01`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from app.physics.lattice import DOWN, RIGHT, neighbour_table, validate_size, validate_temperature

MAX_ENUMERATION_L = 4


def all_states01(n_sites: int) -> np.ndarray:
    """Every {0,1} configuration in binary-counting order, shape ``(2**n_sites, n_sites)`` uint8.

    Row ``k`` is the binary expansion of ``k`` with site 0 as the most significant
    bit; bit 1 means spin +1. This is the order of ``log_probs``.
    """
    codes = np.arange(2**n_sites, dtype=np.int64)
    shifts = np.arange(n_sites - 1, -1, -1, dtype=np.int64)
    return ((codes[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


def state_index(spins01: np.ndarray) -> np.ndarray:
    """Inverse of :func:`all_states01`: ``(n, N)`` {0,1} rows -> ``(n,)`` int64 indices."""
    s = np.asarray(spins01, dtype=np.int64)
    weights = 1 << np.arange(s.shape[-1] - 1, -1, -1, dtype=np.int64)
    return s @ weights


def enumerate_boltzmann(L: int, T: float) -> dict:
    """Exact thermodynamics of the L x L torus by summing all 2^(L*L) states.

    Returns a dict with keys
      ``log_Z`` (float), ``energy_per_site`` <E>/N, ``abs_magnetization_per_site`` <|M|>/N,
      ``magnetization_sq_per_site`` <M^2>/N^2,
      ``specific_heat_per_site`` (<E^2>-<E>^2)/(N T^2),
      ``susceptibility_per_site`` (<M^2>-<|M|>^2)/(N T)  -- the |M| convention used for
      finite-size Monte Carlo, where <M> = 0 exactly by symmetry,
      ``susceptibility_m2_per_site`` <M^2>/(N T)  -- the <M>=0 (symmetric) convention,
      ``log_probs`` (2^N,) float64 log Boltzmann probabilities in :func:`all_states01` order,
      ``energies`` (2^N,) float64 and ``magnetizations`` (2^N,) float64 per state,
      plus ``L``, ``T``, ``N``.
    """
    L = validate_size(L)
    T = validate_temperature(T)
    if L > MAX_ENUMERATION_L:
        raise ValueError(f"enumeration is limited to L <= {MAX_ENUMERATION_L} (2^16 states), got L={L}")
    n = L * L
    s = all_states01(n).astype(np.int8) * 2 - 1  # (2^N, N) in {-1, +1}
    nbr = neighbour_table(L)
    s64 = s.astype(np.int64)
    energies = -(s64 * (s64[:, nbr[:, RIGHT]] + s64[:, nbr[:, DOWN]])).sum(axis=1).astype(np.float64)
    mags = s64.sum(axis=1).astype(np.float64)

    log_w = -energies / T
    log_z = float(logsumexp(log_w))
    log_probs = log_w - log_z
    p = np.exp(log_probs)

    e_mean = float(p @ energies)
    e_var = float(p @ (energies - e_mean) ** 2)
    abs_m = float(p @ np.abs(mags))
    m2 = float(p @ mags**2)
    return {
        "L": L,
        "T": T,
        "N": n,
        "log_Z": log_z,
        "energy_per_site": e_mean / n,
        "abs_magnetization_per_site": abs_m / n,
        "magnetization_sq_per_site": m2 / n**2,
        "specific_heat_per_site": e_var / (n * T**2),
        "susceptibility_per_site": (m2 - abs_m**2) / (n * T),
        "susceptibility_m2_per_site": m2 / (n * T),
        "log_probs": log_probs,
        "energies": energies,
        "magnetizations": mags,
    }
