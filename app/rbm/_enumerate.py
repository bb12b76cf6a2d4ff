"""Chunked enumeration of binary states (shared by partition and likelihood).

State order everywhere: binary counting with unit 0 as the most significant
bit, i.e. row ``k`` of :func:`all_binary_states` is the binary expansion of
``k`` written left to right over units ``0..n-1``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from app.rbm.model import softplus

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


#: Elements per enumeration chunk (rows x width): ~1 MiB of float32, so the add, the transform
#: and the row sums of a chunk stay in the core's L2 cache instead of streaming through memory.
CACHE_BUDGET = 1 << 18
#: Chunks whose offsets are computed by one GEMM (bounds that temporary to BLOCK x width).
_SHIFT_BLOCK = 256


def _softplus_out(x: torch.Tensor, out: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """``softplus(beta x) / beta`` into ``out`` in one pass, with the smallest exact threshold for
    the dtype (exp(-t) below half an ulp)."""
    threshold = 20.0 if x.dtype == torch.float32 else 40.0
    return torch._C._nn.softplus(x, beta, threshold, out=out)


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
    ``m - L`` bits select a chunk and only shift ``offset`` (those shifts come
    from one GEMM per block of chunks). Chunks are sized to stay in cache; the
    row sums are pairwise in the model dtype (float32 error ~1e-7 relative, far
    below what float32 parameters carry) and everything after them is float64.
    Memory stays ``O(2^L * K)``. ``transform`` is applied in place when it is
    the model's softplus (the exact log Z of bernoulli models).
    """
    m, width = proj.shape
    dev, dt = proj.device, proj.dtype
    rows = rows_for(width, min(int(chunk_size), max(1, CACHE_BUDGET // max(1, width))))
    low = min(m, rows.bit_length() - 1)
    high = m - low
    low_states = all_binary_states(low, device=dev, dtype=dt)
    low_proj = low_states @ proj[high:] if low else torch.zeros((1, width), device=dev, dtype=dt)
    low_lin = (low_states.to(torch.float64) @ linear[high:].to(torch.float64)) if low else torch.zeros(
        1, device=dev, dtype=torch.float64
    )
    in_place = transform is softplus
    buf = torch.empty_like(low_proj)
    n_chunks = 1 << high
    block = min(n_chunks, _SHIFT_BLOCK)
    totals = torch.empty((block, low_proj.shape[0]), device=dev, dtype=dt)
    partials = torch.empty(n_chunks, device=dev, dtype=torch.float64)
    high_shifts = torch.arange(high - 1, -1, -1, device=dev, dtype=torch.int64)
    for c0 in range(0, n_chunks, block):
        c1 = min(n_chunks, c0 + block)
        if high:
            hs = ((torch.arange(c0, c1, device=dev)[:, None] >> high_shifts) & 1).to(dt)
            shifts = torch.addmm(offset, hs, proj[:high])
            lins = hs.to(torch.float64) @ linear[:high].to(torch.float64)
        else:
            shifts = offset[None, :]
            lins = torch.zeros(1, device=dev, dtype=torch.float64)
        for j in range(c1 - c0):
            torch.add(low_proj, shifts[j], out=buf)
            out = _softplus_out(buf, buf) if in_place else transform(buf)
            torch.sum(out, dim=1, out=totals[j])
        t = totals[: c1 - c0].to(torch.float64).add_(low_lin).add_(lins[:, None])
        partials[c0:c1] = torch.logsumexp(t, dim=1)
    return float(torch.logsumexp(partials, dim=0))
