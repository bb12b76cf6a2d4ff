"""LRU of loaded models in one process. Stored models never change (a new training makes a new
model), so an entry keyed by model id and weights key is never stale.

Bounded twice: at most ``capacity`` models and at most ``max_bytes`` of tensors (a 784x500 model
is 1.6 MB, a 10,000 x 5,000 one 200 MB, so a count alone does not bound memory). The model just
loaded always stays, even when it alone is bigger than ``max_bytes``."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from app.rbm.dbn import DBN
from app.rbm.dbn_io import load_any
from app.rbm.device import resolve_device
from app.rbm.model import RBM
from app.storage.artifacts import ArtifactStore


def model_bytes(model: RBM | DBN) -> int:
    return sum(t.numel() * t.element_size() for t in model.parameters().values())


class ModelCache:
    def __init__(self, store: ArtifactStore, capacity: int, device: str, max_bytes: int | None = None) -> None:
        self.store = store
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._bytes: dict[str, int] = {}
        self.device_name = device
        self._device: torch.device | None = None
        self._entries: OrderedDict[str, RBM | DBN] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.hits = 0  # lookups answered from memory (including ones that waited for a shared load)
        self.misses = 0  # lookups that loaded weights from the store (app.metrics reads both)

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self.device_name)
        return self._device

    def get(self, weights_key: str) -> RBM | DBN:
        """The loaded model; concurrent first requests for one model wait for a single load
        (32 clients hitting a cold 64 MB model would otherwise load it 32 times, each request
        with its own copy, which also defeats micro-batching: it batches per model object)."""
        with self._lock:
            model = self._hit(weights_key)
            if model is not None:
                return model
            loading = self._loading.setdefault(weights_key, threading.Lock())
        with loading:
            with self._lock:
                model = self._hit(weights_key)
                if model is not None:
                    return model
            try:
                model, _ = load_any(self.store.get_bytes(weights_key))
                model = model.to(device=self.device)
                self._insert(weights_key, model)
                self.misses += 1
            finally:
                with self._lock:
                    self._loading.pop(weights_key, None)
        return model

    def _hit(self, weights_key: str) -> RBM | DBN | None:
        model = self._entries.get(weights_key)
        if model is not None:
            self._entries.move_to_end(weights_key)
            self.hits += 1
        return model

    def _insert(self, weights_key: str, model: RBM | DBN) -> None:
        with self._lock:
            self._entries[weights_key] = model
            self._entries.move_to_end(weights_key)
            self._bytes[weights_key] = model_bytes(model)
            while len(self._entries) > 1 and (len(self._entries) > self.capacity or self._over_budget()):
                key, _ = self._entries.popitem(last=False)
                self._bytes.pop(key, None)

    def _over_budget(self) -> bool:
        return self.max_bytes is not None and self.nbytes > self.max_bytes

    @property
    def nbytes(self) -> int:
        """Bytes of the tensors of the models held now."""
        return sum(self._bytes.values())

    def forget(self, weights_key: str) -> None:
        with self._lock:
            self._entries.pop(weights_key, None)
            self._bytes.pop(weights_key, None)

    def __len__(self) -> int:
        return len(self._entries)
