"""Which trial wave function a system gets, from its ModelConfig (one home for that rule)."""

from __future__ import annotations

import torch

from app.vmc.config import ModelConfig
from app.vmc.continuous import build_trap_wavefunction
from app.vmc.spins import build_spin_rbm
from app.vmc.systems import HarmonicTrap, System


def build_wavefunction(system: System, model: ModelConfig, generator: torch.Generator | None = None):
    """The ansatz for ``system``: Gaussian-binary RBM (+ Jastrow) for traps, spin RBM for chains."""
    n_hidden = model.hidden_units(system.n_visible)
    if isinstance(system, HarmonicTrap):
        if model.jastrow and system.dim < 2:
            raise ValueError("jastrow needs dim >= 2")
        return build_trap_wavefunction(system.n_particles, system.dim, system.omega, n_hidden,
                                       form=model.form, jastrow=model.jastrow, sigma2=model.sigma2,
                                       generator=generator)
    return build_spin_rbm(system.n_visible, n_hidden, generator=generator)
