"""The Hamiltonians VMC can optimise, as small frozen dataclasses.

Why a separate module: the job spec, the driver, the exact answers and the local
energy all need the same description of a system; validation (what is physical,
what the ansatz can represent) lives here once, and raises ``ValueError`` with a
message the web layer turns into a 422.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class HarmonicTrap:
    """H = sum_i (-1/2 lap_i + omega^2 r_i^2 / 2) [+ sum_{i<j} 1/r_ij] for P particles in D dims."""

    n_particles: int = 2
    dim: int = 2
    omega: float = 1.0
    interaction: Literal["none", "coulomb"] = "none"
    type: Literal["harmonic_trap"] = "harmonic_trap"

    def __post_init__(self) -> None:
        if self.n_particles < 1:
            raise ValueError("n_particles must be >= 1")
        if self.dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {self.dim}")
        if not self.omega > 0:
            raise ValueError(f"omega must be > 0, got {self.omega}")
        if self.interaction not in ("none", "coulomb"):
            raise ValueError(f"interaction must be 'none' or 'coulomb', got {self.interaction!r}")
        if self.interaction == "coulomb" and self.dim == 1:
            raise ValueError("coulomb in 1D: 1/|x| is not integrable at contact for a nodeless trial "
                             "function, so the energy is infinite; use dim 2 or 3")

    @property
    def continuous(self) -> bool:
        return True

    @property
    def n_visible(self) -> int:
        """Number of coordinates P*D the wave function sees."""
        return self.n_particles * self.dim


@dataclass(frozen=True)
class TFIM:
    """Transverse-field Ising chain H = -J sum s^z_i s^z_{i+1} - h sum s^x_i (Pauli matrices)."""

    n_spins: int = 20
    h: float = 1.0
    J: float = 1.0
    pbc: bool = True
    type: Literal["tfim"] = "tfim"

    def __post_init__(self) -> None:
        if self.n_spins < 2:
            raise ValueError("n_spins must be >= 2")
        if self.h < 0:
            # -h sum s^x with h < 0 has a ground state with signs; the positive RBM cannot hold it.
            raise ValueError("h must be >= 0 (the spectrum depends on |h| only; use -h)")

    @property
    def continuous(self) -> bool:
        return False

    @property
    def n_visible(self) -> int:
        return self.n_spins

    def bonds(self) -> list[tuple[int, int]]:
        return chain_bonds(self.n_spins, self.pbc)


@dataclass(frozen=True)
class Heisenberg:
    """Heisenberg chain H = J sum s_i . s_{i+1} (Pauli matrices); Marshall sign for J > 0."""

    n_spins: int = 16
    J: float = 1.0
    pbc: bool = True
    type: Literal["heisenberg"] = "heisenberg"

    def __post_init__(self) -> None:
        if self.n_spins < 2:
            raise ValueError("n_spins must be >= 2")
        if self.J > 0 and self.pbc and self.n_spins % 2:
            raise ValueError("antiferromagnetic J > 0 on an odd periodic chain is not bipartite: the "
                             "Marshall sign rule does not hold; use an even n_spins or pbc=false")

    @property
    def continuous(self) -> bool:
        return False

    @property
    def n_visible(self) -> int:
        return self.n_spins

    @property
    def marshall_sign(self) -> bool:
        """True when psi = (-1)^(up spins on odd sites) * phi with phi > 0 (bipartite, J > 0)."""
        return self.J > 0

    def bonds(self) -> list[tuple[int, int]]:
        return chain_bonds(self.n_spins, self.pbc)


System = HarmonicTrap | TFIM | Heisenberg
_TYPES: dict[str, type] = {"harmonic_trap": HarmonicTrap, "tfim": TFIM, "heisenberg": Heisenberg}


def chain_bonds(n: int, pbc: bool) -> list[tuple[int, int]]:
    """Nearest-neighbour bonds (i, i+1) of a chain; the closing bond once, and not for n = 2."""
    bonds = [(i, i + 1) for i in range(n - 1)]
    if pbc and n > 2:
        bonds.append((n - 1, 0))
    return bonds


def system_from_dict(spec: dict[str, Any]) -> System:
    """Build a system from its JSON form ``{"type": ..., ...}``; ValueError names what is wrong."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in _TYPES:
        raise ValueError(f"unknown system type {kind!r}; choose one of {sorted(_TYPES)}")
    try:
        return _TYPES[kind](**spec)
    except TypeError as exc:
        raise ValueError(f"bad fields for system {kind!r}: {exc}") from None


def system_to_dict(system: System) -> dict[str, Any]:
    return asdict(system)
