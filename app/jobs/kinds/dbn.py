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
from app.rbm.dbn import dbn_layer_defaults
from app.rbm.training import default_method, default_schedule


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
    training: TrainingOptions | None = Field(None, description="Options of every layer; or give "
                                             "`layers_training`. Unset options take the train kind's defaults, "
                                             "except the DBN's own: sparsity_target 0.1 and sparsity_cost 0.1 "
                                             "on every bernoulli layer, method cd below the top and pt on the top "
                                             "RBM, batch_size n/100 within 10..100 for n rows (a gaussian first "
                                             "layer keeps the train kind's defaults). "
                                             "The job's spec shows each layer's resolved options.")
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
        """The training options of each layer, bottom first (copies)."""
        if self.layers_training is not None:
            return [o.model_copy() for o in self.layers_training]
        return [(self.training or TrainingOptions()).model_copy() for _ in self.model.layers]

    def resolve_defaults(self, n_rows: int) -> list[TrainingOptions]:
        """Each layer's options with what was left unset filled in: the DBN defaults of
        :func:`app.rbm.dbn.dbn_layer_defaults` (sparsity, CD-1 below the top, PT on top, batches of
        n_rows / 100 within 10..100; a gaussian first layer keeps the gaussian RBM's defaults), then
        epochs and batch size from the dataset's ``n_rows`` as for a train job."""
        out = []
        for i, o in enumerate(self.per_layer()):
            given = o.model_fields_set
            defaults = dbn_layer_defaults(i, len(self.model.layers), self.model.visible, n_rows)
            unset = {k: v for k, v in defaults.items() if k not in given}
            o = TrainingOptions(**{**o.model_dump(), **unset})
            method = default_method(o.method, i == 0 and self.model.visible == "gaussian")
            o.epochs, o.batch_size = default_schedule(n_rows, o.epochs, o.batch_size, method)
            out.append(o)
        return out


def check(ctx: ServiceContext, session: Session, spec: DBNJob) -> Submission:
    """The first layer is checked as a train job on the same data (dataset exists, fits the
    visible type, limits); the upper layers against the limits and their bernoulli units."""
    settings, layers = ctx.settings, spec.model.layers
    if len(layers) > settings.max_dbn_layers:
        raise InvalidRequest(f"model.layers has {len(layers)} layers; the limit is {settings.max_dbn_layers} "
                             "(RBM_MAX_DBN_LAYERS)")
    opts = spec.resolve_defaults(get_dataset(session, spec.dataset_id).n_samples)
    # store every layer's resolved options: the worker reads the spec as stored, and a default changed
    # later does not change a job already submitted (or its resumption)
    spec.training, spec.layers_training = None, opts
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
