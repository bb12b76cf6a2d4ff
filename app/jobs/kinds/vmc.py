"""Kind `vmc`: variational Monte Carlo with an RBM trial wave function (app/vmc); the result is a
model of kind `wavefunction` and `job.result` holds the final energy against the exact one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.core.settings import Settings
from app.jobs.kinds.common import JobCommon, Submission
from app.vmc.ansatz import build_wavefunction
from app.vmc.config import ModelConfig, VMCConfig, resolve
from app.vmc.systems import System, system_from_dict

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class HarmonicTrapSpec(BaseModel):
    model_config = _STRICT
    type: Literal["harmonic_trap"]
    n_particles: int = Field(2, ge=1, description="P particles (limit: P x dim <= RBM_VMC_MAX_COORDINATES).")
    dim: int = Field(2, ge=1, le=3)
    omega: float = Field(1.0, gt=0, le=1e4, description="Trap frequency.")
    interaction: Literal["none", "coulomb"] = Field("none", description="coulomb: 1/r_ij between every pair "
                                                    "(dim 2 or 3; particles are treated as spatially symmetric: a "
                                                    "spin singlet for P = 2, bosons beyond).")


class TFIMSpec(BaseModel):
    model_config = _STRICT
    type: Literal["tfim"]
    n_spins: int = Field(20, ge=2, description="Chain length (limit: RBM_VMC_MAX_SPINS).")
    h: float = Field(1.0, ge=0, le=1e4, description="Transverse field.")
    J: float = Field(1.0, ge=-1e4, le=1e4, description="Coupling of s^z_i s^z_{i+1}.")
    pbc: bool = True


class HeisenbergSpec(BaseModel):
    model_config = _STRICT
    type: Literal["heisenberg"]
    n_spins: int = Field(16, ge=2, description="Chain length (limit: RBM_VMC_MAX_SPINS; exact energy up to 16).")
    J: float = Field(1.0, ge=-1e4, le=1e4, description="J > 0: antiferromagnet, Marshall sign applied.")
    pbc: bool = True


SystemSpec = Annotated[HarmonicTrapSpec | TFIMSpec | HeisenbergSpec, Field(discriminator="type")]


class VMCModelSpec(BaseModel):
    model_config = _STRICT
    n_hidden: int | None = Field(None, ge=1, description="Hidden units; wins over alpha.")
    alpha: float | None = Field(None, gt=0, le=64, description="Hidden units per visible unit (default: 2 hidden "
                                "units for traps, alpha 1 for tfim, 2 for heisenberg).")
    form: Literal["plain", "sqrt"] | None = Field(None, description="Traps: psi = F(x) (plain) or sqrt(F(x)) "
                                                  "(default).")
    jastrow: bool | None = Field(None, description="Traps with dim >= 2: times a Pade-Jastrow factor with the "
                                 "cusp a = 1/(dim-1) and a variational beta.")


class VMCOptions(BaseModel):
    model_config = _STRICT
    iterations: int | None = Field(None, ge=1, le=1_000_000)
    n_samples: int | None = Field(None, ge=1, le=10_000_000, description="Samples per iteration (a multiple of "
                                  "n_chains).")
    n_chains: int | None = Field(None, ge=1, le=1_000_000)
    sampler: Literal["metropolis", "langevin", "flip", "exchange"] | None = Field(
        None, description="Traps: metropolis (brute force) or langevin (importance sampling, default); spins: "
        "flip (single-spin Metropolis; tfim default) or exchange (swaps conserving S^z; heisenberg default).")
    step_size: float | None = Field(None, gt=0, le=1e3, description="Traps: Metropolis step or Langevin dt.")
    optimizer: Literal["sgd", "adam", "sr"] | None = Field(None, description="sr: stochastic reconfiguration "
                                                           "(default).")
    learning_rate: float | None = Field(None, gt=0, le=10)
    sr_shift: float | None = Field(None, ge=0, le=1e3, description="Diagonal shift added to the S matrix.")
    seed: int = Field(0, ge=0, lt=2**62)
    eval_samples: int | None = Field(None, ge=1, le=100_000_000, description="Samples of the final energy "
                                     "estimate.")


class VMCJob(JobCommon):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"kind": "vmc", "system": {"type": "tfim", "n_spins": 20, "h": 1.0, "J": 1.0},
         "vmc": {"iterations": 50, "eval_samples": 10000, "seed": 1}},
        {"kind": "vmc", "system": {"type": "harmonic_trap", "n_particles": 2, "dim": 2, "omega": 1.0,
                                   "interaction": "coulomb"}, "model": {"jastrow": True}}]})

    kind: Literal["vmc"]
    system: SystemSpec
    model: VMCModelSpec = Field(default_factory=VMCModelSpec)
    vmc: VMCOptions = Field(default_factory=VMCOptions)

    def system_dict(self) -> dict[str, Any]:
        return self.system.model_dump()

    def overrides(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The fields given (None = the system's default), for :func:`app.vmc.config.resolve`."""
        return self.model.model_dump(exclude_none=True), self.vmc.model_dump(exclude_none=True)


def resolve_job(spec: VMCJob) -> tuple[System, ModelConfig, VMCConfig]:
    """System and full settings of a spec; ValueError (a 422 in check) when they do not fit."""
    system = system_from_dict(spec.system_dict())
    model, vmc = resolve(system, *spec.overrides())
    return system, model, vmc


def check_limits(settings: Settings, system: System, model: ModelConfig, vmc: VMCConfig) -> None:
    n = system.n_visible
    if system.continuous and n > settings.vmc_max_coordinates:
        raise InvalidRequest(f"n_particles x dim = {n} exceeds the limit {settings.vmc_max_coordinates} "
                             "(RBM_VMC_MAX_COORDINATES)")
    if not system.continuous and n > settings.vmc_max_spins:
        raise InvalidRequest(f"n_spins = {n} exceeds the limit {settings.vmc_max_spins} (RBM_VMC_MAX_SPINS)")
    hidden = model.hidden_units(n)
    if hidden > settings.max_hidden:
        raise InvalidRequest(f"{hidden} hidden units exceed the limit {settings.max_hidden} (RBM_MAX_HIDDEN)")
    n_params = build_wavefunction(system, model).n_params
    if n_params > settings.vmc_max_params:
        raise InvalidRequest(f"the ansatz has {n_params} parameters; the limit is {settings.vmc_max_params} "
                             "(RBM_VMC_MAX_PARAMS): lower n_hidden or alpha")
    values = vmc.n_samples * n_params
    if values > settings.vmc_max_iteration_values:
        raise InvalidRequest(f"n_samples x parameters = {values} exceeds the limit {settings.vmc_max_iteration_values} "
                             "(RBM_VMC_MAX_ITERATION_VALUES): fewer samples per iteration or a smaller model")
    work = (vmc.iterations * vmc.n_samples + vmc.eval_samples) * n * hidden
    if work > settings.vmc_max_work:
        raise InvalidRequest(f"(iterations x n_samples + eval_samples) x n_visible x n_hidden = {work:.3g} "
                             f"exceeds the limit {settings.vmc_max_work:.3g} (RBM_VMC_MAX_WORK)")


def check(ctx: ServiceContext, session: Session, spec: VMCJob) -> Submission:
    """The system is physical and representable, the settings fit it, and the limits hold."""
    try:
        system, model, vmc = resolve_job(spec)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    check_limits(ctx.settings, system, model, vmc)
    return Submission(steps=vmc.iterations, unit="iteration")
