"""Local energies E_L(x) = (H psi)(x) / psi(x), vectorised over a batch of walkers.

Continuous: E_L = -1/2 (lap log psi + |grad log psi|^2) + V(x), with the closed-form
derivatives of the wave function. Spins: diagonal part plus the sum over connected
configurations s' of H_{s s'} psi(s') / psi(s), every ratio from one batched tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from app.vmc.systems import TFIM, HarmonicTrap, Heisenberg, System


def trap_potential(system: HarmonicTrap, x: torch.Tensor) -> torch.Tensor:
    """omega^2 |x|^2 / 2 [+ sum_{i<j} 1/r_ij]: (B, P*D) -> (B,)"""
    v = 0.5 * system.omega**2 * (x**2).sum(1)
    if system.interaction == "coulomb" and system.n_particles > 1:
        pos = x.view(x.shape[0], system.n_particles, system.dim)
        iu = torch.triu_indices(system.n_particles, system.n_particles, offset=1, device=x.device)
        r = (pos[:, iu[0]] - pos[:, iu[1]]).norm(dim=2)
        v = v + (1.0 / r).sum(1)
    return v


def trap_local_energy(system: HarmonicTrap, wf, x: torch.Tensor) -> torch.Tensor:
    _, grad, lap = wf.derivatives(x)
    return -0.5 * (lap + (grad**2).sum(1)) + trap_potential(system, x)


def _bond_index(system: TFIM | Heisenberg, device) -> tuple[torch.Tensor, torch.Tensor]:
    b = torch.tensor(system.bonds(), dtype=torch.long, device=device)
    return b[:, 0], b[:, 1]


def tfim_local_energy(system: TFIM, wf, s: torch.Tensor) -> torch.Tensor:
    """-J sum_<ij> s_i s_j - h sum_i psi(s^(i)) / psi(s)."""
    i, j = _bond_index(system, s.device)
    diag = -system.J * (s[:, i] * s[:, j]).sum(1)
    if system.h == 0:
        return diag
    return diag - system.h * torch.exp(wf.log_ratio_single_flips(s)).sum(1)


def heisenberg_local_energy(system: Heisenberg, wf, s: torch.Tensor) -> torch.Tensor:
    """J sum s_i s_j + sum over antiparallel bonds of 2J sign psi(s^(ij)) / psi(s).

    With the Marshall sign psi = (-1)^(up spins on odd sites) phi, exchanging an
    antiparallel pair across the bipartition flips the sign: the ratio gets -1.
    """
    i, j = _bond_index(system, s.device)
    zz = s[:, i] * s[:, j]
    off = 2.0 * system.J * (-1.0 if system.marshall_sign else 1.0)
    ratios = torch.exp(wf.log_ratio_pair_flips(s, i, j))
    return system.J * zz.sum(1) + off * (ratios * (zz < 0)).sum(1)


_LOCAL_ENERGY: dict[type, Callable[..., torch.Tensor]] = {
    HarmonicTrap: trap_local_energy, TFIM: tfim_local_energy, Heisenberg: heisenberg_local_energy}


def local_energy(system: System, wf, x: torch.Tensor) -> torch.Tensor:
    """E_L for a batch of configurations x (B, n_visible) -> (B,)."""
    return _LOCAL_ENERGY[type(system)](system, wf, x)


def marshall_sign(s: torch.Tensor) -> torch.Tensor:
    """(-1)^(number of up spins on odd sites): (B, N) -> (B,) of +-1."""
    ups_odd = (s[:, 1::2] > 0).sum(1)
    return 1.0 - 2.0 * (ups_odd % 2).to(s.dtype)
