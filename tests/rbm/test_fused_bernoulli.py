"""The optional numba kernel (the ``fast`` extra) against the numpy path it replaces."""

from __future__ import annotations

import pytest
import torch

from app.rbm import _fused_bernoulli
from app.rbm.sampling import UniformSource

needs_numba = pytest.mark.skipif(
    _fused_bernoulli.kernels() is None,
    reason="NUMBA NOT INSTALLED: the fused Bernoulli kernel is untested here (pip install -e '.[fast]')",
)


def test_without_numba_bernoulli_is_uniforms_then_compare(monkeypatch):
    monkeypatch.setattr(_fused_bernoulli, "_KERNELS", None)
    p = torch.rand(5, 9, generator=torch.Generator().manual_seed(1))
    a, b = UniformSource(torch.Generator().manual_seed(4)), UniformSource(torch.Generator().manual_seed(4))
    scratch = torch.empty(5, 9)
    got = a.bernoulli_(p, torch.empty(5, 9), scratch)
    assert torch.equal(scratch, b.fill_(torch.empty(5, 9)))  # the scratch buffer held the uniforms
    assert torch.equal(got, (scratch < p).float())


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(7, 13), (256, 784), (1, 1)])
def test_fused_draws_are_bit_identical_to_uniforms_then_compare(dtype, shape):
    p = torch.rand(shape, generator=torch.Generator().manual_seed(3), dtype=dtype)
    p[0, 0] = 0.0  # never on
    p[-1, -1] = 1.0  # always on
    fused, plain = UniformSource(torch.Generator().manual_seed(9)), UniformSource(torch.Generator().manual_seed(9))
    scratch, want = torch.empty(shape, dtype=dtype), torch.empty(shape, dtype=dtype)
    for _ in range(3):  # successive calls re-key from the torch generator the same way
        got = fused.bernoulli_(p, torch.full(shape, -1.0, dtype=dtype), torch.empty(0))
        torch.lt(plain.fill_(scratch), p, out=want)
        assert torch.equal(got, want)
    assert fused.generator.get_state().equal(plain.generator.get_state())


@needs_numba
def test_fused_draws_have_the_right_frequencies():
    p = torch.linspace(0.0, 1.0, 11).repeat(20_000, 1)
    out = UniformSource(torch.Generator().manual_seed(0)).bernoulli_(p, torch.empty_like(p), torch.empty(0))
    freq = out.mean(dim=0)
    assert torch.allclose(freq, p[0], atol=4 * (0.25 / 20_000) ** 0.5)
