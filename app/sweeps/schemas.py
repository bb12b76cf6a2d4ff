"""What a client sends to start a sweep and what it reads back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.apidocs.examples import DATASET_PLACEHOLDER
from app.core.schemas import UTCTimestamp
from app.core.tags import Tags

OptionPath = str  # dotted path into the job spec: "training.learning_rate", "model.n_hidden"


class RandomRange(BaseModel):
    """Samples of one option: uniform in [low, high] (log-uniform with ``log``), rounded with
    ``integer``; or a uniform choice among ``values``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    low: float | None = None
    high: float | None = None
    log: bool = Field(False, description="Sample log(value) uniformly: for learning rates and decays.")
    integer: bool = Field(False, description="Round to an integer (hidden units, batch sizes).")
    values: list[Any] | None = Field(None, min_length=1, description="Instead of a range: pick one of these.")

    @model_validator(mode="after")
    def _range_or_values(self) -> RandomRange:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either values or low/high, not both")
            return self
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ValueError("a range needs low <= high (or give values)")
        if self.log and self.low <= 0:
            raise ValueError("log sampling needs low > 0")
        return self


class SweepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [{
        "name": "lr-x-hidden", "tags": {"project": "readme"},
        "base": {"dataset_id": DATASET_PLACEHOLDER, "model": {"n_hidden": 32}, "training": {"epochs": 5}},
        "grid": {"training.learning_rate": [0.1, 0.03], "model.n_hidden": [16, 32]},
        "metric": "reconstruction_error", "goal": "min"}]})

    name: str | None = Field(None, max_length=200, description="The jobs are named <name>-1, <name>-2, ...")
    tags: Tags = None
    base: dict[str, Any] = Field(description="A POST /v1/jobs body (any kind); the swept options are set on it.")
    grid: dict[OptionPath, list[Any]] | None = Field(
        None, description="Every combination of these values: {option path: [values]}.")
    random: dict[OptionPath, RandomRange] | None = Field(
        None, description="`count` random draws: {option path: {low, high, log, integer} or {values}}.")
    count: int | None = Field(None, ge=1, description="random: how many jobs (limit: RBM_SWEEP_MAX_JOBS).")
    seed: int = Field(0, ge=0, lt=2**63, description="random: the same seed draws the same points.")
    metric: str = Field("reconstruction_error", max_length=100,
                        description="The final metric that ranks the jobs (a per-epoch metric or a number of "
                        "the job's result).")
    goal: Literal["min", "max"] = Field("min", description="Whether the best job has the smallest or largest metric.")
    priority: int | None = Field(None, ge=-1000, le=1000, description="Queue priority of every job (default: the "
                                 "base spec's).")

    @model_validator(mode="after")
    def _one_space(self) -> SweepCreate:
        if (self.grid is None) == (self.random is None):
            raise ValueError("give exactly one of grid or random")
        if self.grid is not None and (not self.grid or any(not v for v in self.grid.values())):
            raise ValueError("grid needs at least one option, each with at least one value")
        if self.random is not None and (not self.random or self.count is None):
            raise ValueError("random needs at least one option and a count")
        if self.grid is not None and self.count is not None:
            raise ValueError("count applies to random sweeps only")
        return self


class SweepJob(BaseModel):
    id: str
    name: str | None
    status: str
    options: dict[str, Any] = Field(description="The swept options' values in this job.")
    value: float | None = Field(description="The sweep's metric, once the job reports it.")
    model_id: str | None
    progress: str = Field(description="step/steps")


class SweepOut(BaseModel):
    id: str
    name: str | None
    tags: dict[str, str]
    base: dict[str, Any]
    space: dict[str, Any]
    metric: str | None
    goal: str
    created_at: UTCTimestamp
    counts: dict[str, int] = Field(description="Jobs by status.")
    done: bool = Field(description="True when every job is final.")
    jobs: list[SweepJob] = Field(description="Best first by the metric; jobs without it yet come last.")
    best: SweepJob | None = Field(description="The best finished job with the metric, and its model.")
