"""Kind `dbn`: a deep belief network trained greedily, one RBM per layer (Hinton, Osindero & Teh
2006); each layer reads the mean-field p(h = 1 | ...) of the layer below."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.datasets.service import get_dataset
from app.jobs.kinds.common import JobCommon, Submission
from app.jobs.kinds.train import ModelSpec, TrainingOptions, TrainJob
from app.jobs.kinds.train import check as check_train
from app.rbm.training import default_schedule


class DBNModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    layers: list[int] = Field(min_length=1, description="Hidden units per layer, bottom first (limits: "
                              "RBM_MAX_HIDDEN each, RBM_MAX_DBN_LAYERS layers).", examples=[[500, 500]])
    visible: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="The first layer's visible units: bernoulli (data in {0,1}, or [0,1] read as "
        "probabilities) or gaussian; upper layers are always bernoulli.")
    sigma: float | None = Field(None, gt=0, le=1e6, description="Gaussian only: fixed sigma of the first layer.")


class DBNJob(JobCommon):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"kind": "dbn", "dataset_id": "<the id POST /v1/datasets/builtin returned>",
         "model": {"layers": [100, 100]}, "training": {"epochs": 20}}]})

    kind: Literal["dbn"]
    dataset_id: str = Field(max_length=64)
    model: DBNModelSpec
    training: TrainingOptions | None = Field(None, description="Options of every layer (default: the train "
                                             "kind's defaults); or give `layers_training`.")
    layers_training: list[TrainingOptions] | None = Field(None, description="Options per layer, bottom first; "
                                                          "as many as model.layers.")

    @model_validator(mode="after")
    def _one_way_to_train(self) -> DBNJob:
        if self.training is not None and self.layers_training is not None:
            raise ValueError("give either `training` (every layer) or `layers_training` (one per layer), not both")
        if self.layers_training is not None and len(self.layers_training) != len(self.model.layers):
            raise ValueError(f"layers_training has {len(self.layers_training)} entries for "
                             f"{len(self.model.layers)} layers")
        return self

    def per_layer(self) -> list[TrainingOptions]:
        """The training options of each layer, bottom first."""
        if self.layers_training is not None:
            return list(self.layers_training)
        return [self.training or TrainingOptions()] * len(self.model.layers)


def check(ctx: ServiceContext, session: Session, spec: DBNJob) -> Submission:
    """The first layer is checked as a train job on the same data (dataset exists, fits the
    visible type, limits); the upper layers against the limits and their bernoulli units."""
    settings, layers, opts = ctx.settings, spec.model.layers, spec.per_layer()
    if len(layers) > settings.max_dbn_layers:
        raise InvalidRequest(f"model.layers has {len(layers)} layers; the limit is {settings.max_dbn_layers} "
                             "(RBM_MAX_DBN_LAYERS)")
    n_rows = get_dataset(session, spec.dataset_id).n_samples
    for o in opts:  # unset epochs / batch size: from the dataset's size, as for a train job
        o.epochs, o.batch_size = default_schedule(n_rows, o.epochs, o.batch_size)
    if spec.training is None and spec.layers_training is None:
        spec.training = opts[0]  # store the resolved defaults: the worker reads the spec as stored
    first = TrainJob(dataset_id=spec.dataset_id, model=ModelSpec(visible=spec.model.visible, n_hidden=layers[0],
                                                                 sigma=spec.model.sigma), training=opts[0])
    sub = check_train(ctx, session, first)
    epochs = [o.epochs for o in opts]
    assert all(e is not None for e in epochs), "layer schedules are resolved above"
    for i, (n_hidden, o) in enumerate(zip(layers[1:], opts[1:]), start=2):
        if n_hidden > settings.max_hidden:
            raise InvalidRequest(f"model.layers[{i - 1}]={n_hidden} exceeds the limit {settings.max_hidden} "
                                 "(RBM_MAX_HIDDEN)")
        if (o.epochs or 0) > settings.max_epochs:
            raise InvalidRequest(f"layer {i}: epochs={o.epochs} exceeds the limit {settings.max_epochs} "
                                 "(RBM_MAX_EPOCHS)")
        if o.learn_sigma:
            raise InvalidRequest(f"layer {i}: learn_sigma applies only to a gaussian first layer")
    total = sum(e or 0 for e in epochs)
    if total > settings.max_epochs:
        raise InvalidRequest(f"the layers' epochs add up to {total}, above the limit {settings.max_epochs} "
                             "(RBM_MAX_EPOCHS)")
    return Submission(steps=total, dataset_id=sub.dataset_id, unit="epoch")
