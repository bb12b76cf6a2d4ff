"""Error bars for correlated Monte Carlo time series.

Why: consecutive MCMC samples are correlated, so the naive sigma/sqrt(n) is too
small. Two tools:

* :func:`blocking_analysis` -- log2 blocking (Flyvbjerg & Petersen 1989) with the
  automatic, hypothesis-test choice of level from Jonsson, Phys. Rev. E 98,
  043304 (2018): at level k the series is averaged in pairs k times; the chosen
  level is the first j for which the lag-1 autocorrelations of all levels >= j
  are consistent with zero (statistic M_j below the 99% chi^2 quantile).
  Odd lengths drop their last point at each halving, so any n >= 2 works.
* :func:`jackknife_blocked` -- jackknife over bins of a given size, for
  non-linear estimators such as the specific heat (<E^2> - <E>^2) that have
  no per-sample values to block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2


@dataclass(frozen=True)
class BlockingResult:
    """Mean of a series with its blocking error bar; ``block_size`` = 2**level chosen."""

    mean: float
    error: float
    block_size: int
    n_blocks: int


def blocking_analysis(x: np.ndarray, *, confidence: float = 0.99) -> BlockingResult:
    """Mean and standard error of a correlated 1-D series ``x`` of shape ``(n,)``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        raise ValueError("blocking_analysis needs at least one sample")
    mean = float(x.mean())
    if n < 2:
        return BlockingResult(mean, float("nan"), 1, n)
    sizes, variances, lag1 = [], [], []
    y = x
    while y.size >= 2:
        m = y.size
        d = y - y.mean()
        sizes.append(m)
        variances.append(float(d @ d) / m)  # biased variance, as in Jonsson (2018)
        lag1.append(float(d[:-1] @ d[1:]) / m)
        y = 0.5 * (y[0 : m - m % 2 : 2] + y[1 : m - m % 2 : 2])
    n_k = np.array(sizes, dtype=np.float64)
    s2 = np.array(variances)
    g = np.array(lag1)
    if s2[0] == 0.0:  # constant series: no fluctuation at all
        return BlockingResult(mean, 0.0, 1, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = n_k * ((n_k - 1.0) * s2 / n_k**2 + g) ** 2 / s2**2
    terms = np.nan_to_num(terms, nan=0.0, posinf=0.0)
    tail_sums = np.cumsum(terms[::-1])[::-1]  # M_j = sum_{k >= j} terms_k
    depth = terms.size
    level = depth - 1
    for j in range(depth):
        if tail_sums[j] < chi2.ppf(confidence, depth - j):
            level = j
            break
    # standard error of the mean from level j: var_j / (n_j - 1) (unbiased)
    err = float(np.sqrt(s2[level] / max(n_k[level] - 1.0, 1.0)))
    return BlockingResult(mean, err, 2**level, int(n_k[level]))


def jackknife_blocked(
    estimator: Callable[[np.ndarray], np.ndarray],
    data: np.ndarray,
    block_size: int,
    *,
    min_bins: int = 16,
) -> tuple[float, float]:
    """Value and jackknife error of ``estimator`` applied to column means of ``data``.

    data: ``(n, k)`` per-sample quantities (e.g. columns E and E^2).
    estimator: maps means of shape ``(..., k)`` to values of shape ``(...)``.
    block_size: bin length; reduced if needed to keep at least ``min_bins`` bins.
    The value is the estimator of the full-sample means; the error is
    sqrt((B-1)/B sum_b (theta_b - theta_bar)^2) over the B leave-one-bin-out estimates.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"data must have shape (n, k), got {data.shape}")
    n = data.shape[0]
    value = float(estimator(data.mean(axis=0)))
    b = max(1, min(int(block_size), n // min_bins))
    n_bins = n // b
    if n_bins < 2:
        return value, float("nan")
    bins = data[: n_bins * b].reshape(n_bins, b, -1).mean(axis=1)  # (B, k)
    loo = (bins.sum(axis=0) - bins) / (n_bins - 1)  # (B, k) leave-one-out means
    theta = np.asarray(estimator(loo), dtype=np.float64)
    err = float(np.sqrt((n_bins - 1) / n_bins * np.sum((theta - theta.mean()) ** 2)))
    return value, err
