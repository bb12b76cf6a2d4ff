"""Variational Monte Carlo with RBM trial wave functions (torch; no web or database imports).

Systems (``systems``): harmonic trap (P particles, D = 1-3, optional Coulomb), TFIM and
Heisenberg chains, with exact energies (``exact``). Ansatzes: Gaussian-binary RBM [x Pade-
Jastrow] (``continuous``), spin RBM (``spins``). Samplers (``samplers``), local energies
(``local_energy``), optimisers incl. SR (``optimizers``), the loop (``driver.VMC``),
defaults per system (``config``), storage (``io``).
"""

from app.vmc.config import ModelConfig, VMCConfig, default_model, default_vmc, resolve
from app.vmc.driver import VMC, Evaluation
from app.vmc.exact import exact_energy
from app.vmc.systems import TFIM, HarmonicTrap, Heisenberg, system_from_dict

__all__ = ["VMC", "Evaluation", "ModelConfig", "VMCConfig", "default_model", "default_vmc", "resolve",
           "exact_energy", "TFIM", "HarmonicTrap", "Heisenberg", "system_from_dict"]
