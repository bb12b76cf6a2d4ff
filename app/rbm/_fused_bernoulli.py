"""Optional numba kernel: Bernoulli draws fused with numpy's SFC64 stream.

``UniformSource`` draws U[0, 1) with numpy's SFC64 and compares them with probabilities in a
second pass. Outside the matrix products that is the biggest cost of a Gibbs sweep (784x500,
256 chains: ~0.4 of 2.7 ms). With numba installed (``pip install -e ".[fast]"``) this kernel
runs the same SFC64 recurrence and compares on the fly: no uniform buffer, no float
conversion pass, no compare pass. Its output is bit-identical to the numpy path (same words,
same 24/53-bit uniforms), so results do not depend on whether numba is present.

Measured (AMD EPYC, one thread, 100x784 float32 draws): numpy path + compare 201 us, this
kernel 99 us. The price is memory: numba and the two loaded kernels add ~115 MB to a process
(LLVM), which is why it is an extra; a deployment short of memory can leave it out.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


_UNSET = object()
_kernels: object = _UNSET


def kernels() -> dict[np.dtype, Kernel] | None:
    """``{float32: kernel, float64: kernel}``; None without numba.

    ``kernel(key, p, out)``: ``key`` three uint64 words, ``p`` and ``out`` flat arrays of one dtype.
    numba is imported on first use (it adds ~60 MB and 0.3 s to a process; loading both kernels
    another ~60 MB), so commands that never sample do not pay for it.
    """
    global _kernels
    if _kernels is _UNSET:
        try:
            from app.rbm._fused_bernoulli_numba import KERNELS
        except ImportError:
            KERNELS = None
        _kernels = KERNELS
    return _kernels  # type: ignore[return-value]


def warm_up() -> bool:
    """Load (or compile) both kernels now, so a process's first sampling request or training job
    does not pay for it (~0.3 s from numba's cache, ~1 s compiling). False without numba."""
    found = kernels()
    if found is None:
        return False
    key = np.ones(3, dtype=np.uint64)
    for dtype, kernel in found.items():
        kernel(key, np.zeros(2, dtype=dtype), np.empty(2, dtype=dtype))
    return True
