"""Exact references for the 2D Ising model (J = 1, k_B = 1, periodic L x L).

One import point for the three kinds of exact answer; each lives in its own module:

* :func:`enumerate_boltzmann` -- brute force over all 2^(L*L) states, L <= 4
  (:mod:`app.physics.exact_enumeration`), including ``log_probs`` in the RBM's
  visible-state order (site 0 = most significant bit, bit 1 = spin +1);
* :func:`kaufman` -- exact finite torus of any L (:mod:`app.physics.exact_kaufman`);
* :func:`onsager` -- infinite lattice (:mod:`app.physics.exact_onsager`).
"""

from app.physics.exact_enumeration import all_states01, enumerate_boltzmann, state_index
from app.physics.exact_kaufman import kaufman
from app.physics.exact_onsager import onsager, onsager_energy
from app.physics.lattice import T_CRITICAL

__all__ = [
    "T_CRITICAL",
    "all_states01",
    "enumerate_boltzmann",
    "kaufman",
    "onsager",
    "onsager_energy",
    "state_index",
]
