"""Equilibrium diagnostics of a scalar recorded per chain per sweep (e.g. the free energy).

* **Split R-hat** (Gelman et al., BDA3 section 11.4): each chain's trace is cut in two halves,
  and R-hat = sqrt(var_plus / W) over the 2M half-chains, with W the mean within-chain variance
  and var_plus = (n-1)/n W + B/n. Chains stuck in different modes, or still drifting, give
  R-hat well above 1.
* **Integrated autocorrelation time** tau (Sokal 1997; the emcee estimator): the chain-averaged
  normalised autocovariance rho(t) (each chain about its own mean, by FFT),
  tau(M) = 1 + 2 sum_{t=1}^{M} rho(t), with the window M the smallest one with M >= 5 tau(M).
  For an AR(1) process x_t = phi x_{t-1} + noise, tau = (1 + phi) / (1 - phi).
* **Effective sample size**: ESS = chains x sweeps / tau.

:func:`diagnose` applies them to the second half of a trace (the first half is treated as
warm-up) and decides ``equilibrated`` by the rule in :data:`EQUILIBRIUM_RULE`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: Split R-hat below this counts as converged (Vehtari et al. 2021 recommend 1.01 for final
#: inference; 1.05 is the looser, classic threshold the service uses).
RHAT_MAX = 1.05
#: The run must be at least this many autocorrelation times long.
MIN_TAUS = 20
#: Sokal's window constant: the window M is the smallest with M >= c tau(M).
SOKAL_C = 5.0
#: Fewer recorded sweeps than this in the analysed half: no verdict (equilibrated false).
MIN_ANALYSED = 10

EQUILIBRIUM_RULE = (
    f"split R-hat < {RHAT_MAX} over the second half of the free-energy trace, that half at least "
    f"{MIN_ANALYSED} sweeps long with a Sokal window found inside it, and steps (sweeps run) >= "
    f"{MIN_TAUS} x tau"
)


def split_rhat(x: np.ndarray) -> float:
    """Split R-hat of ``x : (n_chains, n_steps)``; ``nan`` with fewer than 4 steps.

    Constant traces give 1.0 if all half-chains agree, ``inf`` otherwise.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected (n_chains, n_steps), got shape {x.shape}")
    n = x.shape[1] // 2
    if n < 2:
        return float("nan")
    halves = np.concatenate([x[:, :n], x[:, x.shape[1] - n:]], axis=0)
    w = float(halves.var(axis=1, ddof=1).mean())
    b_over_n = float(halves.mean(axis=1).var(ddof=1))
    if w <= 0.0 or not math.isfinite(w):
        return 1.0 if b_over_n <= 0.0 else float("inf")
    var_plus = (n - 1) / n * w + b_over_n
    return math.sqrt(var_plus / w)


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Chain-averaged normalised autocorrelation ``rho(t), t = 0..n-1`` of ``x : (n_chains, n)``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[1]
    y = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(y, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n].mean(axis=0) / n
    if acov[0] <= 0.0:
        return np.concatenate([[1.0], np.zeros(n - 1)])
    return acov / acov[0]


def integrated_time(x: np.ndarray, c: float = SOKAL_C) -> tuple[float, bool]:
    """Integrated autocorrelation time of ``x : (n_chains, n)`` in steps, and whether a Sokal
    window ``M >= c tau(M)`` was found inside the trace (``False``: tau is a lower bound)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        return float("nan"), False
    rho = autocorrelation(x)
    taus = 2.0 * np.cumsum(rho) - 1.0  # taus[M] = 1 + 2 sum_{t=1}^{M} rho(t)
    window = np.arange(len(taus)) >= c * taus
    if window.any():
        m = int(np.argmax(window))
        return float(taus[m]), True
    return float(taus[-1]), False


@dataclass
class Diagnostics:
    """Equilibrium summary of one sample set (see module docs). ``tau`` is in sweeps;
    ``analysed_sweeps`` the length of the second-half window read; ``steps`` the sweeps run."""

    scalar: str
    rhat: float | None
    tau: float | None
    ess: float | None
    n_chains: int
    analysed_sweeps: int
    steps: int
    tau_reliable: bool
    equilibrated: bool
    rule: str = EQUILIBRIUM_RULE

    def to_dict(self) -> dict:
        return asdict(self)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def diagnose(trace: np.ndarray, *, steps: int | None = None, interval: int = 1,
             scalar: str = "free_energy") -> Diagnostics:
    """Diagnostics of ``trace : (n_recorded, n_chains)``, one row every ``interval`` sweeps.

    The first half of the rows is warm-up; R-hat, tau and ESS come from the second half.
    ``steps`` (default ``n_recorded * interval``) is what the run's length is compared with.
    """
    trace = np.asarray(trace, dtype=np.float64)
    if trace.ndim != 2:
        raise ValueError(f"expected a (n_recorded, n_chains) trace, got shape {trace.shape}")
    n_rec, n_chains = trace.shape
    steps = n_rec * interval if steps is None else int(steps)
    half = trace[n_rec // 2:].T  # (chains, n)
    n = half.shape[1]
    if n_chains == 0 or n < 4:
        return Diagnostics(scalar, None, None, None, n_chains, n * interval, steps, False, False)
    rhat = split_rhat(half)
    tau_steps, reliable = integrated_time(half)
    tau_steps = max(tau_steps, 1.0 / n)  # anticorrelated traces: keep tau positive
    tau = tau_steps * interval
    ess = n_chains * n / tau_steps
    ok = (math.isfinite(rhat) and rhat < RHAT_MAX and reliable and n >= MIN_ANALYSED
          and steps >= MIN_TAUS * tau)
    return Diagnostics(scalar, _finite(rhat), _finite(tau), _finite(ess), n_chains, n * interval, steps,
                       reliable, bool(ok))
