"""Request and response of ``POST /v1/models/{id}/ising-observables``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IsingObservablesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        # L and T make it work on any binary model with L*L units, e.g. the README's 8x8 digits model
        "examples": [{"L": 8, "T": 2.269185, "n_samples": 500, "steps": 200, "seed": 1}]})

    L: int | None = Field(None, ge=2, le=64, description="Lattice side; default: the L of the model's 'ising' "
                          "training data set. Required (with T) for uploaded models.")
    T: float | None = Field(None, gt=0, le=1e6, description="Temperature (J = k_B = 1); default: the training "
                            "data set's T.")
    sampler: Literal["gibbs", "metropolis"] = Field("gibbs", description="gibbs: block Gibbs v->h->v; "
                                                    "metropolis: Metropolis-Hastings on p(v).")
    n_samples: int = Field(1000, ge=2, description="Samples drawn from the model (limit: RBM_MAX_SAMPLES_PER_REQUEST).")
    steps: int = Field(1000, ge=0, description="Burn-in sweeps per chain (limit: RBM_MAX_SAMPLING_STEPS).")
    thin: int = Field(1, ge=1, description="Sweeps between consecutive samples of one chain.")
    n_chains: int | None = Field(None, ge=1, description="Chains run in parallel; default: one per sample "
                                 "(independent samples). Error bars use blocking along each chain.")
    seed: int | None = Field(None, ge=0, lt=2**63, description="Random seed; returned so a draw can be repeated.")


class Observable(BaseModel):
    """One observable per site: the model's estimate and the exact references (null where none exists)."""

    value: float = Field(description="Estimate from the model's samples.")
    error: float = Field(description="Standard error (blocking / blocked jackknife).")
    exact_enumeration: float | None = Field(None, description="Exact Boltzmann value for this L by summing all "
                                            "2^(L*L) states (L <= 4).")
    kaufman: float | None = Field(None, description="Kaufman's exact value for the same L x L torus "
                                  "(energy and specific heat only).")
    onsager: float | None = Field(None, description="Onsager/Yang infinite-lattice value (energy, spontaneous "
                                  "magnetisation, specific heat; null where infinite or undefined).")


class IsingObservablesOut(BaseModel):
    model_id: str
    L: int
    T: float
    source: Literal["dataset", "request"] = Field(description="Where L and T came from.")
    sampler: str
    n_samples: int
    steps: int
    thin: int
    seed: int
    acceptance_rate: float | None = Field(None, description="Metropolis only.")
    energy_per_site: Observable = Field(description="<E>/N with E = -sum over bonds s_i s_j.")
    abs_magnetization_per_site: Observable = Field(description="<|M|>/N.")
    specific_heat_per_site: Observable = Field(description="(<E^2> - <E>^2) / (N T^2).")
    susceptibility_per_site: Observable = Field(description="(<M^2> - <|M|>^2) / (N T), the finite-size |M| convention.")
    kl_divergence: float | None = Field(None, description="Exact KL(Boltzmann || model) in nats over all 2^(L*L) "
                                        "states (L <= 4 and L*L <= RBM_KL_MAX_VISIBLE), else null.")
