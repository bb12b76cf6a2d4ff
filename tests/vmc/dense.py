"""Dense Pauli-matrix Hamiltonians built with Kronecker products: the independent reference.

Basis index b = sum_i bit_i 2^i with bit 1 <-> s_i = +1, so configuration s of
index b has s_i = 2 * ((b >> i) & 1) - 1 (the same order as ``all_configs``).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

X = np.array([[0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0, -1j], [1j, 0.0]])
Z = np.array([[-1.0, 0.0], [0.0, 1.0]])  # basis order (bit 0 -> s=-1, bit 1 -> s=+1)
I2 = np.eye(2)


def site_op(op: np.ndarray, i: int, n: int) -> np.ndarray:
    """op on site i; site 0 is the least significant bit (rightmost Kronecker factor)."""
    factors = [op if k == i else I2 for k in reversed(range(n))]
    return reduce(np.kron, factors)


def bonds(n: int, pbc: bool) -> list[tuple[int, int]]:
    b = [(i, i + 1) for i in range(n - 1)]
    if pbc and n > 2:
        b.append((n - 1, 0))
    return b


def tfim_dense(n: int, h: float, J: float, pbc: bool) -> np.ndarray:
    H = np.zeros((2**n, 2**n))
    for i, j in bonds(n, pbc):
        H -= J * site_op(Z, i, n) @ site_op(Z, j, n)
    for i in range(n):
        H -= h * site_op(X, i, n)
    return H


def heisenberg_dense(n: int, J: float, pbc: bool) -> np.ndarray:
    H = np.zeros((2**n, 2**n), dtype=complex)
    for i, j in bonds(n, pbc):
        for P in (X, Y, Z):
            H += J * site_op(P, i, n) @ site_op(P, j, n)
    assert np.allclose(H.imag, 0)
    return H.real


def all_configs(n: int) -> np.ndarray:
    """(2^n, n) array of +-1 spins in basis order."""
    b = np.arange(2**n)[:, None]
    return (2 * ((b >> np.arange(n)) & 1) - 1).astype(np.float64)
