"""LRU of loaded models in one process. Stored models never change (a new training makes a new
model), so an entry keyed by model id and weights key is never stale."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from app.rbm.device import resolve_device
from app.rbm.io import from_safetensors_bytes
from app.rbm.model import RBM
from app.storage.artifacts import ArtifactStore


class ModelCache:
    def __init__(self, store: ArtifactStore, capacity: int, device: str) -> None:
        self.store = store
        self.capacity = capacity
        self.device_name = device
        self._device: torch.device | None = None
        self._entries: OrderedDict[str, RBM] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self.device_name)
        return self._device

    def get(self, weights_key: str) -> RBM:
        with self._lock:
            model = self._entries.get(weights_key)
            if model is not None:
                self._entries.move_to_end(weights_key)
                return model
        model, _ = from_safetensors_bytes(self.store.get_bytes(weights_key))
        model = model.to(device=self.device)
        with self._lock:
            self._entries[weights_key] = model
            self._entries.move_to_end(weights_key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return model

    def forget(self, weights_key: str) -> None:
        with self._lock:
            self._entries.pop(weights_key, None)

    def __len__(self) -> int:
        return len(self._entries)
