"""Linear probe: how linearly separable the classes are in a representation.

A multinomial logistic regression (scikit-learn, L-BFGS) is fitted on features of training rows
and scored (accuracy) on test rows; the same probe on the raw inputs is the baseline. Bounded:
at most ``max_rows`` rows of each side (a seeded subsample) and ``max_iter`` iterations.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

#: Share of the training rows held out for scoring when a dataset has no labelled test split.
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class ProbeSplit:
    """Row indices of the fit and score sides; ``scored_on`` names where the score rows come from."""

    fit: np.ndarray
    score: np.ndarray
    scored_on: str  # "test" or "train-holdout"


def probe_rows(n_train: int, n_test: int | None, max_rows: int, seed: int) -> ProbeSplit:
    """Which rows fit and which score: the test split if there is one, else a seeded 20 % holdout
    of the training rows; each side subsampled to ``max_rows``."""
    rng = np.random.default_rng(seed)
    if n_test:
        fit, score, where = np.arange(n_train), np.arange(n_test), "test"
    else:
        perm = rng.permutation(n_train)
        k = max(1, int(round(HOLDOUT_FRACTION * n_train)))
        fit, score, where = np.sort(perm[k:]), np.sort(perm[:k]), "train-holdout"
    if len(fit) > max_rows:
        fit = np.sort(rng.choice(fit, max_rows, replace=False))
    if len(score) > max_rows:
        score = np.sort(rng.choice(score, max_rows, replace=False))
    return ProbeSplit(fit, score, where)


def probe_accuracy(x_fit: np.ndarray, y_fit: np.ndarray, x_score: np.ndarray, y_score: np.ndarray,
                   *, max_iter: int, C: float = 1.0) -> float:
    """Test accuracy of a logistic regression fitted on ``(x_fit, y_fit)``; NaN when the fit side
    has a single class (nothing to learn)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y_fit)) < 2 or len(y_score) == 0:
        return float("nan")
    clf = LogisticRegression(C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(np.asarray(x_fit, dtype=np.float64), y_fit)
    return float((clf.predict(np.asarray(x_score, dtype=np.float64)) == y_score).mean())


def linear_probe(featurize, train: np.ndarray, y_train: np.ndarray, test: np.ndarray | None,
                 y_test: np.ndarray | None, *, max_rows: int, max_iter: int, seed: int = 0,
                 C: float = 1.0) -> dict[str, float | str]:
    """``linear_probe_accuracy`` (on ``featurize(rows)``) and ``linear_probe_accuracy_raw`` (on the
    rows themselves), with the row counts, the scored side and the seconds it took."""
    start = time.perf_counter()
    has_test = test is not None and y_test is not None and len(y_test) > 0
    split = probe_rows(len(train), len(test) if has_test else None, max_rows, seed)
    x_fit, y_fit = train[split.fit], y_train[split.fit]
    src, ys = (test, y_test) if has_test else (train, y_train)
    x_score, y_score = src[split.score], ys[split.score]
    out: dict[str, float | str] = {
        "linear_probe_accuracy": probe_accuracy(featurize(x_fit), y_fit, featurize(x_score), y_score,
                                                max_iter=max_iter, C=C),
        "linear_probe_accuracy_raw": probe_accuracy(x_fit, y_fit, x_score, y_score, max_iter=max_iter, C=C),
        "linear_probe_fit_rows": float(len(split.fit)),
        "linear_probe_score_rows": float(len(split.score)),
        "linear_probe_scored_on": split.scored_on,
    }
    out["linear_probe_seconds"] = time.perf_counter() - start
    return out
