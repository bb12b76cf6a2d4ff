"""What a stored wave function answers: its energy, log psi of given configurations, and
configurations drawn from |psi|^2 with an equilibrium check of the chains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.rbm.diagnostics import Diagnostics, diagnose
from app.vmc.driver import VMC, Evaluation, make_sampler
from app.vmc.io import StoredWavefunction
from app.vmc.local_energy import marshall_sign

#: Burn-in before the first kept sample: Langevin steps (traps) or sweeps (spins).
DEFAULT_STEPS = {True: 300, False: 100}


def energy(stored: StoredWavefunction, n_samples: int, seed: int) -> Evaluation:
    return VMC.from_stored(stored).evaluate(n_samples, seed=seed)


def work(stored: StoredWavefunction, n_samples: int) -> float:
    """Cost units of drawing and scoring ``n_samples``, for the request budget: the RBM's
    multiply-adds per sample, at least 256 (small ansatzes are bound by per-step overhead)."""
    n = stored.system.n_visible
    return float(n_samples) * max(n * stored.model.hidden_units(n), 256)


def log_psi(stored: StoredWavefunction, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """log |psi(x)| (B,) and, for a Heisenberg chain with the Marshall sign, the sign of psi."""
    with torch.no_grad():
        values = stored.wf.log_psi(x).numpy()
    sign = None
    if getattr(stored.system, "marshall_sign", False):
        sign = marshall_sign(x).numpy()
    return values, sign


@dataclass
class SampleDraw:
    samples: np.ndarray  # (n_samples, n_visible)
    acceptance: float
    diagnostics: Diagnostics
    sampler: str
    steps: int
    thin: int
    n_chains: int


def sample(stored: StoredWavefunction, n_samples: int, *, seed: int, steps: int | None = None,
           thin: int | None = None, n_chains: int | None = None) -> SampleDraw:
    """Configurations from |psi|^2: ``n_chains`` chains (default one per sample up to 1000), each
    ``steps`` burn-in steps/sweeps with log psi traced for the diagnostics, then thinned samples."""
    system, cfg = stored.system, stored.config
    steps = DEFAULT_STEPS[system.continuous] if steps is None else steps
    thin = (cfg.thin if system.continuous else 1) if thin is None else thin
    chains = min(n_samples, 1000) if n_chains is None else min(n_chains, n_samples)
    per_chain = -(-n_samples // chains)
    gen = torch.Generator().manual_seed(seed)
    sampler = make_sampler(system, cfg, chains, gen)
    trace, acc, prop = [], 0.0, 0
    for _ in range(steps):
        d = sampler.sample(stored.wf, 1)
        trace.append(stored.wf.log_psi(sampler.state).numpy())
        acc, prop = acc + d.acceptance, prop + 1
    draw = sampler.sample(stored.wf, per_chain, thin=thin)
    acc, prop = acc + draw.acceptance * per_chain * thin, prop + per_chain * thin
    samples = draw.samples.transpose(0, 1).reshape(-1, system.n_visible)[:n_samples].numpy()
    diag = diagnose(np.array(trace).reshape(max(steps, 0), chains) if steps else np.zeros((0, chains)),
                    steps=steps, scalar="log_psi")
    return SampleDraw(samples, acc / max(prop, 1), diag, cfg.sampler, steps, thin, chains)
