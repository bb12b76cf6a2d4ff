"""Exact ground energies against dense diagonalisation of Kronecker-built Hamiltonians."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.vmc.exact import exact_energy, heisenberg_ground_energy, tfim_ground_energy
from app.vmc.systems import TFIM, HarmonicTrap
from tests.vmc.dense import heisenberg_dense, tfim_dense


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8, 9])
@pytest.mark.parametrize("h,J", [(1.0, 1.0), (0.5, 1.0), (2.0, 1.0), (1.0, -1.0), (0.3, -0.7), (1.3, 0.0)])
@pytest.mark.parametrize("pbc", [True, False])
def test_tfim_free_fermions_match_exact_diagonalisation(n, h, J, pbc):
    dense = np.linalg.eigvalsh(tfim_dense(n, h, J, pbc))[0]
    assert tfim_ground_energy(n, h, J, pbc) == pytest.approx(dense, abs=1e-10)


def test_tfim_n20_critical_value():
    # closed form at h = J = 1, PBC: -2 / sin(pi / 2N)
    assert tfim_ground_energy(20, 1.0, 1.0, True) == pytest.approx(-2 / math.sin(math.pi / 40), abs=1e-12)
    assert tfim_ground_energy(20, 1.0, 1.0, True) == pytest.approx(-25.49098969, abs=1e-8)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8])
@pytest.mark.parametrize("J", [1.0, -1.0, 0.7])
@pytest.mark.parametrize("pbc", [True, False])
def test_heisenberg_sparse_sector_matches_dense(n, J, pbc):
    dense = np.linalg.eigvalsh(heisenberg_dense(n, J, pbc))[0]
    assert heisenberg_ground_energy(n, J, pbc) == pytest.approx(dense, abs=1e-9)


def test_trap_exact_values():
    assert exact_energy(HarmonicTrap(2, 2, 1.0, "none")) == 2.0
    assert exact_energy(HarmonicTrap(3, 3, 0.5, "none")) == pytest.approx(2.25)
    assert exact_energy(HarmonicTrap(2, 2, 1.0, "coulomb")) == 3.0
    assert exact_energy(HarmonicTrap(2, 2, 1 / 6, "coulomb")) == pytest.approx(2 / 3)
    assert exact_energy(HarmonicTrap(2, 3, 1.0, "coulomb")) is None
    assert exact_energy(TFIM(4, 1.0, 1.0, True)) == pytest.approx(np.linalg.eigvalsh(tfim_dense(4, 1, 1, True))[0])
