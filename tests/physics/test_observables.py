"""Blocking error bars and the {0,1}-encoded observable helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.physics.blocking import blocking_analysis, jackknife_blocked
from app.physics.ising_exact import all_states01, enumerate_boltzmann
from app.physics.observables import ising_energy, ising_observables, magnetization
from tests.physics.helpers import brute_energy


def test_blocking_on_iid_data_equals_naive_error():
    x = np.random.default_rng(3).normal(size=2**15)
    res = blocking_analysis(x)
    naive = x.std(ddof=1) / math.sqrt(x.size)
    assert res.block_size == 1
    assert res.error == pytest.approx(naive, rel=1e-9)
    assert res.mean == pytest.approx(x.mean())


@pytest.mark.parametrize("rho", [0.6, 0.95])
def test_blocking_recovers_ar1_error(rho):
    """AR(1): exact standard error of the mean is sqrt((1+rho)/(1-rho) / n)."""
    rng = np.random.default_rng(4)
    n = 2**17
    noise = rng.normal(size=n) * math.sqrt(1 - rho**2)
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):  # plain loop: ~0.1 s
        x[i] = rho * x[i - 1] + noise[i]
    res = blocking_analysis(x)
    true = math.sqrt((1 + rho) / (1 - rho) / n)
    assert res.block_size > 1
    assert res.error == pytest.approx(true, rel=0.15)
    assert res.error > 1.5 * x.std() / math.sqrt(n)  # well above the naive error (ratio >= 2)


def test_blocking_edge_cases():
    assert blocking_analysis(np.full(100, 2.5)).error == 0.0
    assert math.isnan(blocking_analysis(np.array([1.0])).error)
    with pytest.raises(ValueError):
        blocking_analysis(np.array([]))


def test_jackknife_of_mean_is_standard_error_of_bin_means():
    x = np.random.default_rng(5).normal(size=(1000, 1))
    val, err = jackknife_blocked(lambda m: m[..., 0], x, block_size=10)
    bins = x[:, 0].reshape(100, 10).mean(axis=1)
    assert val == pytest.approx(x.mean())
    assert err == pytest.approx(bins.std(ddof=1) / 10, rel=1e-10)


def test_jackknife_variance_estimator_on_iid_data():
    """Error of the variance of n iid N(0,1) values is sqrt(2/n)."""
    x = np.random.default_rng(6).normal(size=20000)
    val, err = jackknife_blocked(lambda m: m[..., 1] - m[..., 0] ** 2, np.stack([x, x**2], 1), 1)
    assert val == pytest.approx(x.var())
    assert err == pytest.approx(math.sqrt(2 / x.size), rel=0.1)


def test_energy_and_magnetization_helpers_match_loops():
    rng = np.random.default_rng(7)
    for L in (2, 3, 5):
        s01 = rng.integers(0, 2, size=(30, L * L), dtype=np.uint8)
        grid = s01.astype(int).reshape(30, L, L) * 2 - 1
        np.testing.assert_array_equal(ising_energy(s01, L), [brute_energy(g, L) for g in grid])
        np.testing.assert_array_equal(magnetization(s01), grid.sum(axis=(1, 2)))
    # one configuration as a flat vector also works
    assert ising_energy(np.ones(9, dtype=np.uint8), 3).tolist() == [-18.0]


def test_energy_helper_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        ising_energy(np.zeros((2, 8), dtype=np.uint8), 3)
    with pytest.raises(ValueError, match="0 and 1"):
        ising_energy(np.full((2, 9), 2, dtype=np.uint8), 3)


def test_observables_of_exact_iid_samples_match_enumeration():
    """Independent draws from the exact L=3 law: every estimate within 4 error bars."""
    L, T = 3, 2.0
    ex = enumerate_boltzmann(L, T)
    rng = np.random.default_rng(8)
    idx = rng.choice(ex["log_probs"].size, size=40000, p=np.exp(ex["log_probs"]))
    spins = all_states01(L * L)[idx]
    obs = ising_observables(spins, L, T)
    for key in (
        "energy_per_site",
        "abs_magnetization_per_site",
        "specific_heat_per_site",
        "susceptibility_per_site",
        "susceptibility_m2_per_site",
    ):
        err = obs[key + "_error"]
        assert 0 < err < 0.05 * abs(ex[key]) + 0.01, key
        assert abs(obs[key] - ex[key]) < 4 * err, key
