"""Where the samplers' random numbers come from: uniform draws into preallocated buffers (one
source for Gibbs, Metropolis, parallel tempering and AIS) and the check that a generator lives on
the model's device. Lowest of the sampling modules, so each of them can use it."""

from __future__ import annotations

import numpy as np
import torch

from app.rbm.model import RBM

_TWO_M24 = np.float32(2.0**-24)
_TWO_M53 = np.float64(2.0**-53)


class UniformSource:
    """Fills buffers with U[0, 1) draws for Bernoulli sampling and Metropolis tests.

    Outside the GEMMs a sweep is dominated by random numbers, and torch's CPU
    generator (mt19937, one thread) makes ~430M/s. On the CPU this draws from
    numpy's SFC64 instead (~1G/s), with the same resolution as ``uniform_``
    (24 bits for float32, 53 for float64). SFC64 is re-keyed from the torch
    generator on every fill (3 words, ~4 us), so the torch generator stays the
    only state: seeded runs repeat and checkpoints that save its state resume
    bit-identically. Other devices, dtypes or layouts use ``uniform_``.
    """

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator
        self.fast = torch.device(generator.device).type == "cpu"
        self._bits = np.random.SFC64(0) if self.fast else None
        self._key = torch.empty(3, dtype=torch.int64)

    def fill_(self, buf: torch.Tensor) -> torch.Tensor:
        """Overwrite ``buf`` with independent U[0, 1) values; returns ``buf``."""
        if (
            self._bits is None
            or buf.device.type != "cpu"
            or buf.dtype not in (torch.float32, torch.float64)
            or not buf.is_contiguous()
            or buf.requires_grad
        ):
            return buf.uniform_(generator=self.generator)
        n = buf.numel()
        if n == 0:
            return buf
        a, b, c = self._key.random_(generator=self.generator).tolist()
        # Same seeding as numpy's own SFC64: three key words, counter 1, 12 discarded outputs.
        self._bits.state = {
            "bit_generator": "SFC64",
            "state": {"state": np.array([a, b, c, 1], dtype=np.uint64)},
            "has_uint32": 0,
            "uinteger": 0,
        }
        self._bits.random_raw(12)
        out = buf.numpy().reshape(-1)
        if buf.dtype == torch.float32:
            raw = self._bits.random_raw((n + 1) // 2).view(np.uint32)[:n]
            np.right_shift(raw, np.uint32(8), out=raw)
            np.multiply(raw, _TWO_M24, out=out, dtype=np.float32, casting="unsafe")
        else:
            raw64 = self._bits.random_raw(n)
            np.right_shift(raw64, np.uint64(11), out=raw64)
            np.multiply(raw64, _TWO_M53, out=out, dtype=np.float64, casting="unsafe")
        return buf


def check_generator(model: RBM, generator: torch.Generator) -> None:
    """Raise ``ValueError`` unless ``generator`` lives on the model's device type."""
    if not isinstance(generator, torch.Generator):
        raise ValueError("pass an explicit torch.Generator (e.g. torch.Generator(device=model.device).manual_seed(s))")
    if torch.device(generator.device).type != model.device.type:
        raise ValueError(
            f"generator is on {generator.device} but the model is on {model.device}; "
            "create it with torch.Generator(device=model.device)"
        )
