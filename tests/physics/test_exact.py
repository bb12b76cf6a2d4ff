"""Exact references checked against each other and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.physics.ising_exact import (
    T_CRITICAL,
    all_states01,
    enumerate_boltzmann,
    kaufman,
    onsager,
    state_index,
)
from tests.physics.helpers import brute_energy

TEMPS = [0.5, 1.0, 2.0, T_CRITICAL, 2.5, 3.5, 10.0]


def test_state_order_is_binary_counting_site0_msb():
    states = all_states01(4)
    assert states.shape == (16, 4) and states.dtype == np.uint8
    assert states[1].tolist() == [0, 0, 0, 1]
    assert states[8].tolist() == [1, 0, 0, 0]
    np.testing.assert_array_equal(state_index(states), np.arange(16))


@pytest.mark.parametrize("L", [2, 3])
def test_enumeration_matches_loop_energies_and_direct_sums(L):
    T = 1.7
    ex = enumerate_boltzmann(L, T)
    states = all_states01(L * L)
    rng = np.random.default_rng(0)
    for k in rng.choice(states.shape[0], size=min(40, states.shape[0]), replace=False):
        s = (states[k].astype(int) * 2 - 1).reshape(L, L)
        assert ex["energies"][k] == brute_energy(s, L)
        assert ex["magnetizations"][k] == s.sum()
    # log_probs is a normalised distribution in state order
    assert math.isclose(np.exp(ex["log_probs"]).sum(), 1.0, rel_tol=1e-12)
    e = ex["energies"]
    w = np.exp(-e / T)
    assert math.isclose(ex["log_Z"], math.log(w.sum()), rel_tol=1e-12)
    np.testing.assert_allclose(ex["log_probs"], -e / T - math.log(w.sum()), atol=1e-12)


def test_enumeration_ground_state_and_conventions():
    L, T = 4, 0.2
    ex = enumerate_boltzmann(L, T)
    # all-up (last index) and all-down (index 0) are the two ground states, E = -2N
    assert ex["energies"][0] == ex["energies"][-1] == -2 * L * L
    assert math.isclose(ex["log_probs"][-1], math.log(0.5), abs_tol=1e-6)
    assert math.isclose(ex["energy_per_site"], -2.0, abs_tol=1e-6)
    assert math.isclose(ex["abs_magnetization_per_site"], 1.0, abs_tol=1e-6)
    # chi conventions: m2 one = <M^2>/(NT), |M| one subtracts <|M|>^2
    n = L * L
    m2 = ex["magnetization_sq_per_site"] * n**2
    assert math.isclose(ex["susceptibility_m2_per_site"], m2 / (n * T))
    assert math.isclose(
        ex["susceptibility_per_site"], (m2 - (ex["abs_magnetization_per_site"] * n) ** 2) / (n * T)
    )


def test_enumeration_rejects_large_or_bad_input():
    with pytest.raises(ValueError, match="L <= 4"):
        enumerate_boltzmann(5, 1.0)
    with pytest.raises(ValueError, match="T must be"):
        enumerate_boltzmann(3, 0.0)
    with pytest.raises(ValueError, match="L must be"):
        enumerate_boltzmann(1, 1.0)


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("T", TEMPS)
def test_kaufman_equals_enumeration(L, T):
    """Kaufman's formula holds for odd L too (L = 3 included)."""
    ex, ka = enumerate_boltzmann(L, T), kaufman(L, T)
    assert ka["log_Z"] == pytest.approx(ex["log_Z"], rel=1e-12)
    assert ka["energy_per_site"] == pytest.approx(ex["energy_per_site"], rel=1e-10, abs=1e-12)
    assert ka["specific_heat_per_site"] == pytest.approx(ex["specific_heat_per_site"], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("L", [8, 16, 33])
@pytest.mark.parametrize("T", [1.0, T_CRITICAL, 3.0])
def test_kaufman_derivatives_match_finite_differences(L, T):
    h = 1e-4
    lz = [kaufman(L, T + d)["log_Z"] for d in (-2 * h, -h, h, 2 * h)]
    # d logZ / dT = <E> / T^2, 4th-order central difference
    dlogz_dt = (lz[0] - 8 * lz[1] + 8 * lz[2] - lz[3]) / (12 * h)
    ka = kaufman(L, T)
    assert ka["energy_per_site"] == pytest.approx(dlogz_dt * T**2 / (L * L), rel=1e-7)
    e = [kaufman(L, T + d)["energy_per_site"] for d in (-2 * h, -h, h, 2 * h)]
    de_dt = (e[0] - 8 * e[1] + 8 * e[2] - e[3]) / (12 * h)
    assert ka["specific_heat_per_site"] == pytest.approx(de_dt, rel=1e-7)


def test_kaufman_is_finite_for_large_lattices_and_extreme_temperatures():
    for L, T in [(256, 0.1), (256, 50.0), (128, T_CRITICAL), (512, 5.0)]:
        ka = kaufman(L, T)
        assert all(math.isfinite(ka[k]) for k in ("log_Z", "energy_per_site", "specific_heat_per_site"))


@pytest.mark.parametrize("T", [1.0, 1.5, 2.0, 3.0, 5.0])
def test_kaufman_approaches_onsager_away_from_tc(T):
    on = onsager(T)
    assert kaufman(64, T)["energy_per_site"] == pytest.approx(on["energy_per_site"], abs=1e-8)
    assert kaufman(128, T)["specific_heat_per_site"] == pytest.approx(on["specific_heat_per_site"], abs=1e-8)
    assert kaufman(256, T)["free_energy_per_site"] == pytest.approx(on["free_energy_per_site"], abs=1e-4)


def test_kaufman_energy_converges_to_onsager_at_tc():
    gaps = [abs(kaufman(L, T_CRITICAL)["energy_per_site"] + math.sqrt(2)) for L in (16, 32, 64, 128)]
    assert all(b < a for a, b in zip(gaps, gaps[1:]))
    # finite-size correction of the critical energy is O(1/L)
    assert gaps[-1] < 0.005 and gaps[0] / gaps[-1] == pytest.approx(8, rel=0.05)


def test_onsager_at_tc():
    on = onsager(T_CRITICAL)
    assert on["energy_per_site"] == pytest.approx(-math.sqrt(2), abs=1e-12)
    assert on["magnetization_per_site"] == 0.0
    assert T_CRITICAL == pytest.approx(2.269185314213022, abs=1e-14)
    # specific heat diverges logarithmically
    assert onsager(T_CRITICAL * (1 + 1e-6))["specific_heat_per_site"] > onsager(T_CRITICAL * 1.01)[
        "specific_heat_per_site"
    ] > 1.0


@pytest.mark.parametrize("T", [0.8, 1.5, 2.1, 2.4, 3.0, 6.0])
def test_onsager_heat_is_derivative_of_energy(T):
    h = 1e-5
    de = (onsager(T + h)["energy_per_site"] - onsager(T - h)["energy_per_site"]) / (2 * h)
    assert onsager(T)["specific_heat_per_site"] == pytest.approx(de, rel=1e-6)


def test_onsager_limits_and_magnetization():
    assert onsager(0.05)["energy_per_site"] == pytest.approx(-2.0, abs=1e-12)
    assert onsager(1000.0)["energy_per_site"] == pytest.approx(-2 * math.tanh(1e-3), rel=1e-3)
    assert onsager(1.0)["magnetization_per_site"] == pytest.approx((1 - math.sinh(2.0) ** -4) ** 0.125)
    assert onsager(2.0)["magnetization_per_site"] == pytest.approx(0.911319, abs=1e-6)
    assert onsager(2.3)["magnetization_per_site"] == 0.0
