"""Requests and answers of the query endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Vectors = list[list[float]]


class VectorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": [[0, 1, 1, 0], [1, 0, 0, 1]]}]})

    data: Vectors = Field(description="Visible vectors, one per row, each of length n_visible.")


class FreeEnergyOut(BaseModel):
    free_energy: list[float] = Field(description="F(v) per row; p(v) = exp(-F(v)) / Z.")


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"n_samples": 16, "steps": 500, "seed": 1}]})

    n_samples: int = Field(10, ge=1, description="Samples to return (limit: RBM_MAX_SAMPLES_PER_REQUEST).")
    steps: int = Field(1000, ge=0, description="Sweeps before each chain's first sample (limit: RBM_MAX_SAMPLING_STEPS).")
    thin: int = Field(1, ge=1, description="Sweeps between consecutive samples of one chain.")
    n_chains: int | None = Field(None, ge=1, description="Chains run in parallel; default: one chain per sample.")
    sampler: Literal["gibbs", "metropolis"] = Field("gibbs", description="gibbs: block Gibbs v->h->v; "
                                                    "metropolis: Metropolis-Hastings on p(v) (one sweep = n_visible proposals).")
    init: Literal["random", "data", "vectors"] = Field("random", description="Chain starts: random, rows of "
                                                       "`dataset_id`, or the given `vectors`.")
    dataset_id: str | None = Field(None, description="With init='data'.")
    vectors: Vectors | None = Field(None, description="With init='vectors': starting states, cycled over the chains.")
    seed: int | None = Field(None, ge=0, lt=2**63, description="Random seed; returned so a draw can be repeated.")
    beta: float = Field(1.0, gt=0, le=100, description="Inverse temperature: sample p(v) ∝ exp(-beta F(v)).")
    return_hidden: bool = Field(False, description="Also return a hidden sample per visible sample.")


class SampleOut(BaseModel):
    samples: Vectors
    hidden: Vectors | None = None
    acceptance_rate: float | None = Field(None, description="Metropolis only: accepted / proposed moves.")
    seed: int
    sampler: str
