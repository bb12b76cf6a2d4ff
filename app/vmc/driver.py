"""The VMC loop: sample |psi|^2, average E_L, update the parameters; evaluate at the end.

Why one class: the job runner, the bench and the tests drive the same object, and a
checkpoint is its ``state_dict()`` (parameters, optimiser moments, chain positions,
generator state, iteration), from which ``load_state_dict`` continues bit-identically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from app.physics.blocking import blocking_analysis
from app.vmc.ansatz import build_wavefunction
from app.vmc.config import ModelConfig, VMCConfig, config_to_dict, resolve
from app.vmc.exact import exact_energy
from app.vmc.local_energy import local_energy
from app.vmc.optimizers import make_optimizer
from app.vmc.samplers import ContinuousSampler, SpinSampler
from app.vmc.systems import HarmonicTrap, System, system_from_dict, system_to_dict

Callback = Callable[[dict[str, Any]], bool | None]
LOCAL_ENERGY_CHUNK = 8192  # walkers per local-energy batch: bounds the (B, N, H) ratio tensor


@dataclass(frozen=True)
class Evaluation:
    energy: float
    energy_error: float | None
    variance: float
    acceptance: float
    n_samples: int
    exact_energy: float | None

    @property
    def relative_error(self) -> float | None:
        if self.exact_energy is None or self.exact_energy == 0:
            return None
        return abs(self.energy - self.exact_energy) / abs(self.exact_energy)

    def as_dict(self) -> dict[str, Any]:
        return {"energy": self.energy, "energy_error": self.energy_error, "variance": self.variance,
                "acceptance": self.acceptance, "n_samples": self.n_samples,
                "exact_energy": self.exact_energy, "relative_error": self.relative_error}


def make_sampler(system: System, cfg: VMCConfig, n_chains: int, generator: torch.Generator):
    if isinstance(system, HarmonicTrap):
        return ContinuousSampler(n_chains, system.n_visible, move=cfg.sampler, step=cfg.step_size,
                                 generator=generator, scale=1.0 / system.omega**0.5)
    return SpinSampler(n_chains, system.n_visible, move=cfg.sampler, generator=generator)


def batched_local_energy(system: System, wf, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([local_energy(system, wf, c) for c in x.split(LOCAL_ENERGY_CHUNK)])


def summarize(E: np.ndarray) -> tuple[float, float | None, float]:
    """Mean, blocking error (None below two samples) and variance of chain-major local energies E (n_chains, T)."""
    flat = np.ascontiguousarray(E).ravel()
    res = blocking_analysis(flat)
    return res.mean, (res.error if np.isfinite(res.error) else None), float(flat.var())


class VMC:
    """Variational Monte Carlo for one system and ansatz; see module docstring."""

    def __init__(self, system: System | dict, model: ModelConfig | dict | None = None,
                 config: VMCConfig | dict | None = None) -> None:
        self.system = system if not isinstance(system, dict) else system_from_dict(system)
        self.model, self.config = resolve(self.system, model, config)
        cfg = self.config
        init_gen = torch.Generator().manual_seed(cfg.seed)
        self.wf = build_wavefunction(self.system, self.model, init_gen)
        self.generator = torch.Generator().manual_seed(cfg.seed + 1)
        self.sampler = make_sampler(self.system, cfg, cfg.n_chains, self.generator)
        self.optimizer = make_optimizer(cfg.optimizer, cfg.learning_rate, self.wf.n_params, cfg.sr_shift)
        self.iteration = 0
        self.exact_energy = exact_energy(self.system)

    @classmethod
    def from_stored(cls, stored) -> VMC:
        """A driver around a stored wave function (:class:`app.vmc.io.StoredWavefunction`)."""
        vmc = cls(stored.system, stored.model, stored.config)
        vmc.wf.params.copy_(stored.wf.params)
        return vmc

    # -- one iteration -------------------------------------------------------------------
    def step(self) -> dict[str, Any]:
        cfg = self.config
        discard = cfg.thermalize if self.iteration == 0 else cfg.discard
        draw = self.sampler.sample(self.wf, cfg.n_samples // cfg.n_chains, thin=cfg.thin, discard=discard)
        x = draw.samples.reshape(-1, draw.samples.shape[-1])
        E = batched_local_energy(self.system, self.wf, x)
        if not torch.isfinite(E).all():
            raise FloatingPointError("non-finite local energy: lower learning_rate or step_size")
        O = self.wf.param_grad(x)
        mean, err, var = summarize(E.view(cfg.n_chains, -1).numpy())
        self.optimizer.step(self.wf.params, O, E)
        self.iteration += 1
        return {"iteration": self.iteration, "energy": mean, "energy_error": err,
                "variance": var, "acceptance": draw.acceptance}

    def run(self, iterations: int | None = None, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run until ``iterations`` in total (default: config.iterations); callback False stops."""
        total = self.config.iterations if iterations is None else iterations
        history = []
        while self.iteration < total:
            rec = self.step()
            history.append(rec)
            if callback is not None and callback(rec) is False:
                break
        return history

    # -- the final estimate ---------------------------------------------------------------
    def evaluate(self, n_samples: int | None = None, seed: int | None = None,
                 n_chains: int | None = None) -> Evaluation:
        """Energy of the current parameters from fresh chains (seeded), in chunks of chains' steps."""
        cfg = self.config
        n = int(n_samples if n_samples is not None else cfg.eval_samples)
        chains = int(n_chains if n_chains is not None else min(max(cfg.n_chains, 1000), n))
        per_chain = -(-n // chains)
        gen = torch.Generator().manual_seed(cfg.seed + 7919 if seed is None else seed)
        sampler = make_sampler(self.system, cfg, chains, gen)
        chunk = max(1, LOCAL_ENERGY_CHUNK * 4 // chains)
        energies, acc_sum, acc_n, done = [], 0.0, 0, 0
        discard = cfg.thermalize
        while done < per_chain:
            k = min(chunk, per_chain - done)
            draw = sampler.sample(self.wf, k, thin=cfg.thin, discard=discard)
            discard = 0
            x = draw.samples.reshape(-1, draw.samples.shape[-1])
            energies.append(batched_local_energy(self.system, self.wf, x).view(chains, k).numpy())
            acc_sum, acc_n, done = acc_sum + draw.acceptance * k, acc_n + k, done + k
        E = np.concatenate(energies, axis=1)
        mean, err, var = summarize(E)
        return Evaluation(mean, err, var, acc_sum / acc_n, int(E.size), self.exact_energy)

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        return self.wf.log_psi(x.to(torch.float64))

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "system": system_to_dict(self.system),
            "model": config_to_dict(self.model),
            "config": config_to_dict(self.config),
            "params": self.wf.params.clone(),
            "optimizer": self.optimizer.state_dict(),
            "sampler_state": self.sampler.state.clone(),
            "rng": self.generator.get_state(),
            "iteration": self.iteration,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["system"] != system_to_dict(self.system):
            raise ValueError("checkpoint is for a different system")
        self.wf.params.copy_(state["params"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.state = state["sampler_state"].clone()
        self.generator.set_state(state["rng"])
        self.iteration = int(state["iteration"])
