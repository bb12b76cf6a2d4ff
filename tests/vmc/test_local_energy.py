"""Local energies against independent computations: finite differences (continuous),
exact matrix elements of dense Hamiltonians (spins), and the exact oscillator ground state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.vmc.continuous import build_trap_wavefunction
from app.vmc.local_energy import local_energy, marshall_sign, trap_potential
from app.vmc.spins import build_spin_rbm
from app.vmc.systems import TFIM, HarmonicTrap, Heisenberg
from tests.vmc.dense import all_configs, heisenberg_dense, tfim_dense


def _random_trap_wf(P, D, omega, form, jastrow, seed=0):
    g = torch.Generator().manual_seed(seed)
    wf = build_trap_wavefunction(P, D, omega, n_hidden=3, form=form, jastrow=jastrow, init_scale=0.3, generator=g)
    if jastrow:
        wf.params[-1] = 0.4
    return wf


_CASES = [(P, D, form, jastrow, coulomb) for P, D in [(1, 1), (2, 2), (3, 3), (2, 1)]
          for form in ("plain", "sqrt") for jastrow in (False, True) for coulomb in (False, True)
          if D > 1 or not (jastrow or coulomb)]  # no cusp and no Coulomb in 1D


@pytest.mark.parametrize("P,D,form,jastrow,coulomb", _CASES)
def test_continuous_local_energy_matches_finite_differences(P, D, form, jastrow, coulomb):
    system = HarmonicTrap(P, D, 0.7, "coulomb" if coulomb else "none")
    wf = _random_trap_wf(P, D, 0.7, form, jastrow)
    x = torch.randn(5, P * D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = 1e-4
    lp0 = wf.log_psi(x)
    lap_psi_over_psi = torch.zeros(5, dtype=torch.float64)
    for k in range(P * D):
        e = torch.zeros(P * D, dtype=torch.float64)
        e[k] = h
        lap_psi_over_psi += (torch.exp(wf.log_psi(x + e) - lp0) - 2 + torch.exp(wf.log_psi(x - e) - lp0)) / h**2
    expected = -0.5 * lap_psi_over_psi + trap_potential(system, x)
    assert torch.allclose(local_energy(system, wf, x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("form", ["plain", "sqrt"])
@pytest.mark.parametrize("jastrow", [False, True])
def test_continuous_gradients_match_autograd(form, jastrow):
    wf = _random_trap_wf(2, 3, 1.3, form, jastrow, seed=3)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64, requires_grad=True)
    lp, grad, _ = wf.derivatives(x.detach())
    auto = torch.autograd.grad(wf.log_psi(x).sum(), x)[0]
    assert torch.allclose(grad, auto, atol=1e-12)
    assert torch.allclose(lp, wf.log_psi(x.detach()))
    # parameter derivatives O_k, row by row
    p = wf.params.clone().requires_grad_(True)
    wf.bind(p)
    O = torch.stack([torch.autograd.grad(wf.log_psi(x.detach()[b:b + 1]).sum(), p)[0] for b in range(4)])
    wf.bind(p.detach())
    assert torch.allclose(wf.param_grad(x.detach()), O, atol=1e-12)


@pytest.mark.parametrize("P,D,omega", [(1, 1, 1.0), (2, 2, 1.0), (3, 3, 0.5), (2, 2, 2.5)])
@pytest.mark.parametrize("form", ["plain", "sqrt"])
def test_exact_oscillator_ground_state_has_zero_variance(P, D, omega, form):
    system = HarmonicTrap(P, D, omega)
    wf = build_trap_wavefunction(P, D, omega, n_hidden=2, form=form, init_scale=0.0)
    x = 2 * torch.randn(1000, P * D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    E = local_energy(system, wf, x)
    assert torch.allclose(E, torch.full_like(E, P * D * omega / 2), atol=1e-12)


def _psi_vector(wf, n, marshall=False):
    s = torch.from_numpy(all_configs(n))
    psi = torch.exp(wf.log_psi(s))
    if marshall:
        psi = psi * marshall_sign(s)
    return s, psi.numpy()


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("pbc", [True, False])
@pytest.mark.parametrize("h,J", [(1.0, 1.0), (0.4, -1.2), (2.0, 0.5)])
def test_tfim_local_energy_matches_exact_matrix_elements(n, pbc, h, J):
    wf = build_spin_rbm(n, 3, init_scale=0.5, generator=torch.Generator().manual_seed(n))
    s, psi = _psi_vector(wf, n)
    expected = tfim_dense(n, h, J, pbc) @ psi / psi
    got = local_energy(TFIM(n, h, J, pbc), wf, s).numpy()
    assert np.allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n,pbc", [(2, True), (4, True), (6, True), (3, False), (5, False), (4, False)])
@pytest.mark.parametrize("J", [1.0, -0.8])
def test_heisenberg_local_energy_with_marshall_sign_matches_exact(n, pbc, J):
    wf = build_spin_rbm(n, 4, init_scale=0.5, generator=torch.Generator().manual_seed(10 + n))
    system = Heisenberg(n, J, pbc)
    s, psi = _psi_vector(wf, n, marshall=system.marshall_sign)
    expected = heisenberg_dense(n, J, pbc) @ psi / psi
    got = local_energy(system, wf, s).numpy()
    assert np.allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_spin_flip_ratios_match_log_psi_differences():
    n = 6
    wf = build_spin_rbm(n, 5, init_scale=0.7, generator=torch.Generator().manual_seed(0))
    s = torch.from_numpy(all_configs(n))[::5]
    single = wf.log_ratio_single_flips(s)
    for i in range(n):
        t = s.clone()
        t[:, i] *= -1
        assert torch.allclose(single[:, i], wf.log_psi(t) - wf.log_psi(s), atol=1e-12)
    pi, pj = torch.tensor([0, 2, 5]), torch.tensor([1, 4, 0])
    pair = wf.log_ratio_pair_flips(s, pi, pj)
    for k in range(3):
        t = s.clone()
        t[:, pi[k]] *= -1
        t[:, pj[k]] *= -1
        assert torch.allclose(pair[:, k], wf.log_psi(t) - wf.log_psi(s), atol=1e-12)


def test_spin_param_grad_matches_autograd():
    wf = build_spin_rbm(5, 4, init_scale=0.5, generator=torch.Generator().manual_seed(1))
    s = torch.from_numpy(all_configs(5))[:7]
    p = wf.params.clone().requires_grad_(True)
    wf.bind(p)
    O = torch.stack([torch.autograd.grad(wf.log_psi(s[b:b + 1]).sum(), p)[0] for b in range(7)])
    wf.bind(p.detach())
    assert torch.allclose(wf.param_grad(s), O, atol=1e-12)
