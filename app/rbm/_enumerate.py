"""Chunked enumeration of binary states (shared by partition and likelihood).

State order everywhere: binary counting with unit 0 as the most significant
bit, i.e. row ``k`` of :func:`all_binary_states` is the binary expansion of
``k`` written left to right over units ``0..n-1``.
"""

from __future__ import annotations

from typing import Callable

import torch

#: Elements per temporary (rows x width) block; 2^22 float64 = 32 MiB.
ELEMENT_BUDGET = 1 << 22


def all_binary_states(
    n: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Every vector of ``{0,1}^n`` in counting order: ``-> (2^n, n)``."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    idx = torch.arange(1 << n, device=device, dtype=torch.int64)
    shifts = torch.arange(n - 1, -1, -1, device=device, dtype=torch.int64)
    return ((idx[:, None] >> shifts) & 1).to(dtype)


def rows_for(width: int, chunk_size: int = 1 << 16) -> int:
    """Largest power of two ``<= chunk_size`` keeping ``rows * width`` within budget."""
    limit = max(1, min(int(chunk_size), ELEMENT_BUDGET // max(1, width)))
    return 1 << (limit.bit_length() - 1)


def logsumexp_over_states(
    linear: torch.Tensor,
    offset: torch.Tensor,
    proj: torch.Tensor,
    transform: Callable[[torch.Tensor], torch.Tensor],
    *,
    chunk_size: int = 1 << 16,
) -> float:
    """``log sum_{x in {0,1}^m} exp(linear.x + sum_k transform(offset + x proj)_k)``.

    ``linear : (m,)``, ``offset : (K,)``, ``proj : (m, K)``. The last ``L`` bits
    are enumerated as one block whose projection is computed once; the first
    ``m - L`` bits select a chunk and only shift ``offset``. Per-state sums and
    the running logsumexp are float64; memory stays ``O(2^L * K)``.
    """
    m, width = proj.shape
    dev, dt = proj.device, proj.dtype
    rows = rows_for(width, chunk_size)
    low = min(m, rows.bit_length() - 1)
    high = m - low
    low_states = all_binary_states(low, device=dev, dtype=dt)
    low_proj = low_states @ proj[high:] if low else torch.zeros((1, width), device=dev, dtype=dt)
    low_lin = (low_states.to(torch.float64) @ linear[high:].to(torch.float64)) if low else torch.zeros(
        1, device=dev, dtype=torch.float64
    )
    buf = torch.empty_like(low_proj)
    partials = torch.empty(1 << high, device=dev, dtype=torch.float64)
    high_shifts = torch.arange(high - 1, -1, -1, device=dev, dtype=torch.int64)
    for c in range(1 << high):
        hs = ((torch.tensor(c, device=dev) >> high_shifts) & 1).to(dt)
        shift = offset + hs @ proj[:high] if high else offset
        lin = float(hs.to(torch.float64) @ linear[:high].to(torch.float64)) if high else 0.0
        torch.add(low_proj, shift, out=buf)
        total = transform(buf).sum(dim=1, dtype=torch.float64)
        total += low_lin
        partials[c] = torch.logsumexp(total, dim=0) + lin
    return float(torch.logsumexp(partials, dim=0))
