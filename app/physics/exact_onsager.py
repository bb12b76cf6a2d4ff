"""Onsager's and Yang's exact results for the infinite 2D square-lattice Ising model.

Why: the L -> infinity limit that finite-size exact results (Kaufman) and large-L
Monte Carlo must approach. J = 1, k_B = 1, K = 1/T, modulus k = 2 sinh 2K / cosh^2 2K.

  energy per site    u = -coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(k)]
  specific heat      c = -K^2 du/dK, differentiated analytically (dK(k)/dk = E/(k(1-k^2)) - K/k)
  magnetisation      m = (1 - sinh(2K)^-4)^(1/8) for T < T_c, else 0 (Yang 1952)
  free energy        -f/T = ln(2 cosh 2K) + (1/2pi) int_0^pi ln[(1 + sqrt(1 - k^2 sin^2 phi)) / 2] dphi

K(k), E(k) are complete elliptic integrals (scipy's ellipk/ellipe take m = k^2).
At T_c exactly u = -sqrt 2 (the divergent K(k) is multiplied by zero) and c = +inf.
Near T_c the cancelling factors are rewritten in closed form (1 - k^2 =
(sinh 2K - 1)^2 (cosh^2 2K + 2 sinh 2K) / cosh^4 2K, and K(k) via ``ellipkm1``) so
that no precision is lost to 1 - k^2.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import ellipe, ellipkm1

from app.physics.lattice import T_CRITICAL, validate_temperature


def onsager(T: float) -> dict:
    """Exact per-site thermodynamics of the infinite lattice at temperature ``T``.

    Returns a dict with keys ``energy_per_site``, ``magnetization_per_site``
    (spontaneous, >= 0), ``specific_heat_per_site`` (inf at T_c),
    ``free_energy_per_site``, and ``T``.
    """
    T = validate_temperature(T)
    K = 1.0 / T
    s2, c2, t2 = math.sinh(2 * K), math.cosh(2 * K), math.tanh(2 * K)
    k = 2.0 * s2 / c2**2  # elliptic modulus, <= 1 with equality only at T_c
    one_minus_m = (s2 - 1.0) ** 2 * (c2**2 + 2.0 * s2) / c2**4  # 1 - k^2 without cancellation
    at_tc = one_minus_m == 0.0
    m_k = 1.0 - one_minus_m
    kk = float(ellipkm1(one_minus_m))  # K(k), inf at T_c
    ek = float(ellipe(m_k))  # E(k), 1 at T_c
    slope = (s2 - 1.0) * (s2 + 1.0) / c2**2  # 2 tanh^2 2K - 1, vanishes at T_c

    ellipk_term = 0.0 if at_tc else slope * kk
    energy = -(1.0 / t2) * (1.0 + (2.0 / math.pi) * ellipk_term)
    if at_tc:
        heat = math.inf
    else:
        # du/dK = 2/sinh^2(2K) [1 + (2/pi) s K] - coth(2K) (2/pi) [s' K + s dK/dk dk/dK]
        # with s = slope, s' = 8 tanh 2K / cosh^2 2K, dk/dK = -4 s / cosh 2K and
        # s^2 / (1 - k^2) = (sinh 2K + 1)^2 / (cosh^2 2K + 2 sinh 2K) (finite at T_c).
        d_slope = 8.0 * t2 / c2**2
        s2_over = (s2 + 1.0) ** 2 / (c2**2 + 2.0 * s2)
        s_dkk = -(4.0 / c2) * (s2_over * ek / k - slope**2 * kk / k)
        du_dk = (2.0 / s2**2) * (1.0 + (2.0 / math.pi) * ellipk_term) - (1.0 / t2) * (2.0 / math.pi) * (
            d_slope * kk + s_dkk
        )
        heat = -(K**2) * du_dk
    mag = (1.0 - s2**-4) ** 0.125 if T < T_CRITICAL else 0.0

    def integrand(phi: float) -> float:
        return math.log((1.0 + math.sqrt(max(0.0, 1.0 - m_k * math.sin(phi) ** 2))) / 2.0)

    integral, _ = quad(integrand, 0.0, math.pi, limit=200)
    minus_beta_f = math.log(2.0 * c2) + integral / (2.0 * math.pi)
    return {
        "T": T,
        "energy_per_site": energy,
        "magnetization_per_site": mag,
        "specific_heat_per_site": heat,
        "free_energy_per_site": -T * minus_beta_f,
    }


def onsager_energy(T: np.ndarray | float) -> np.ndarray:
    """Vectorised Onsager energy per site for an array of temperatures, same shape as ``T``."""
    return np.vectorize(lambda t: onsager(t)["energy_per_site"], otypes=[float])(T)
