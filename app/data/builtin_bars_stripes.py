"""Built-in "bars-and-stripes": the classic n x n toy set for RBMs.

A pattern fills whole columns ("bars") or whole rows ("stripes") of an n x n
grid. There are 2^n bar patterns and 2^n stripe patterns; the all-0 and all-1
grids are both, so there are 2^(n+1) - 2 distinct patterns (n=4: 30).
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
from pydantic import Field

from app.data.builtin_base import BuiltinData, BuiltinParams, seed_field


class BarsAndStripesParams(BuiltinParams):
    """Parameters of the "bars-and-stripes" data set."""

    n: int = Field(4, ge=2, le=5, description="Grid side; visible units = n*n.", examples=[4])
    n_samples: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Number of samples; omit to get every distinct pattern exactly once.",
        examples=[None, 1000],
    )
    sampling: Literal["balanced", "iid"] = Field(
        "balanced",
        description='How n_samples are drawn: "balanced" = every pattern n_samples // K times plus a '
        'random distinct remainder (near-uniform counts), "iid" = independent uniform draws. Shuffled.',
        examples=["balanced"],
    )
    seed: int = seed_field()


def bars_and_stripes_patterns(n: int) -> np.ndarray:
    """All distinct n x n bars-and-stripes patterns, uint8 ``(2^(n+1) - 2, n*n)``, sorted lexicographically."""
    rows = []
    for bits in itertools.product((0, 1), repeat=n):
        line = np.array(bits, dtype=np.uint8)
        rows.append(np.tile(line, (n, 1)).reshape(-1))  # bars: column j on iff bits[j]
        rows.append(np.repeat(line, n).reshape(-1))  # stripes: row i on iff bits[i]
    return np.unique(np.stack(rows), axis=0)


def empirical_log_likelihood(x: np.ndarray) -> float:
    """Mean log-probability of the rows of ``x`` under their own empirical distribution.

    This is the best mean log-likelihood per sample any model can reach on ``x``:
    sum_v p(v) log p(v) with p the empirical frequencies (= -log K for K equiprobable patterns).
    """
    _, counts = np.unique(x, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(np.sum(p * np.log(p)))


def load_bars_and_stripes(p: BarsAndStripesParams) -> BuiltinData:
    """``(K or n_samples, n*n)`` binary float32 data; image_shape (n, n)."""
    patterns = bars_and_stripes_patterns(p.n)
    k = len(patterns)
    if p.n_samples is None:
        idx = np.arange(k)
    else:
        rng = np.random.default_rng(p.seed)
        if p.sampling == "iid":
            idx = rng.integers(0, k, size=p.n_samples)
        else:
            reps, rest = divmod(p.n_samples, k)
            idx = np.concatenate([np.tile(np.arange(k), reps), rng.choice(k, size=rest, replace=False)])
            rng.shuffle(idx)
    train = patterns[idx].astype(np.float32)
    info = {
        "n_distinct_patterns": int(k),
        "n_bar_patterns": 2**p.n,
        "n_stripe_patterns": 2**p.n,
        "n_patterns_both": 2,  # all-0 and all-1
        "n_distinct_in_data": int(len(np.unique(train, axis=0))),
        "optimal_log_likelihood": empirical_log_likelihood(train),
        "uniform_log_likelihood": -math.log(k),
    }
    return BuiltinData(
        train=train,
        test=None,
        value_type="binary",
        image_shape=(p.n, p.n),
        info=info,
        canonical_params=p.model_dump(mode="json"),
    )
