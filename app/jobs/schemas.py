"""What a client sends to start training and what it reads back about a job."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import UTCTimestamp
from app.rbm.training import TrainingConfig

_D = TrainingConfig()  # the engine's defaults are the API's defaults: one source of truth

JobStatus = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled"]


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visible: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="bernoulli: binary units (data in {0,1}, or [0,1] read as probabilities); "
        "gaussian: real-valued units with per-unit sigma.")
    n_hidden: int = Field(ge=1, description="Number of hidden units (limit: RBM_MAX_HIDDEN).", examples=[64])
    sigma: float | None = Field(None, gt=0, description="Gaussian only: fixed sigma for every visible unit; "
                                "default: each unit's standard deviation in the training data.")


class TrainingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["cd", "pcd"] = Field(_D.method, description="cd: contrastive divergence CD-k; pcd: persistent CD.")
    k: int = Field(_D.k, ge=1, le=1000, description="Gibbs steps in the negative phase.")
    epochs: int = Field(_D.epochs, ge=1, description="Passes over the training data (limit: RBM_MAX_EPOCHS).")
    batch_size: int = Field(_D.batch_size, ge=1, le=100_000)
    learning_rate: float = Field(_D.learning_rate, gt=0, le=10)
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(_D.lr_schedule, description="Decay of the learning rate to 0 over the run.")
    momentum: float = Field(_D.momentum, ge=0, lt=1)
    weight_decay: float = Field(_D.weight_decay, ge=0, description="L2 penalty on the weights.")
    sparsity_target: float | None = Field(_D.sparsity_target, gt=0, lt=1, description="Target mean activation of hidden units.")
    sparsity_cost: float = Field(_D.sparsity_cost, ge=0)
    learn_sigma: bool = Field(_D.learn_sigma, description="Gaussian only: learn log sigma by gradient ascent.")
    seed: int = Field(_D.seed, ge=0, lt=2**63, description="Same seed + same data + same device = same weights.")
    validation_fraction: float = Field(_D.validation_fraction, ge=0, le=0.5, description="Held out for validation metrics.")
    n_chains: int | None = Field(_D.n_chains, ge=1, le=100_000, description="PCD: persistent chains (default: batch_size).")
    monitor_size: int = Field(_D.monitor_size, ge=1, le=100_000, description="Vectors used for per-epoch metrics.")
    centering: bool = Field(_D.centering, description="Centred gradient (Melchior et al. 2016): offsets for visible "
                            "and hidden units; weights are still stored in the standard form.")

    def to_config(self) -> TrainingConfig:
        return TrainingConfig(**self.model_dump())


assert {f.name for f in fields(TrainingConfig)} >= set(TrainingOptions.model_fields), \
    "TrainingOptions names a field TrainingConfig lacks"


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dataset_id": "<id from POST /v1/datasets/builtin>", "model": {"n_hidden": 64},
         "training": {"epochs": 20}}]})

    dataset_id: str
    name: str | None = Field(None, max_length=200)
    model: ModelSpec
    training: TrainingOptions = Field(default_factory=TrainingOptions)


class Progress(BaseModel):
    epoch: int
    epochs: int


class JobOut(BaseModel):
    id: str
    name: str | None
    dataset_id: str
    status: JobStatus
    progress: Progress
    metrics: list[dict[str, Any]] = Field(description="One entry per finished epoch: {epoch, reconstruction_error, ...}.")
    model_id: str | None
    error: str | None
    model: dict[str, Any]
    training: dict[str, Any]
    attempts: int
    created_at: UTCTimestamp
    started_at: UTCTimestamp | None
    finished_at: UTCTimestamp | None
