"""Samplers against |psi|^2 computed exactly: all configurations of 4 spins, and the
first two moments of a 1D density by quadrature."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.physics.blocking import blocking_analysis
from app.vmc.continuous import build_trap_wavefunction
from app.vmc.samplers import ContinuousSampler, SpinSampler
from app.vmc.spins import build_spin_rbm
from tests.vmc.dense import all_configs


def _histogram(samples: torch.Tensor, n: int) -> np.ndarray:
    bits = ((samples.reshape(-1, n) > 0).long() * (2 ** torch.arange(n))).sum(1)
    return np.bincount(bits.numpy(), minlength=2**n) / bits.numel()


@pytest.mark.parametrize("move", ["flip", "exchange"])
def test_spin_sampler_matches_exact_distribution_on_4_spins(move):
    n = 4
    wf = build_spin_rbm(n, 3, init_scale=0.6, generator=torch.Generator().manual_seed(5))
    s = torch.from_numpy(all_configs(n))
    p = torch.exp(2 * wf.log_psi(s)).numpy()
    if move == "exchange":  # confined to the magnetisation of the start, S^z = 0
        p = p * (s.sum(1) == 0).numpy()
    p /= p.sum()
    sampler = SpinSampler(2000, n, move=move, generator=torch.Generator().manual_seed(1))
    draw = sampler.sample(wf, 25, discard=20)
    freq = _histogram(draw.samples, n)
    m = draw.samples.numel() // n
    # each frequency within 5 binomial sigmas (chains are nearly independent between sweeps)
    sigma = np.sqrt(p * (1 - p) / m) * 2.0
    assert np.all(np.abs(freq - p) <= 5 * sigma + 1e-12), (freq, p)
    assert np.abs(freq - p).sum() / 2 < 0.02  # total variation
    assert 0 < draw.acceptance <= 1


@pytest.mark.parametrize("move,step", [("metropolis", 2.0), ("langevin", 0.4)])
def test_continuous_sampler_moments_match_quadrature_in_1d(move, step):
    g = torch.Generator().manual_seed(3)
    wf = build_trap_wavefunction(1, 1, 1.0, n_hidden=2, init_scale=1.0, generator=g)
    grid = torch.linspace(-8, 8, 20001, dtype=torch.float64)
    dens = torch.exp(2 * wf.log_psi(grid[:, None]))
    dens = dens / torch.trapezoid(dens, grid)
    m1 = float(torch.trapezoid(grid * dens, grid))
    m2 = float(torch.trapezoid(grid**2 * dens, grid))
    sampler = ContinuousSampler(500, 1, move=move, step=step, generator=torch.Generator().manual_seed(4))
    draw = sampler.sample(wf, 200, thin=2, discard=200)
    x = draw.samples[..., 0].numpy()  # (chains, T), chain-major blocks
    for f, exact in ((x, m1), (x**2, m2)):
        r = blocking_analysis(f.ravel())
        assert abs(r.mean - exact) < 5 * r.error, (move, r.mean, exact, r.error)
    assert 0.2 < draw.acceptance < 1.0


def test_exchange_sampler_conserves_magnetisation():
    wf = build_spin_rbm(8, 8, init_scale=0.5, generator=torch.Generator().manual_seed(0))
    sampler = SpinSampler(50, 8, move="exchange", generator=torch.Generator().manual_seed(0))
    draw = sampler.sample(wf, 10)
    assert torch.all(draw.samples.sum(-1) == 0)
