"""The numba kernels behind :mod:`app.rbm._fused_bernoulli` (imported only when used)."""

from __future__ import annotations

import numpy as np
from numba import njit


def _jit(fn):
    """Compiled with numba's on-disk cache where it finds a writable place, else per process."""
    try:
        return njit(nogil=True, cache=True)(fn)
    except RuntimeError:  # "no locator available": a read-only install without a user cache dir
        return njit(nogil=True)(fn)


@_jit
def _step(s):  # one SFC64 output; s = [a, b, c, counter] (numpy's layout)
    a, b, c, w = s[0], s[1], s[2], s[3]
    t = a + b + w
    s[0] = b ^ (b >> np.uint64(11))
    s[1] = c + (c << np.uint64(3))
    s[2] = ((c << np.uint64(24)) | (c >> np.uint64(40))) + t
    s[3] = w + np.uint64(1)
    return t


@_jit
def _seeded(key):  # as UniformSource.fill_ seeds numpy's SFC64: key words, counter 1, 12 discarded
    s = np.empty(4, np.uint64)
    s[0], s[1], s[2], s[3] = key[0], key[1], key[2], np.uint64(1)
    for _ in range(12):
        _step(s)
    return s


@_jit
def _bernoulli_f32(key, p, out):
    # numpy's random_raw(...).view(uint32): low half first; u = (x >> 8) * 2^-24
    s = _seeded(key)
    scale = np.float32(2.0 ** -24)
    n = p.size
    for i in range(0, n - 1, 2):
        t = _step(s)
        out[i] = np.float32(np.float32(np.int32((t & np.uint64(0xFFFFFFFF)) >> np.uint64(8))) * scale < p[i])
        out[i + 1] = np.float32(np.float32(np.int32(t >> np.uint64(40))) * scale < p[i + 1])
    if n % 2:
        t = _step(s)
        out[n - 1] = np.float32(np.float32(np.int32((t & np.uint64(0xFFFFFFFF)) >> np.uint64(8))) * scale < p[n - 1])


@_jit
def _bernoulli_f64(key, p, out):
    s = _seeded(key)
    scale = 2.0 ** -53
    for i in range(p.size):
        out[i] = np.float64(np.float64(np.int64(_step(s) >> np.uint64(11))) * scale < p[i])


KERNELS = {np.dtype(np.float32): _bernoulli_f32, np.dtype(np.float64): _bernoulli_f64}
