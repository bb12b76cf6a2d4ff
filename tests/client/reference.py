"""numpy references for a binary RBM's answers, computed from its downloaded weights."""

from __future__ import annotations

import itertools

import numpy as np
from safetensors.numpy import load


class NumpyRBM:
    def __init__(self, safetensors_bytes: bytes) -> None:
        t = load(safetensors_bytes)
        self.w, self.a, self.b = (t[k].astype(np.float64) for k in ("weight", "visible_bias", "hidden_bias"))

    def free_energy(self, v: np.ndarray) -> np.ndarray:
        return -v @ self.a - np.logaddexp(0.0, v @ self.w + self.b).sum(axis=1)

    def hidden(self, v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(v @ self.w + self.b)))

    def reconstruct(self, v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.hidden(v) @ self.w.T + self.a)))

    def all_states(self) -> np.ndarray:
        """Every visible state, unit 0 as the most significant bit (the service's order)."""
        return np.array(list(itertools.product([0.0, 1.0], repeat=self.a.size)))

    def log_z(self) -> float:
        f = -self.free_energy(self.all_states())
        return float(f.max() + np.log(np.exp(f - f.max()).sum()))

    def pseudo_log_likelihood(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros(v.shape[0])
        for i in range(v.shape[1]):
            flipped = v.copy()
            flipped[:, i] = 1 - flipped[:, i]
            out += -np.logaddexp(0.0, self.free_energy(v) - self.free_energy(flipped))
        return out
