"""MCMC sampler against exact answers (enumeration for L = 3, 4; Kaufman for L = 8, 16)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.physics.ising_exact import T_CRITICAL, enumerate_boltzmann, kaufman
from app.physics.ising_mc import IsingSamples, resolve_algorithm, sample_ising
from app.physics.observables import ising_energy, ising_observables, magnetization

ALGOS = ["metropolis", "swendsen_wang", "wolff"]
N_SIGMA = 4.0  # tolerance in blocking error bars; with fixed seeds the tests are deterministic


def assert_within_error(obs: dict, exact: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        err = obs[key + "_error"]
        assert err > 0, key
        assert abs(obs[key] - exact[key]) < N_SIGMA * err, (
            f"{key}: MC {obs[key]:.5f} +- {err:.5f} vs exact {exact[key]:.5f}"
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(L=1), "L must be"),
        (dict(L=2.5), "L must be"),
        (dict(T=0.0), "T must be"),
        (dict(T=-1.0), "T must be"),
        (dict(T=float("nan")), "T must be"),
        (dict(n_samples=0), "n_samples"),
        (dict(burn_in=-1), "burn_in"),
        (dict(thin=0), "thin"),
        (dict(n_chains=0), "n_chains"),
        (dict(algorithm="heatbath"), "algorithm"),
    ],
)
def test_parameter_validation(kwargs, match):
    args = dict(L=4, T=2.0, n_samples=10) | kwargs
    with pytest.raises(ValueError, match=match):
        sample_ising(args.pop("L"), args.pop("T"), args.pop("n_samples"), **args)


def test_auto_algorithm_choice():
    assert resolve_algorithm("auto", T_CRITICAL) == "swendsen_wang"
    assert resolve_algorithm("auto", 1.8) == resolve_algorithm("auto", 3.0) == "swendsen_wang"
    assert resolve_algorithm("auto", 1.0) == resolve_algorithm("auto", 3.5) == "metropolis"
    assert sample_ising(4, 1.0, 5).algorithm == "metropolis"
    assert sample_ising(4, 2.2, 5).algorithm == "swendsen_wang"


@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("L", [2, 5, 6])
def test_output_layout_and_reported_energy(algorithm, L):
    s = sample_ising(L, 2.1, 37, seed=3, algorithm=algorithm, n_chains=8, burn_in=5, thin=1)
    assert isinstance(s, IsingSamples)
    assert s.spins.shape == (37, L * L) and s.spins.dtype == np.uint8
    assert set(np.unique(s.spins)) <= {0, 1}
    assert s.energy.shape == s.magnetization.shape == (37,)
    assert s.energy.dtype == s.magnetization.dtype == np.float64
    assert (s.L, s.T, s.algorithm, s.n_chains) == (L, 2.1, algorithm, 8)
    # reported values equal an independent recomputation from the {0,1} spins
    np.testing.assert_array_equal(s.energy, ising_energy(s.spins, L))
    np.testing.assert_array_equal(s.magnetization, magnetization(s.spins))


def test_seed_determinism_and_defaults():
    a = sample_ising(6, 2.5, 50, seed=11)
    b = sample_ising(6, 2.5, 50, seed=11)
    c = sample_ising(6, 2.5, 50, seed=12)
    np.testing.assert_array_equal(a.spins, b.spins)
    assert not np.array_equal(a.spins, c.spins)
    assert a.burn_in >= 0 and a.thin >= 1


@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("T", [1.5, T_CRITICAL, 3.5])
def test_sampler_matches_exact_enumeration(algorithm, L, T):
    s = sample_ising(L, T, 20000, seed=1, algorithm=algorithm)
    obs = ising_observables(s.spins, L, T)
    assert_within_error(
        obs,
        enumerate_boltzmann(L, T),
        ("energy_per_site", "abs_magnetization_per_site", "specific_heat_per_site", "susceptibility_per_site"),
    )


def test_algorithms_agree_with_each_other_and_kaufman_at_L8():
    L, T = 8, 2.3
    results = {a: ising_observables(sample_ising(L, T, 8000, seed=5, algorithm=a).spins, L, T) for a in ALGOS}
    assert_within_error(results["swendsen_wang"], kaufman(L, T), ("energy_per_site", "specific_heat_per_site"))
    for a, b in [("metropolis", "wolff"), ("metropolis", "swendsen_wang"), ("wolff", "swendsen_wang")]:
        for key in ("energy_per_site", "abs_magnetization_per_site", "susceptibility_per_site"):
            ra, rb = results[a], results[b]
            sigma = math.hypot(ra[key + "_error"], rb[key + "_error"])
            assert abs(ra[key] - rb[key]) < N_SIGMA * sigma, (a, b, key)


def test_default_sampler_at_tc_L16_matches_kaufman():
    L = 16
    s = sample_ising(L, T_CRITICAL, 10000, seed=0)
    assert s.algorithm == "swendsen_wang"
    assert_within_error(
        ising_observables(s.spins, L, T_CRITICAL), kaufman(L, T_CRITICAL), ("energy_per_site", "specific_heat_per_site")
    )


def test_low_temperature_samples_are_spin_flip_symmetric():
    """Metropolis never tunnels at T = 1, but the global-flip move balances +M and -M."""
    s = sample_ising(8, 1.0, 4000, seed=2)
    frac_up = float(np.mean(s.magnetization > 0))
    assert abs(frac_up - 0.5) < 0.05
    assert np.abs(s.magnetization).mean() / 64 > 0.99
