"""Random small models for the tests (float64 unless asked otherwise)."""

from __future__ import annotations

import numpy as np
import torch

from app.rbm.model import BernoulliRBM, GaussianRBM


def random_bb(V: int, H: int, scale: float, seed: int, dtype=torch.float64) -> BernoulliRBM:
    g = torch.Generator().manual_seed(seed)
    return BernoulliRBM(
        scale * torch.randn(V, H, generator=g, dtype=dtype),
        0.5 * torch.randn(V, generator=g, dtype=dtype),
        0.5 * torch.randn(H, generator=g, dtype=dtype),
    )


def random_gb(V: int, H: int, scale: float, seed: int, dtype=torch.float64) -> GaussianRBM:
    g = torch.Generator().manual_seed(seed)
    return GaussianRBM(
        scale * torch.randn(V, H, generator=g, dtype=dtype),
        torch.randn(V, generator=g, dtype=dtype),
        0.5 * torch.randn(H, generator=g, dtype=dtype),
        0.3 * torch.randn(V, generator=g, dtype=dtype),
    )


def np_params(model):
    """(W, a, b[, log_sigma]) as numpy float64 arrays."""
    out = [model.weight, model.visible_bias, model.hidden_bias]
    if isinstance(model, GaussianRBM):
        out.append(model.log_sigma)
    return [t.detach().cpu().double().numpy() for t in out]


def exact_samples(log_probs: np.ndarray | torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n exact draws of state indices from a (2^V,) log-probability vector."""
    p = torch.as_tensor(log_probs, dtype=torch.float64).exp()
    return torch.multinomial(p, n, replacement=True, generator=torch.Generator().manual_seed(seed))
