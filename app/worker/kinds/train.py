"""Runner of kind `train`: data in, Trainer run with a progress step per epoch, weights out."""

from __future__ import annotations

import logging

import numpy as np
import torch

from app.datasets.arrays import dataset_arrays
from app.datasets.service import get_dataset
from app.features.final import final_probe
from app.features.service import featurizer
from app.jobs.kinds.train import TrainJob
from app.rbm.evaluation import evaluate_model
from app.rbm.io import to_safetensors_bytes
from app.rbm.rows import pick_rows
from app.rbm.tempering import TemperingBase
from app.worker.job_run import JobRun, StoredModel
from app.worker.training import build_run

log = logging.getLogger(__name__)

#: Rows of each split the final evaluation scores (a seeded subset).
_EVAL_ROWS = 5000
#: The final evaluation gets at most this share of the training's estimated time (and at least
#: _EVAL_MIN_SECONDS, at most RBM_FINAL_EVALUATION_SECONDS): a 5 s digits job is not made to wait a
#: minute for its bracket, and a 784x500 MNIST job gets the ~7 minutes its AIS size rule needs
#: (12,840 betas; app.rbm.evaluation). Estimated from a cost model, not a clock, so a seed repeats
#: its chains. 10 s: a 64x64 model's 1,280 betas at 100 runs.
_EVAL_SHARE, _EVAL_MIN_SECONDS = 0.25, 10.0


def _subset(rows, seed: int) -> torch.Tensor | None:
    if rows is None or rows.shape[0] == 0:
        return None
    pick = pick_rows(rows.shape[0], _EVAL_ROWS, seed)
    if isinstance(rows, torch.Tensor):
        return rows[torch.from_numpy(pick).to(rows.device)].cpu()
    return torch.from_numpy(np.asarray(rows[pick], dtype=np.float32))


def evaluation_budget(trainer, settings) -> float:
    """Seconds for the final evaluation: a share of the training's cost (multiply-adds of the
    positive phase, k Gibbs sweeps of every negative chain and replica, the weight statistic, at
    RBM_SYNC_WORK_RATE), between _EVAL_MIN_SECONDS and RBM_FINAL_EVALUATION_SECONDS."""
    cfg = trainer.config
    n, v, h = trainer.data.shape[0], trainer.model.n_visible, trainer.model.n_hidden
    replicas = cfg.n_replicas if cfg.method == "pt" else 1
    per_row = 2.0 * v * h * (2 + cfg.k * replicas)
    seconds = cfg.epochs * n * per_row / settings.sync_work_rate
    return min(settings.final_evaluation_seconds, max(_EVAL_MIN_SECONDS, _EVAL_SHARE * seconds))


def final_evaluation(job: JobRun, spec: TrainJob, dataset, trainer, user_model,
                     cpu) -> tuple[dict, torch.Tensor | None, TemperingBase | None]:
    """The finished model's honest metrics (``app.rbm.evaluation``: log-likelihood bracket or exact
    value, the free energy of its own equilibrium samples beside the data's) within
    RBM_FINAL_EVALUATION_SECONDS, and the equilibrium chains to store with it."""
    same_units = trainer.model is user_model  # gaussian standardised training runs in other units
    chains = trainer.persistent_chains()  # in the user's units either way (Trainer.persistent_chains)
    chains = None if chains is None else chains.cpu()
    if job.settings.final_evaluation_seconds <= 0:
        return {}, chains, None
    if same_units:  # the trainer's rows: no second copy (the validation rows are the test split or a held-out part)
        train, test = trainer.data, trainer.validation
    else:
        train, test = dataset_arrays(dataset, job.store)  # user units, memory-mapped where stored
    try:
        ev = evaluate_model(cpu, _subset(train, spec.training.seed), _subset(test, spec.training.seed + 1),
                            chains=chains, budget_seconds=evaluation_budget(trainer, job.settings),
                            seed=spec.training.seed,
                            exact_bits=job.settings.auto_exact_bits)
    except Exception as exc:  # noqa: BLE001 - an evaluation failure must not lose a trained model
        log.warning("job %s: final evaluation failed: %s", job.job_id, exc)
        return {"final_evaluation_error": str(exc)}, chains, None
    return ev.to_metrics(), ev.chains, ev.base  # the base rate: stored for the sampling service's tempering


def run(job: JobRun, spec: TrainJob) -> None:
    with job.ctx.db.session() as session:
        dataset = get_dataset(session, spec.dataset_id)
        train, test = dataset_arrays(dataset, job.store, mmap=False)
        image_shape = dataset.image_shape
    built = build_run(spec.model.model_dump(), spec.training.model_dump(), train, test, job.device)
    del train, test  # the trainer holds what it needs; drop any other copy now
    trainer = built.trainer
    state = job.checkpoint.load()
    if state is not None:
        trainer.load_state_dict(state)
        log.info("job %s: resumed from checkpoint at epoch %d", job.job_id, trainer.epoch)

    def on_epoch(epoch: int, metrics: dict[str, float]) -> bool:
        job.progress(epoch, metrics, state=trainer.state_dict)
        return True

    model = built.model if trainer.epoch >= trainer.config.epochs else trainer.fit(on_epoch)
    cpu = model.to(device="cpu")
    evaluation, chains, base = final_evaluation(job, spec, dataset, trainer, built.model, cpu)
    # labelled data: a linear probe on p(h|v) beside one on the inputs (labels never reach training)
    probe = final_probe(dataset, job.store, job.settings, featurizer(cpu, None)[0], seed=spec.training.seed)
    job.succeed(StoredModel(weights=to_safetensors_bytes(cpu, {"job_id": job.job_id}, chains=chains,
                                                         base_mean=None if base is None else base.mean,
                                                         base_sigma=None if base is None else base.sigma),
                            visible_type=cpu.visible_type, n_visible=cpu.n_visible, n_hidden=cpu.n_hidden,
                            image_shape=image_shape, training=spec.training.model_dump(mode="json"),
                            metrics={**job.last_metrics, **probe, **evaluation}),
                result={**probe, **evaluation} or None)
