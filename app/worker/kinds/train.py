"""Runner of kind `train`: data in, Trainer run with a progress step per epoch, weights out."""

from __future__ import annotations

import logging

from app.datasets.arrays import dataset_arrays
from app.datasets.service import get_dataset
from app.features.final import final_probe
from app.features.service import featurizer
from app.jobs.kinds.train import TrainJob
from app.rbm.io import to_safetensors_bytes
from app.worker.job_run import JobRun, StoredModel
from app.worker.training import build_run

log = logging.getLogger(__name__)


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
    # labelled data: a linear probe on p(h|v) beside one on the inputs (labels never reach training)
    probe = final_probe(dataset, job.store, job.settings, featurizer(cpu, None)[0], seed=spec.training.seed)
    job.succeed(StoredModel(weights=to_safetensors_bytes(cpu, {"job_id": job.job_id}),
                            visible_type=cpu.visible_type, n_visible=cpu.n_visible, n_hidden=cpu.n_hidden,
                            image_shape=image_shape, training=spec.training.model_dump(mode="json"),
                            metrics={**job.last_metrics, **probe}), result=probe or None)
