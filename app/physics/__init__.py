"""2D Ising physics: MCMC samples, exact references and error-barred observables.

Plain numpy/scipy library (no web or database imports). Public entry points:
:func:`sample_ising`, :func:`enumerate_boltzmann`, :func:`kaufman`, :func:`onsager`,
:func:`ising_observables`, :func:`ising_energy`, :func:`magnetization`.
"""

from app.physics.ising_exact import T_CRITICAL, enumerate_boltzmann, kaufman, onsager
from app.physics.ising_mc import IsingSamples, sample_ising
from app.physics.observables import ising_energy, ising_observables, magnetization

__all__ = [
    "T_CRITICAL",
    "IsingSamples",
    "enumerate_boltzmann",
    "ising_energy",
    "ising_observables",
    "kaufman",
    "magnetization",
    "onsager",
    "sample_ising",
]
