"""Requests and answers of the wave-function routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EnergyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"n_samples": 100000, "seed": 1}]})

    n_samples: int = Field(100_000, ge=1, description="Samples of |psi|^2 averaged (limit: "
                           "RBM_VMC_MAX_ENERGY_WORK on n_samples x n_visible x n_hidden).")
    seed: int = Field(0, ge=0, lt=2**62, description="Same seed, same model: same answer.")


class EnergyOut(BaseModel):
    energy: float = Field(description="<E_L> over the samples.")
    energy_error: float | None = Field(description="Standard error by blocking (correlated chains); null below "
                                       "two samples.")
    variance: float = Field(description="Variance of the local energy (0 for an exact eigenstate).")
    acceptance: float
    n_samples: int
    exact_energy: float | None = Field(description="The exact ground-state energy where one is known.")
    relative_error: float | None


class LogPsiRequest(BaseModel):
    # 20 spins: fits the model of the first vmc job example (tfim, n_spins=20)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": [[1, -1] * 10]}]})

    data: list[list[float]] = Field(description="Configurations, one per row: n_visible coordinates (traps, "
                                    "particle-major x1, y1, x2, y2, ...) or spins -1/+1.")


class LogPsiOut(BaseModel):
    log_psi: list[float] = Field(description="log |psi| (unnormalised) of each row.")
    sign: list[float] | None = Field(None, description="Heisenberg with the Marshall sign: the sign of psi "
                                     "(-1)^(up spins on odd sites); null where psi > 0.")
