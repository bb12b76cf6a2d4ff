"""Kind `train`: fit an RBM to a dataset. The default kind, so clients that send no `kind` keep
working."""

from __future__ import annotations

from dataclasses import fields
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.datasets.service import get_dataset
from app.jobs.kinds.common import JobCommon, Submission
from app.rbm.training import PERSISTENT_AVERAGE_TAIL, TrainingConfig, default_method, default_schedule

_D = TrainingConfig()  # the engine's defaults are the API's defaults: one source of truth


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    visible: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="bernoulli: binary units (data in {0,1}, or [0,1] read as probabilities); "
        "gaussian: real-valued units with per-unit sigma.")
    n_hidden: int = Field(ge=1, description="Number of hidden units (limit: RBM_MAX_HIDDEN).", examples=[64])
    sigma: float | None = Field(None, gt=0, le=1e6, description="Gaussian only: fixed sigma for every visible unit; "
                                "default: each unit's standard deviation in the training data.")
    standardize: bool | Literal["whiten"] = Field(
        "whiten", description="Gaussian only. whiten (the default): rotate the data to its principal axes and "
        "scale each component to unit spread (PCA whitening, learned from the training data), so the model's "
        "visible conditionals have a full covariance; true: each unit's own mean and scale only; false: train on "
        "the raw values. Either way the model takes and returns values (and densities) in the data's own units.")


class TrainingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: Literal["cd", "pcd", "pt"] | None = Field(_D.method, description="default (null): pcd for gaussian "
                                               "models, pt for bernoulli. cd: contrastive divergence CD-k; pcd: "
                                               "persistent CD; pt: persistent parallel-tempering chains (n_replicas "
                                               "replicas from the model down to the data's base rate, one swap round "
                                               "per sweep), which keeps the negative phase in equilibrium.")
    k: int = Field(_D.k, ge=1, le=1000, description="Gibbs steps (pt: sweeps, each with a swap round) in the negative "
                   "phase of each update.")
    epochs: int | None = Field(_D.epochs, ge=1, description="Passes over the training data (limit: RBM_MAX_EPOCHS); "
                               "default: at least 30 and enough for 15,000 updates (60,000 with method pcd, the "
                               "gaussian default), set from the dataset's size at submission (the job's spec shows "
                               "the value).")
    batch_size: int | None = Field(_D.batch_size, ge=1, le=100_000, description="Rows per update; default: 100, or a "
                                   "tenth of a small dataset (at least 10).")
    learning_rate: float | None = Field(_D.learning_rate, gt=0, le=10, description="Step size (schedule: "
                                        "lr_schedule); default (null): 0.1, and for gaussian visibles at most "
                                        "5 / n_hidden (0.01 for 500 hidden units), where larger steps diverge.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(_D.lr_schedule,
                                                                 description="Decay of the learning rate to 0 over the run.")
    momentum: float = Field(_D.momentum, ge=0, lt=1)
    weight_decay: float = Field(_D.weight_decay, ge=0, le=1, description="L2 penalty on the weights.")
    sparsity_target: float | None = Field(_D.sparsity_target, gt=0, lt=1, description="Target mean activation of hidden units.")
    sparsity_cost: float = Field(_D.sparsity_cost, ge=0, le=100)
    learn_sigma: bool | None = Field(_D.learn_sigma, description="Gaussian only: learn log sigma by gradient "
                                     "ascent; default (null): on for gaussian models.")
    sigma_learning_rate: float | None = Field(_D.sigma_learning_rate, gt=0, le=10, description="Gaussian only: "
                                              "step size of log sigma (same schedule); default (null): "
                                              "learning_rate times the measured default ratio (0.1; 0.01 for a whitened model).")
    seed: int = Field(_D.seed, ge=0, lt=2**63, description="Same seed + same data + same device = same weights.")
    validation_fraction: float = Field(_D.validation_fraction, ge=0, le=0.5, description="Held out for validation metrics.")
    n_chains: int | None = Field(_D.n_chains, ge=1, le=100_000, description="pcd / pt: persistent chains (default: "
                                 "batch_size); they are stored with the model, and sampling starts from them.")
    n_replicas: int = Field(_D.n_replicas, ge=2, le=64, description="pt: replicas per chain (evenly spaced betas "
                            "from 1 to 0); each costs one Gibbs sweep per step.")
    average_tail: float | None = Field(
        _D.average_tail, ge=0, lt=1, description="The trained model is the mean of the parameters over this last "
        f"fraction of the updates (Polyak-Ruppert averaging; 0: the last parameters); default (null): "
        f"{PERSISTENT_AVERAGE_TAIL} for pcd and pt, whose persistent chains leave noise in the last steps, 0 for cd.")
    monitor_size: int = Field(_D.monitor_size, ge=1, le=100_000, description="Vectors used for per-epoch metrics.")
    centering: bool = Field(_D.centering, description="Centred gradient (Melchior et al. 2016): offsets for visible "
                            "and hidden units; weights are still stored in the standard form.")


assert {f.name for f in fields(TrainingConfig)} >= set(TrainingOptions.model_fields), \
    "TrainingOptions names a field TrainingConfig lacks"


class TrainJob(JobCommon):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"dataset_id": "<the id POST /v1/datasets/builtin returned>", "model": {"n_hidden": 64},
         "training": {"epochs": 20}}]})

    kind: Literal["train"] = "train"
    dataset_id: str = Field(max_length=64)
    model: ModelSpec
    training: TrainingOptions = Field(default_factory=TrainingOptions)


def check(ctx: ServiceContext, session: Session, spec: TrainJob) -> Submission:
    """Everything that can be known before a worker starts: the dataset exists and fits the
    model, and the limits hold."""
    settings = ctx.settings
    dataset = get_dataset(session, spec.dataset_id)
    model, training = spec.model, spec.training
    fraction = training.validation_fraction  # the rows the trainer will fit (as app.worker.training splits them)
    n_fit = dataset.n_samples - (max(1, int(round(fraction * dataset.n_samples))) if fraction > 0 else 0)
    method = default_method(training.method, model.visible == "gaussian")
    training.epochs, training.batch_size = default_schedule(n_fit, training.epochs, training.batch_size, method)
    if model.n_hidden > settings.max_hidden:
        raise InvalidRequest(f"model.n_hidden={model.n_hidden} exceeds the limit {settings.max_hidden} (RBM_MAX_HIDDEN)")
    if dataset.n_features * model.n_hidden > settings.max_model_parameters:
        raise InvalidRequest(f"{dataset.n_features} visible x {model.n_hidden} hidden = "
                             f"{dataset.n_features * model.n_hidden:,} weights exceeds the limit "
                             f"{settings.max_model_parameters:,} (RBM_MAX_MODEL_PARAMETERS)")
    if training.epochs > settings.max_epochs:
        raise InvalidRequest(f"training.epochs={training.epochs} exceeds the limit {settings.max_epochs} (RBM_MAX_EPOCHS)")
    if model.visible == "bernoulli" and dataset.value_type != "binary":
        low, high = (dataset.info or {}).get("value_range", [None, None])
        if low is None or low < 0 or high > 1:
            raise InvalidRequest(f"dataset {dataset.id!r} has values in [{low}, {high}], outside [0, 1]: "
                                 "use model.visible='gaussian' or upload data in [0, 1]")
    if model.visible == "bernoulli" and (model.sigma is not None or training.learn_sigma is True):
        raise InvalidRequest("model.sigma and training.learn_sigma apply only to model.visible='gaussian'")
    return Submission(steps=training.epochs, dataset_id=dataset.id, unit="epoch")
