"""Kaufman's (1949) exact partition function of the finite L x L Ising torus.

Why: it gives exact finite-size references (log Z, energy, specific heat) for
lattices far beyond enumeration, e.g. to validate samplers at L = 8..64 near T_c.

Formula (Kaufman 1949, in the form of Beale, PRL 76, 78 (1996)), K = 1/T, N = L^2:

    Z = 1/2 (2 sinh 2K)^(N/2) (Z1 + Z2 + Z3 + Z4)
    Z1 = prod_{r=0}^{L-1} 2 cosh(L/2 g_{2r+1}),   Z2 = prod 2 sinh(L/2 g_{2r+1})
    Z3 = prod_{r=0}^{L-1} 2 cosh(L/2 g_{2r}),     Z4 = prod 2 sinh(L/2 g_{2r})
    cosh g_k = cosh 2K coth 2K - cos(pi k / L)  (g_k > 0),   g_0 = 2K + ln tanh K.

g_0 is the only signed gamma: g_0 < 0 above T_c (so Z4 < 0 there), g_0 = 0 at T_c
(Z4 = 0) and g_0 > 0 below T_c. The sum is evaluated as a signed log-sum-exp of the
four log-products, so nothing overflows (L = 256 at T = 0.1 is fine).

Validity: the formula holds for odd L as well as even L; this is checked against
exact enumeration for L = 2, 3, 4 in the tests (agreement ~1e-14 relative). The
torus convention is that of :mod:`app.physics.lattice` (2N bonds, so for L = 2
each neighbouring pair carries two bonds).

Derivatives in K are analytic (first and second derivative of every factor), and
the specific heat is assembled in a centred "mixture variance" form so that the
Z4 term's coth(L g_0 / 2) singularity at T_c cancels algebraically rather than
numerically.
"""

from __future__ import annotations

import math

import numpy as np

from app.physics.lattice import validate_size, validate_temperature


def _log_2cosh(y: np.ndarray) -> np.ndarray:
    a = np.abs(y)
    return a + np.log1p(np.exp(-2.0 * a))


def _log_abs_2sinh(y: np.ndarray) -> np.ndarray:
    a = np.abs(y)
    with np.errstate(divide="ignore"):
        return a + np.log(-np.expm1(-2.0 * a))


def _signed_logsumexp(log_abs: np.ndarray, signs: np.ndarray) -> float:
    """log(sum_i signs_i exp(log_abs_i)) for a positive total; ``log_abs`` may hold -inf."""
    top = float(np.max(log_abs))
    total = float(np.sum(signs * np.exp(log_abs - top)))
    if not total > 0.0:  # Z1 >= |Z2| and Z3 >= |Z4| make the sum positive analytically
        raise ArithmeticError(f"Kaufman sum is not positive ({total!r})")
    return top + math.log(total)


def _gammas(K: float, L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """g_k and its first two K-derivatives for k = 0..2L-1, each shape ``(2L,)``."""
    k = np.arange(2 * L)
    theta = np.pi * k / L
    s2, c2 = math.sinh(2 * K), math.cosh(2 * K)
    # cosh g - 1 written without cancellation: (sinh 2K - 1)^2 / sinh 2K + 2 sin^2(theta/2)
    x = (s2 - 1.0) ** 2 / s2 + 2.0 * np.sin(theta / 2) ** 2
    sinh_g = np.sqrt(x * (x + 2.0))
    cosh_g = 1.0 + x
    g = np.log1p(x + sinh_g)
    dc = 2.0 * c2 * (1.0 - 1.0 / s2**2)
    ddc = 4.0 * s2 - 4.0 / s2 + 8.0 * c2**2 / s2**3
    with np.errstate(divide="ignore", invalid="ignore"):
        dg = dc / sinh_g
        ddg = (ddc - cosh_g * dg**2) / sinh_g
    # k = 0 carries a sign: use the closed form instead of arccosh.
    g[0] = 2.0 * K + math.log(math.tanh(K))
    dg[0] = 2.0 + 2.0 / s2
    ddg[0] = -4.0 * c2 / s2**2
    return g, dg, ddg


def kaufman(L: int, T: float) -> dict:
    """Exact finite-size thermodynamics of the L x L periodic lattice at temperature T.

    Returns a dict with keys ``log_Z`` (float), ``free_energy_per_site`` (-T log Z / N),
    ``energy_per_site`` (<E>/N = -(1/N) d log Z / dK), ``specific_heat_per_site``
    (K^2/N d^2 log Z / dK^2), plus ``L``, ``T``, ``N``.
    """
    L = validate_size(L)
    T = validate_temperature(T)
    K = 1.0 / T
    N = L * L
    a = L / 2.0
    g, dg, ddg = _gammas(K, L)
    s2 = math.sinh(2 * K)

    ag, adg, addg = a * g, a * dg, a * ddg
    odd, even = slice(1, None, 2), slice(2, None, 2)  # even excludes k = 0

    with np.errstate(divide="ignore", invalid="ignore"):
        tanh_o, tanh_e = np.tanh(ag[odd]), np.tanh(ag[even])
        tanh_e0 = math.tanh(ag[0])
        coth_o, coth_e = 1.0 / tanh_o, 1.0 / tanh_e
    # log |Z_i|, first log-derivative D_i and "V_i" = sum of second log-derivatives of factors
    log_p4 = float(_log_abs_2sinh(ag[even]).sum())  # Z4 without its k = 0 factor
    log_terms = np.array(
        [
            _log_2cosh(ag[odd]).sum(),
            _log_abs_2sinh(ag[odd]).sum(),
            _log_2cosh(ag[even]).sum() + float(_log_2cosh(ag[:1])[0]),
            log_p4 + float(_log_abs_2sinh(ag[:1])[0]),
        ]
    )
    signs = np.array([1.0, 1.0, 1.0, math.copysign(1.0, g[0]) if g[0] != 0 else 0.0])
    log_s = _signed_logsumexp(log_terms, signs)
    log_z = math.log(0.5) + 0.5 * N * math.log(2.0 * s2) + log_s

    D = np.array(
        [
            (adg[odd] * tanh_o).sum(),
            (adg[odd] * coth_o).sum(),
            (adg[even] * tanh_e).sum() + adg[0] * tanh_e0,
        ]
    )
    V = np.array(
        [
            (addg[odd] * tanh_o + adg[odd] ** 2 * (1 - tanh_o**2)).sum(),
            (addg[odd] * coth_o + adg[odd] ** 2 * (1 - coth_o**2)).sum(),
            (addg[even] * tanh_e + adg[even] ** 2 * (1 - tanh_e**2)).sum()
            + addg[0] * tanh_e0
            + adg[0] ** 2 * (1 - tanh_e0**2),
        ]
    )
    U4 = float((adg[even] * coth_e).sum())
    V4 = float((addg[even] * coth_e + adg[even] ** 2 * (1 - coth_e**2)).sum())
    w = np.exp(log_terms[:3] - log_s)
    w4 = signs[3] * math.exp(log_terms[3] - log_s) if signs[3] != 0 else 0.0
    wc = math.exp(log_p4 + float(_log_2cosh(ag[:1])[0]) - log_s)  # = w4 * coth(a g0), finite
    q = float(adg[0])

    d_mean = float(w @ D) + w4 * U4 + wc * q
    var = (
        float(w @ ((D - d_mean) ** 2 + V))
        + w4 * ((U4 - d_mean) ** 2 + V4 + q**2)
        + wc * (2.0 * (U4 - d_mean) * q + float(addg[0]))
    )
    dlogz = N / math.tanh(2 * K) + d_mean
    d2logz = -2.0 * N / s2**2 + var
    return {
        "L": L,
        "T": T,
        "N": N,
        "log_Z": log_z,
        "free_energy_per_site": -T * log_z / N,
        "energy_per_site": float(-dlogz / N),
        "specific_heat_per_site": float(K**2 * d2logz / N),
    }
