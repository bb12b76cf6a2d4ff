"""Arrays behind a dataset row, for the worker and for inference that starts from data.

Uploads live in the artifact store; built-ins are regenerated from their stored parameters
(deterministic given the seed), so nothing large is copied between machines."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np

from app.data.builtin import BuiltinData, load_builtin
from app.db.tables import Dataset
from app.storage.artifacts import ArtifactStore

_BUILTIN_CACHE: OrderedDict[str, BuiltinData] = OrderedDict()
_BUILTIN_CACHE_SIZE = 4
_lock = threading.Lock()


def _key(name: str, params: dict) -> str:
    return json.dumps([name, params], sort_keys=True)


def builtin_data(name: str, params: dict) -> BuiltinData:
    """``load_builtin`` with a small in-process cache (regenerating Ising samples takes seconds)."""
    with _lock:
        hit = _BUILTIN_CACHE.get(_key(name, params))
        if hit is not None:
            _BUILTIN_CACHE.move_to_end(_key(name, params))
            return hit
    data = load_builtin(name, params)
    remember_builtin(name, params, data)
    return data


def remember_builtin(name: str, params: dict, data: BuiltinData) -> None:
    """Keep freshly generated data under its canonical parameters, the key later reads use."""
    key = _key(name, params)
    with _lock:
        _BUILTIN_CACHE[key] = data
        _BUILTIN_CACHE.move_to_end(key)
        while len(_BUILTIN_CACHE) > _BUILTIN_CACHE_SIZE:
            _BUILTIN_CACHE.popitem(last=False)


def dataset_arrays(dataset: Dataset, store: ArtifactStore, mmap: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(train, test) float32 arrays of a dataset; test may be None.

    ``mmap=False`` reads uploaded arrays into private memory: a training job keeps its data for
    the whole run, and a private copy is then the only copy (a memory map plus the writable
    float32 copy torch needs would hold the data twice)."""
    if dataset.source == "builtin":
        assert dataset.builtin is not None
        data = builtin_data(dataset.builtin, dataset.params or {})
        return data.train, data.test
    assert dataset.train_key is not None
    train = store.get_array(dataset.train_key, mmap=mmap)
    test = store.get_array(dataset.test_key, mmap=mmap) if dataset.test_key else None
    return train, test


def dataset_labels(dataset: Dataset, store: ArtifactStore) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(train, test) int64 class labels of a dataset, each None where it has none. For features and
    probes only: the training path never reads them."""
    if dataset.n_classes is None:
        return None, None
    if dataset.source == "builtin":
        assert dataset.builtin is not None
        data = builtin_data(dataset.builtin, dataset.params or {})
        return data.labels, data.test_labels
    train = store.get_array(dataset.labels_key) if dataset.labels_key else None
    test = store.get_array(dataset.test_labels_key) if dataset.test_labels_key else None
    return train, test
