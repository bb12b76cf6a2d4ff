"""What a VMC run is made of (model and run settings) and the defaults per system type.

Why defaults per system: a trap wants a continuous sampler and Adam, a spin chain SR
and flips (or exchanges for Heisenberg). Every default here was chosen by a
measurement in ``bench/vmc/`` (see bench/README.md), so that a job given only its
``system`` and a seed meets the issue's targets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from app.vmc.systems import TFIM, HarmonicTrap, Heisenberg, System


@dataclass(frozen=True)
class ModelConfig:
    """n_hidden wins over alpha (hidden units per visible unit); form/jastrow/sigma2 for traps only."""

    n_hidden: int | None = None
    alpha: float | None = None
    form: str = "plain"
    jastrow: bool = False
    sigma2: float | None = None

    def hidden_units(self, n_visible: int) -> int:
        if self.n_hidden is not None:
            return int(self.n_hidden)
        return max(1, int(round((self.alpha if self.alpha is not None else 1.0) * n_visible)))


@dataclass(frozen=True)
class VMCConfig:
    """iterations; samples per iteration over n_chains chains; sampler and its step; optimiser.

    thin: steps (continuous) or sweeps (spins) between kept samples; discard: steps/sweeps
    dropped before each iteration's samples; thermalize: dropped before the first one.
    """

    iterations: int = 300
    n_samples: int = 1000
    n_chains: int = 100
    sampler: str = "flip"
    step_size: float = 0.5
    thin: int = 1
    discard: int = 2
    thermalize: int = 50
    optimizer: str = "sr"
    learning_rate: float = 0.05
    sr_shift: float = 0.01
    seed: int = 0
    eval_samples: int = 50_000


def default_model(system: System) -> ModelConfig:
    if isinstance(system, HarmonicTrap):
        return ModelConfig(n_hidden=2, form="sqrt", jastrow=False)
    if isinstance(system, TFIM):
        return ModelConfig(alpha=2.0)  # N = 20: rel. error 4e-5 (alpha 1: 9e-5) after 300 SR steps
    return ModelConfig(alpha=2.0)


def default_vmc(system: System) -> VMCConfig:
    if isinstance(system, HarmonicTrap):
        return VMCConfig(iterations=300, n_samples=4000, n_chains=200, sampler="langevin",
                         step_size=0.5 / system.omega, thin=2, discard=5, thermalize=200,
                         optimizer="sr", learning_rate=0.05, sr_shift=0.01, eval_samples=100_000)
    if isinstance(system, TFIM):
        return VMCConfig(iterations=300, n_samples=1000, n_chains=100, sampler="flip",
                         optimizer="sr", learning_rate=0.05, sr_shift=0.01, eval_samples=50_000)
    assert isinstance(system, Heisenberg)
    return VMCConfig(iterations=400, n_samples=1000, n_chains=100, sampler="exchange",
                     optimizer="sr", learning_rate=0.02, sr_shift=0.01, eval_samples=50_000)


def _merge(base, overrides: dict[str, Any] | None):
    if not overrides:
        return base
    names = {f.name for f in fields(base)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; allowed: {sorted(names)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def resolve(system: System, model: ModelConfig | dict | None = None,
            vmc: VMCConfig | dict | None = None) -> tuple[ModelConfig, VMCConfig]:
    """Defaults for ``system`` with the given fields (None = default) laid over them."""
    m = model if isinstance(model, ModelConfig) else _merge(default_model(system), model)
    if isinstance(model, dict) and model.get("n_hidden") is None and model.get("alpha") is not None:
        m = replace(m, n_hidden=None)
    v = vmc if isinstance(vmc, VMCConfig) else _merge(default_vmc(system), vmc)
    validate(system, m, v)
    return m, v


_SAMPLERS = {True: ("metropolis", "langevin"), False: ("flip", "exchange")}


def validate(system: System, model: ModelConfig, vmc: VMCConfig) -> None:
    """Combinations the ansatz or sampler cannot run; ValueError says what to change."""
    ok = _SAMPLERS[system.continuous]
    if vmc.sampler not in ok:
        raise ValueError(f"sampler {vmc.sampler!r} does not apply to {system.type}; use one of {list(ok)}")
    if vmc.optimizer not in ("sgd", "adam", "sr"):
        raise ValueError(f"optimizer must be 'sgd', 'adam' or 'sr', got {vmc.optimizer!r}")
    if vmc.n_chains < 1 or vmc.n_samples < vmc.n_chains or vmc.n_samples % vmc.n_chains:
        raise ValueError(f"n_samples ({vmc.n_samples}) must be a positive multiple of n_chains ({vmc.n_chains})")
    for name in ("iterations", "thin", "eval_samples"):
        if getattr(vmc, name) < 1:
            raise ValueError(f"{name} must be >= 1")
    if vmc.discard < 0 or vmc.thermalize < 0:
        raise ValueError("discard and thermalize must be >= 0")
    if not vmc.learning_rate > 0 or vmc.sr_shift < 0 or not vmc.step_size > 0:
        raise ValueError("learning_rate and step_size must be > 0, sr_shift >= 0")
    if model.hidden_units(system.n_visible) < 1:
        raise ValueError("the model needs at least one hidden unit")
    if isinstance(system, HarmonicTrap):
        if model.form not in ("plain", "sqrt"):
            raise ValueError(f"form must be 'plain' or 'sqrt', got {model.form!r}")
        if model.jastrow and system.dim < 2:
            raise ValueError("jastrow needs dim >= 2 (there is no cusp in 1D)")
        if model.sigma2 is not None and not model.sigma2 > 0:
            raise ValueError("sigma2 must be > 0")
    elif model.jastrow or model.form != "plain" or model.sigma2 is not None:
        raise ValueError("form, jastrow and sigma2 apply to harmonic_trap systems only")


def config_to_dict(cfg) -> dict[str, Any]:
    return asdict(cfg)
