"""Stochastic reconfiguration against an exact natural-gradient step on 4 spins: the metric
from finite differences of the normalised state vector, the force from finite differences
of the exact energy <psi|H|psi> / <psi|psi> with a dense Hamiltonian."""

from __future__ import annotations

import numpy as np
import torch

from app.vmc.local_energy import local_energy
from app.vmc.optimizers import SR, energy_gradient, sr_direction
from app.vmc.samplers import SpinSampler
from app.vmc.spins import build_spin_rbm
from app.vmc.systems import TFIM
from tests.vmc.dense import all_configs, tfim_dense

N, SHIFT = 4, 0.01


def _setup():
    wf = build_spin_rbm(N, 3, init_scale=0.4, generator=torch.Generator().manual_seed(2))
    return wf, TFIM(N, 0.8, 1.0, True), torch.from_numpy(all_configs(N)), tfim_dense(N, 0.8, 1.0, True)


def _state(wf, s, theta):
    wf.bind(torch.as_tensor(theta, dtype=torch.float64))
    psi = torch.exp(wf.log_psi(s)).numpy()
    return psi / np.linalg.norm(psi)


def _exact_natural_gradient(wf, s, H):
    theta0 = wf.params.clone().numpy()
    P, h = theta0.size, 1e-5
    J = np.zeros((2**N, P))
    grad = np.zeros(P)
    for k in range(P):
        e = np.zeros(P)
        e[k] = h
        up, dn = _state(wf, s, theta0 + e), _state(wf, s, theta0 - e)
        J[:, k] = (up - dn) / (2 * h)
        grad[k] = (up @ H @ up - dn @ H @ dn) / (2 * h)
    wf.bind(torch.from_numpy(theta0))
    S = J.T @ J  # real normalised state: <psi|d psi> = 0, so the Fubini-Study metric is J^T J
    return S, grad, np.linalg.solve(S + SHIFT * np.eye(P), grad)


def test_sr_direction_equals_exact_natural_gradient_step():
    wf, system, s, H = _setup()
    S, grad, expected = _exact_natural_gradient(wf, s, H)
    p = torch.exp(2 * wf.log_psi(s))
    O, E = wf.param_grad(s), local_energy(system, wf, s)
    assert np.allclose(energy_gradient(O, E, weights=p).numpy(), grad, atol=1e-7)
    assert np.allclose(sr_direction(O, E, SHIFT, weights=p).numpy(), expected, rtol=1e-5, atol=1e-6)
    fast = sr_direction(O, E, SHIFT, weights=p, gram_dtype=torch.float32).numpy()
    assert np.linalg.norm(fast - expected) < 1e-4 * np.linalg.norm(expected)


def test_sampled_sr_step_approaches_the_exact_step():
    wf, system, s, H = _setup()
    _, _, expected = _exact_natural_gradient(wf, s, H)
    draw = SpinSampler(4000, N, generator=torch.Generator().manual_seed(0)).sample(wf, 10, discard=20)
    x = draw.samples.reshape(-1, N)
    before = wf.params.clone()
    SR(lr=0.1, shift=SHIFT).step(wf.params, wf.param_grad(x), local_energy(system, wf, x))
    step = ((before - wf.params) / 0.1).numpy()
    cos = step @ expected / np.linalg.norm(step) / np.linalg.norm(expected)
    assert cos > 0.98
    assert np.linalg.norm(step - expected) < 0.15 * np.linalg.norm(expected)
