"""What a client reads back about a job. What it sends is the kind's spec (``app.jobs.kinds``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.schemas import UTCTimestamp
from app.db.states import FINAL, JobKind, JobStatus
from app.jobs.kinds import JobCreate
from app.jobs.kinds.train import ModelSpec, TrainingOptions

__all__ = ["JobCreate", "JobOut", "Progress", "ModelSpec", "TrainingOptions", "JobStatus", "JobKind"]


class Progress(BaseModel):
    epoch: int = Field(description="Steps done (the name predates job kinds; same as `step`).")
    epochs: int = Field(description="Steps in all (same as `steps`).")
    step: int
    steps: int
    unit: str = Field(description="What a step is: epoch (train, dbn), percent (estimate), iteration (vmc).")


class JobOut(BaseModel):
    id: str
    kind: JobKind
    name: str | None
    tags: dict[str, str]
    priority: int
    dataset_id: str | None
    status: JobStatus = Field(json_schema_extra={"x-final": [s.value for s in FINAL]},
                              description="x-final lists the states a job never leaves.")
    progress: Progress
    metrics: list[dict[str, Any]] = Field(description="One entry per finished step: {epoch, reconstruction_error, ...}.")
    model_id: str | None
    result: dict[str, Any] | None = Field(description="What a finished job yields besides a model (estimate: log Z "
                                          "and likelihoods; vmc: energies; train: final evaluation).")
    error: str | None
    spec: dict[str, Any] = Field(description="The job's full spec as validated at submission, defaults filled in.")
    model: dict[str, Any] | None = Field(description="Train jobs: the model spec (also in `spec`).")
    training: dict[str, Any] | None = Field(description="Train jobs: the training options (also in `spec`).")
    sweep_id: str | None
    attempts: int
    created_at: UTCTimestamp
    started_at: UTCTimestamp | None
    finished_at: UTCTimestamp | None
