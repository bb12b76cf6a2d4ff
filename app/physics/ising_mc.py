"""Monte Carlo samples of the 2D Ising model on the L x L torus (J = 1, k_B = 1).

Why: training data for RBMs and a check of the whole pipeline against exact
answers (:mod:`app.physics.ising_exact`). ``H = -sum_<ij> s_i s_j`` with the bond
convention of :mod:`app.physics.lattice`.

Design
------
* R independent chains (default ``min(n_samples, 64)``) run side by side as one
  ``(R, L*L)`` int8 array; each contributes ``ceil(n_samples / R)`` samples and the
  result is ordered chain-major (chain 0's samples in time order, then chain 1, ...),
  so blocking analysis sees each chain's time series contiguously.
* ``"metropolis"``: checkerboard single-spin Metropolis (:mod:`.mc_metropolis`);
  for odd L a 3-colouring replaces the checkerboard (odd tori are not bipartite).
  ``burn_in`` and ``thin`` count sweeps.
* ``"swendsen_wang"``: Swendsen-Wang cluster sweeps, all chains labelled in one
  scipy connected-components call (:mod:`.mc_swendsen_wang`). ``burn_in`` and
  ``thin`` count sweeps.
* ``"wolff"``: genuine Wolff single-cluster updates, grown breadth-first and
  vectorised over chains (:mod:`.mc_wolff`). ``burn_in`` and ``thin`` count
  sweep-equivalents, the usual Wolff time unit: burn-in runs until on average
  (over chains) burn_in * N spins have been flipped, and measures the mean
  cluster size <C>; each production unit is then a *fixed* round(N / <C>) cluster
  flips (a state-dependent stopping rule would bias the recorded states). Correct but its
  Python loop runs once per BFS layer, so it is ~5-10x slower than
  Swendsen-Wang per unit of decorrelation; it is kept as an independent check.
* ``"auto"``: Swendsen-Wang for 1.8 <= T <= 3.0, where Metropolis' critical
  slowing down bites (tau ~ L^2.17 at T_c), and Metropolis elsewhere, where
  its autocorrelation time is a few sweeps and a sweep is cheaper.
* Start: ordered (each chain all +1 or all -1 at random) below T_c, random above.
  After every recorded sample each chain is globally flipped with probability
  1/2. H is invariant under s -> -s, so this move keeps the Boltzmann law
  invariant; it balances +M and -M even at low T where Metropolis never tunnels.

Default schedule, from integrated autocorrelation times measured at L = 16,
T_c (tau_E, tau_|M| in own units: Swendsen-Wang 3.1, 2.7; Wolff 1.3, 1.1;
Metropolis 5.3, 10): Metropolis burn_in = 200 sweeps and thin = 2 away from
the critical window (tau ~ 1 there); Metropolis forced inside the window
burn_in = max(200, 2 L^2), thin = max(2, L^2 // 8) (tau grows ~ L^2.17);
Swendsen-Wang burn_in = 100, thin = 3 sweeps; Wolff burn_in = 50, thin = 1
sweep-equivalent. Remaining correlation is handled by the blocking error bars
of :mod:`app.physics.observables`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.physics.lattice import T_CRITICAL, energy_pm, neighbour_table, validate_size, validate_temperature
from app.physics.mc_metropolis import MetropolisKernel
from app.physics.mc_swendsen_wang import SwendsenWangKernel
from app.physics.mc_wolff import WolffKernel

ALGORITHMS = ("auto", "metropolis", "swendsen_wang", "wolff")
CLUSTER_WINDOW = (1.8, 3.0)
DEFAULT_MAX_CHAINS = 64


@dataclass(frozen=True)
class IsingSamples:
    """Equilibrium configurations and their energies.

    spins: (n_samples, L*L) uint8, 1 = spin +1, 0 = spin -1, row-major sites.
    energy: (n_samples,) float64 total energy H of each configuration.
    magnetization: (n_samples,) float64 total magnetisation sum_i s_i.
    """

    spins: np.ndarray
    energy: np.ndarray
    magnetization: np.ndarray
    L: int
    T: float
    algorithm: str
    burn_in: int
    thin: int
    n_chains: int


def resolve_algorithm(algorithm: str, T: float) -> str:
    """Map ``"auto"`` to ``"swendsen_wang"`` inside the critical window, else ``"metropolis"``."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if algorithm != "auto":
        return algorithm
    lo, hi = CLUSTER_WINDOW
    return "swendsen_wang" if lo <= T <= hi else "metropolis"


def default_schedule(L: int, T: float, algorithm: str) -> tuple[int, int]:
    """(burn_in, thin) defaults for a resolved algorithm; units as in the module doc."""
    if algorithm == "wolff":
        return 50, 1
    if algorithm == "swendsen_wang":
        return 100, 3
    lo, hi = CLUSTER_WINDOW
    if lo <= T <= hi:
        return max(200, 2 * L * L), max(2, L * L // 8)
    return 200, 2


def _check_count(name: str, value: int | None, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _initial_state(L: int, T: float, R: int, rng: np.random.Generator) -> np.ndarray:
    """Ordered start below T_c, random start above; shape (R, N) int8."""
    N = L * L
    if T < T_CRITICAL:
        signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=R)
        return np.repeat(signs[:, None], N, axis=1)
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(R, N))


def sample_ising(
    L: int,
    T: float,
    n_samples: int,
    *,
    seed: int = 0,
    algorithm: str = "auto",
    burn_in: int | None = None,
    thin: int | None = None,
    n_chains: int | None = None,
) -> IsingSamples:
    """Draw ``n_samples`` (approximately independent) Boltzmann configurations.

    ``burn_in`` (>= 0) and ``thin`` (>= 1) are in sweeps (Metropolis) or
    sweep-equivalents (Wolff); ``None`` picks :func:`default_schedule`.
    ``n_chains`` (>= 1) parallel chains, default ``min(n_samples, 64)``.
    Deterministic for a given ``seed``.
    """
    L = validate_size(L)
    T = validate_temperature(T)
    n_samples = _check_count("n_samples", n_samples, 1)
    assert n_samples is not None
    burn_in = _check_count("burn_in", burn_in, 0)
    thin = _check_count("thin", thin, 1)
    n_chains = _check_count("n_chains", n_chains, 1)
    used = resolve_algorithm(algorithm, T)
    default_burn, default_thin = default_schedule(L, T, used)
    burn_in = default_burn if burn_in is None else burn_in
    thin = default_thin if thin is None else thin

    R = min(n_samples, DEFAULT_MAX_CHAINS) if n_chains is None else min(n_chains, n_samples)
    per_chain = math.ceil(n_samples / R)
    N = L * L
    rng = np.random.default_rng(seed)
    spins = _initial_state(L, T, R, rng)
    nbr = neighbour_table(L)

    if used == "metropolis":
        kernel = MetropolisKernel(L, T)

        def advance(units: int) -> None:
            for _ in range(units):
                kernel.sweep(spins, rng)

    elif used == "swendsen_wang":
        sw = SwendsenWangKernel(L, T)

        def advance(units: int) -> None:
            for _ in range(units):
                sw.sweep(spins, rng)

    else:
        wolff = WolffKernel(L, T)
        steps_per_unit = [1]

        def burn(units: int) -> None:
            # Adaptive length is fine here (nothing is recorded); it also measures
            # the mean cluster size that fixes the production step count below.
            flipped, target, sizes = 0.0, float(units * N), []
            while flipped < target:
                sizes.append(float(wolff.step(spins, rng).mean()))
                flipped += sizes[-1]
            if not sizes:  # burn_in = 0: measure clusters on a throw-away copy
                scratch = spins.copy()
                sizes = [float(wolff.step(scratch, rng).mean()) for _ in range(20)]
            tail = sizes[len(sizes) // 2 :]
            steps_per_unit[0] = max(1, round(N / float(np.mean(tail))))

        def advance(units: int) -> None:
            # A fixed step count per sample: stopping on "N spins flipped" would
            # make the sampling time depend on the trajectory and bias the samples.
            for _ in range(units * steps_per_unit[0]):
                wolff.step(spins, rng)

    out = np.empty((per_chain, R, N), dtype=np.int8)
    energy = np.empty((per_chain, R), dtype=np.float64)
    if used == "wolff":
        burn(burn_in)
    else:
        advance(burn_in)
    for k in range(per_chain):
        advance(thin)
        spins[rng.random(R) < 0.5] *= -1  # exact symmetry move, see module doc
        out[k] = spins
        energy[k] = energy_pm(spins, nbr)

    # chain-major order: (R, per_chain, N) -> (R * per_chain, N), then truncate
    pm = out.transpose(1, 0, 2).reshape(R * per_chain, N)[:n_samples]
    return IsingSamples(
        spins=((pm + 1) // 2).astype(np.uint8),
        energy=energy.T.reshape(-1)[:n_samples].copy(),
        magnetization=pm.sum(axis=1, dtype=np.int64).astype(np.float64),
        L=L,
        T=T,
        algorithm=used,
        burn_in=burn_in,
        thin=thin,
        n_chains=R,
    )
