"""Thermodynamic observables, with error bars, from {0,1}-encoded Ising samples.

Why: the same code measures MCMC samples and samples drawn from a trained RBM,
so inputs are the RBM's visible encoding: ``(n, L*L)`` arrays with 1 = spin +1,
row-major sites. Energies use the bond convention of :mod:`app.physics.lattice`
but are computed here independently with ``np.roll`` on the ``(n, L, L)`` grid.

Error bars: means (energy, |m|) use log2 blocking with automatic level choice
(:func:`app.physics.blocking.blocking_analysis`); the specific heat and the
susceptibilities are non-linear in the means and get a jackknife over bins whose
length is the largest blocking length chosen for the series they are built from.
Samples are assumed to be in time order per chain (as :func:`sample_ising` returns
them); for independent samples any order is fine.
"""

from __future__ import annotations

import numpy as np

from app.physics.blocking import blocking_analysis, jackknife_blocked


def _as_grid(spins01: np.ndarray, L: int) -> np.ndarray:
    """``(n, L*L)`` {0,1} -> ``(n, L, L)`` int8 in {-1, +1}, validating shape and values."""
    x = np.asarray(spins01)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != L * L:
        raise ValueError(f"spins01 must have shape (n, {L * L}) for L={L}, got {np.shape(spins01)}")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("spins01 must contain only 0 and 1")
    return (x.astype(np.int8) * 2 - 1).reshape(-1, L, L)


def ising_energy(spins01: np.ndarray, L: int) -> np.ndarray:
    """Total energy H = -sum_i s_i (s_right + s_down) of each row, shape ``(n,)`` float64."""
    s = _as_grid(spins01, L)
    bonds = s * (np.roll(s, -1, axis=2) + np.roll(s, -1, axis=1))  # int8 in [-2, 2]
    return -bonds.sum(axis=(1, 2), dtype=np.int64).astype(np.float64)


def magnetization(spins01: np.ndarray) -> np.ndarray:
    """Total magnetisation sum_i s_i = 2 * (#ones) - N of each row, shape ``(n,)`` float64."""
    x = np.asarray(spins01)
    if x.ndim == 1:
        x = x[None, :]
    ones = x.sum(axis=1, dtype=np.int64)
    return (2 * ones - x.shape[1]).astype(np.float64)


def ising_observables(spins01: np.ndarray, L: int, T: float) -> dict:
    """Per-site observables of ``(n, L*L)`` samples at temperature ``T``.

    Returns a dict of floats:
      ``energy_per_site`` <E>/N, ``abs_magnetization_per_site`` <|M|>/N,
      ``specific_heat_per_site`` (<E^2> - <E>^2) / (N T^2),
      ``susceptibility_per_site`` (<M^2> - <|M|>^2) / (N T)  (finite-size |M| convention),
      ``susceptibility_m2_per_site`` <M^2> / (N T)  (symmetric <M> = 0 convention),
    each with ``<key>_error``; plus ``n_samples``, ``L``, ``T`` and the chosen
    ``energy_block_size`` / ``magnetization_block_size``.
    """
    if T <= 0:
        raise ValueError(f"T must be > 0, got {T}")
    e = ising_energy(spins01, L)
    m = magnetization(spins01)
    n = e.size
    if n < 2:
        raise ValueError("need at least 2 samples for error bars")
    N = L * L
    # scale to per-site quantities first so sums of squares stay O(1)
    e_s, am_s = e / N, np.abs(m) / N
    be = blocking_analysis(e_s)
    be2 = blocking_analysis(e_s**2)
    bm = blocking_analysis(am_s)
    bm2 = blocking_analysis(am_s**2)
    b_heat = max(be.block_size, be2.block_size)
    b_chi = max(bm.block_size, bm2.block_size)

    def heat(means: np.ndarray) -> np.ndarray:  # means (..., 2) of e/N and (e/N)^2
        return N * (means[..., 1] - means[..., 0] ** 2) / T**2

    def chi_abs(means: np.ndarray) -> np.ndarray:  # means (..., 2) of |m|/N and (m/N)^2
        return N * (means[..., 1] - means[..., 0] ** 2) / T

    def chi_m2(means: np.ndarray) -> np.ndarray:
        return N * means[..., 1] / T

    c, c_err = jackknife_blocked(heat, np.stack([e_s, e_s**2], axis=1), b_heat)
    mags = np.stack([am_s, am_s**2], axis=1)
    x, x_err = jackknife_blocked(chi_abs, mags, b_chi)
    x2, x2_err = jackknife_blocked(chi_m2, mags, b_chi)
    return {
        "L": L,
        "T": float(T),
        "n_samples": n,
        "energy_per_site": be.mean,
        "energy_per_site_error": be.error,
        "abs_magnetization_per_site": bm.mean,
        "abs_magnetization_per_site_error": bm.error,
        "specific_heat_per_site": c,
        "specific_heat_per_site_error": c_err,
        "susceptibility_per_site": x,
        "susceptibility_per_site_error": x_err,
        "susceptibility_m2_per_site": x2,
        "susceptibility_m2_per_site_error": x2_err,
        "energy_block_size": be.block_size,
        "magnetization_block_size": bm.block_size,
    }
