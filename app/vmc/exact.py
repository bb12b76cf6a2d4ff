"""Exact ground-state energies to judge a VMC run against.

Why here and not in the tests: the job result reports ``exact_energy`` and
``relative_error``, so the service needs them too. The tests check each formula
against an independent dense diagonalisation.

* trap: non-interacting P*D*omega/2 (bosons all in the oscillator ground state);
  two electrons with Coulomb repulsion in 2D at omega = 1 (3.0) and 1/6 (2/3),
  Taut's analytic solutions (M. Taut, Phys. Rev. A 48, 3561 (1993)); otherwise None.
* TFIM: Jordan-Wigner free fermions, any N (PBC: both boundary sectors with their
  fermion-parity constraint; OBC: singular values of the bidiagonal coupling matrix).
* Heisenberg: Lanczos (scipy eigsh) in the sector of smallest |S^z|, cached.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from app.vmc.systems import TFIM, HarmonicTrap, Heisenberg, System, chain_bonds

HEISENBERG_EXACT_MAX_SPINS = 16  # 12,870 states in the S^z = 0 sector; ~0.1 s


def exact_energy(system: System) -> float | None:
    """The exact ground-state energy of ``system`` where one is known, else None."""
    if isinstance(system, HarmonicTrap):
        return trap_ground_energy(system)
    if isinstance(system, TFIM):
        return tfim_ground_energy(system.n_spins, system.h, system.J, system.pbc)
    if isinstance(system, Heisenberg):
        if system.n_spins > HEISENBERG_EXACT_MAX_SPINS:
            return None
        return heisenberg_ground_energy(system.n_spins, system.J, system.pbc)
    raise TypeError(f"not a system: {system!r}")


def trap_ground_energy(system: HarmonicTrap) -> float | None:
    if system.interaction == "none":
        return system.n_particles * system.dim * system.omega / 2.0
    if system.n_particles == 2 and system.dim == 2:
        taut = {1.0: 3.0, 1.0 / 6.0: 2.0 / 3.0}
        for w, e in taut.items():
            if math.isclose(system.omega, w, rel_tol=1e-12):
                return e
    if system.n_particles == 1:
        return system.dim * system.omega / 2.0
    return None


def tfim_ground_energy(n: int, h: float, J: float, pbc: bool = True) -> float:
    """Ground energy of -J sum Z_i Z_{i+1} - h sum X_i on n spins (Pauli matrices)."""
    if not pbc or n == 2:
        # OBC (n = 2 has a single bond either way): E0 = -sum of singular values of M,
        # M_ii = h, M_{i,i+1} = J (Majorana form of the rotated chain).
        m = np.diag(np.full(n, float(h))) + np.diag(np.full(n - 1, float(J)), 1)
        return -float(np.linalg.svd(m, compute_uv=False).sum())
    # Jordan-Wigner: even fermion parity <-> antiperiodic modes k = (2m+1) pi / n,
    # odd parity <-> periodic modes k = 2 pi m / n; the ground state is the lower of the two.
    even = _sector_minimum(n, h, J, [(2 * m + 1) * math.pi / n for m in range(n)], parity=0)
    odd = _sector_minimum(n, h, J, [2 * math.pi * m / n for m in range(n)], parity=1)
    return min(even, odd)


def _sector_minimum(n: int, h: float, J: float, ks: list[float], parity: int) -> float:
    """Lowest energy among the sector's states of the given total fermion parity.

    A pair (k, -k) contributes -E_k with even parity or 0 with odd parity
    (E_k = 2 sqrt(h^2 + J^2 - 2 h J cos k)); an unpaired mode k in {0, pi} contributes
    -/+ (h - J cos k) when empty/filled. Minimise over choices with a two-state DP.
    """
    best = [0.0, math.inf]  # best[p]: minimal energy so far with parity p
    done: set[int] = set()
    for idx, k in enumerate(ks):
        if idx in done:
            continue
        kk = math.remainder(k, 2 * math.pi)  # in [-pi, pi]
        unpaired = math.isclose(math.sin(kk), 0.0, abs_tol=1e-12)
        if unpaired:
            eps = h - J * math.cos(kk)
            options = [(0, -eps), (1, eps)]
        else:
            partner = next(j for j, q in enumerate(ks)
                           if j not in done and j != idx
                           and math.isclose(math.remainder(q + k, 2 * math.pi), 0.0, abs_tol=1e-9))
            done.add(partner)
            e_k = 2.0 * math.sqrt(max(h * h + J * J - 2.0 * h * J * math.cos(kk), 0.0))
            options = [(0, -e_k), (1, 0.0)]
        done.add(idx)
        new = [math.inf, math.inf]
        for p, e in enumerate(best):
            for q, de in options:
                new[p ^ q] = min(new[p ^ q], e + de)
        best = new
    return best[parity]


@lru_cache(maxsize=32)
def heisenberg_ground_energy(n: int, J: float = 1.0, pbc: bool = True) -> float:
    """Ground energy of J sum s_i . s_{i+1} (Pauli) by sparse Lanczos in the S^z sector n_up = n // 2.

    The ground state has the smallest |S^z| (Lieb-Mattis for J > 0; for J < 0 the
    ferromagnetic multiplet has a member there), so one sector suffices.
    """
    n_up = n // 2
    states = np.array(sorted(sum(1 << i for i in c) for c in combinations(range(n), n_up)),
                      dtype=np.int64)
    bits = ((states[:, None] >> np.arange(n)) & 1).astype(np.int8)  # (S, n)
    spins = 2 * bits - 1
    diag = np.zeros(states.size)
    rows, cols, vals = [], [], []
    for i, j in chain_bonds(n, pbc):
        diag += J * spins[:, i] * spins[:, j]
        flip = np.nonzero(bits[:, i] != bits[:, j])[0]
        target = states[flip] ^ ((1 << i) | (1 << j))
        rows.append(np.searchsorted(states, target))
        cols.append(flip)
        vals.append(np.full(flip.size, 2.0 * J))
    rows.append(np.arange(states.size))
    cols.append(np.arange(states.size))
    vals.append(diag)
    h = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(states.size, states.size))
    if states.size <= 64:
        return float(np.linalg.eigvalsh(h.toarray())[0])
    return float(eigsh(h, k=1, which="SA", tol=1e-12)[0][0])
