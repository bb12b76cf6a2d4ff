"""Kind `estimate`: log Z and log-likelihoods of a stored model on a worker, for estimations too
long for a synchronous request (AIS on a large model). The result fills the model's log Z cache."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.datasets.service import get_dataset
from app.inference.estimation import check_limits, resolve_method
from app.inference.schemas import PartitionRequest
from app.jobs.kinds.common import JobCommon, Submission
from app.models.service import load_model

#: Progress of an estimation job is reported in percent of its annealing steps.
PERCENT = 100


class LikelihoodEstimate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(None, max_length=64, description="Default: the model's training data.")
    split: Literal["train", "test", "all"] = Field("test", description="Rows to score; `test` needs a dataset "
                                                   "with a test split.")
    limit: int | None = Field(None, ge=1, description="Score at most this many rows (the first ones).")


class EstimateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partition_function: PartitionRequest | None = Field(None, description="log Z options; default method auto.")
    log_likelihood: LikelihoodEstimate | None = None

    @model_validator(mode="after")
    def _something(self) -> EstimateSpec:
        if self.partition_function is None:
            self.partition_function = PartitionRequest()
        return self


class EstimateJob(JobCommon):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "estimate", "model_id": "<the model_id of a finished training job>",
         "estimate": {"partition_function": {"method": "ais", "n_runs": 100, "n_betas": 1000},
                      "log_likelihood": {"split": "train", "limit": 1000}}}]})

    kind: Literal["estimate"]
    model_id: str = Field(max_length=64)
    estimate: EstimateSpec = Field(default_factory=EstimateSpec)


def check(ctx: ServiceContext, session: Session, spec: EstimateJob) -> Submission:
    """The model exists, the method applies to it and the work fits RBM_MAX_ESTIMATE_JOB_WORK."""
    settings = ctx.settings
    row, model = load_model(ctx, session, spec.model_id)
    req = spec.estimate.partition_function
    assert req is not None
    check_limits(resolve_method(req, model, settings), req, model, settings, sync=False)
    ll = spec.estimate.log_likelihood
    if ll is not None:
        dataset_id = ll.dataset_id or row.dataset_id
        if dataset_id is None:
            raise InvalidRequest("estimate.log_likelihood needs a dataset_id: this model has no training data")
        get_dataset(session, dataset_id)
    return Submission(steps=PERCENT, unit="percent")
