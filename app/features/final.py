"""The linear probe every RBM or DBN job on a labelled dataset reports as final metrics."""

from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable

import numpy as np

from app.core.settings import Settings
from app.datasets.arrays import dataset_arrays, dataset_labels
from app.db.tables import Dataset
from app.features.probe import linear_probe
from app.storage.artifacts import ArtifactStore

log = logging.getLogger(__name__)


def final_probe(dataset: Dataset, store: ArtifactStore, settings: Settings,
                featurize: Callable[[np.ndarray], np.ndarray], seed: int = 0) -> dict[str, Any]:
    """``linear_probe_accuracy`` (top features) and ``linear_probe_accuracy_raw`` (inputs), fitted on
    the training split and scored on the test split (or a 20 % holdout of training rows where the
    dataset has no labelled test split); {} for an unlabelled dataset. Bounded by
    RBM_PROBE_MAX_ROWS rows per side and RBM_PROBE_MAX_ITER iterations."""
    y_train, y_test = dataset_labels(dataset, store)
    if y_train is None:
        return {}
    train, test = dataset_arrays(dataset, store)
    if test is None or y_test is None:
        test, y_test = None, None
    try:
        out = linear_probe(featurize, np.asarray(train), np.asarray(y_train),
                           None if test is None else np.asarray(test), y_test,
                           max_rows=settings.probe_max_rows, max_iter=settings.probe_max_iter, seed=seed)
    except (ValueError, MemoryError) as exc:  # a probe is a report, never a reason to fail the job
        log.warning("linear probe failed: %s", exc)
        return {"linear_probe_error": f"{type(exc).__name__}: {exc}"}
    log.info("linear probe: %.4f on features, %.4f on inputs (%s, %.1f s)", out["linear_probe_accuracy"],
             out["linear_probe_accuracy_raw"], out["linear_probe_scored_on"], out["linear_probe_seconds"])
    return out
