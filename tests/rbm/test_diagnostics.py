"""Diagnostics against processes with known answers: AR(1) (tau = (1+phi)/(1-phi)) and iid draws."""

import numpy as np
import pytest

from app.rbm.diagnostics import diagnose, integrated_time, split_rhat


def ar1(phi: float, chains: int, n: int, seed: int, means=None) -> np.ndarray:
    """(chains, n) stationary AR(1) with unit marginal variance (started from the stationary law)."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, n))
    x[:, 0] = rng.standard_normal(chains)
    noise = rng.standard_normal((chains, n)) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    if means is not None:
        x += np.asarray(means)[:, None]
    return x


@pytest.mark.parametrize("phi", [0.5, 0.8, 0.95])
def test_integrated_time_of_ar1(phi):
    tau_true = (1 + phi) / (1 - phi)
    tau, ok = integrated_time(ar1(phi, 32, 20000, 0))
    assert ok
    assert abs(tau - tau_true) < 0.08 * tau_true, (tau, tau_true)


def test_independent_draws_have_tau_one_rhat_one_full_ess():
    x = np.random.default_rng(1).standard_normal((16, 4000))
    tau, ok = integrated_time(x)
    assert ok and abs(tau - 1.0) < 0.1
    assert abs(split_rhat(x) - 1.0) < 0.01
    d = diagnose(x.T)
    assert d.equilibrated
    assert 0.8 * 16 * 2000 < d.ess < 1.2 * 16 * 2000  # second half analysed


def test_rhat_flags_chains_in_different_modes_and_drift():
    x = ar1(0.5, 8, 2000, 2, means=[0, 0, 0, 0, 3, 3, 3, 3])
    assert split_rhat(x) > 1.5
    assert not diagnose(x.T).equilibrated
    drift = np.random.default_rng(3).standard_normal((8, 2000)) + np.linspace(0, 5, 2000)
    assert split_rhat(drift) > 1.1  # split halves disagree even though the chains agree


def test_rhat_matches_the_textbook_formula():
    x = np.random.default_rng(4).standard_normal((3, 10)) + np.array([[0.0], [0.5], [1.0]])
    halves = np.concatenate([x[:, :5], x[:, 5:]])
    n = 5
    W = halves.var(axis=1, ddof=1).mean()
    B = n * halves.mean(axis=1).var(ddof=1)
    expected = np.sqrt(((n - 1) / n * W + B / n) / W)
    assert split_rhat(x) == pytest.approx(expected)


def test_short_runs_and_long_tau_are_not_equilibrated():
    assert not diagnose(np.random.default_rng(5).standard_normal((3, 8))).equilibrated  # 2 steps
    slow = ar1(0.99, 16, 400, 6).T  # tau ~ 199 > 400 / 20
    d = diagnose(slow)
    assert not d.equilibrated
    fast = ar1(0.5, 16, 400, 6).T  # tau = 3, 400 >= 60
    assert diagnose(fast).equilibrated


def test_interval_scales_tau_to_sweeps():
    x = ar1(0.8, 16, 4000, 7).T
    d1, d5 = diagnose(x), diagnose(x, interval=5)
    assert d5.tau == pytest.approx(5 * d1.tau)
    assert d5.ess == pytest.approx(d1.ess)
