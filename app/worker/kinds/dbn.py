"""Runner of kind `dbn`: greedy layer-wise training with a progress step per epoch of each layer
(cumulative over layers), checkpoints that hold the layer in training, a DBN model at the end."""

from __future__ import annotations

import logging

import numpy as np
import torch

from app.datasets.arrays import dataset_arrays
from app.datasets.service import get_dataset
from app.db.states import ModelKind
from app.features.final import final_probe
from app.features.service import featurizer
from app.jobs.kinds.dbn import DBNJob
from app.rbm.dbn import DBNTrainer, init_dbn
from app.rbm.dbn_io import dbn_to_safetensors_bytes
from app.rbm.training import TrainingConfig
from app.worker.job_run import JobRun, StoredModel
from app.worker.training import split_validation

log = logging.getLogger(__name__)


def _tensor(rows: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.array(rows, dtype=np.float32)).to(device)


def run(job: JobRun, spec: DBNJob) -> None:
    with job.ctx.db.session() as session:
        dataset = get_dataset(session, spec.dataset_id)
        train, test = dataset_arrays(dataset, job.store, mmap=False)
        image_shape = dataset.image_shape
    opts = spec.per_layer()
    configs = [TrainingConfig(**o.model_dump()) for o in opts]
    first = configs[0]
    fit_rows, validation = split_validation(np.asarray(train), first.validation_fraction, first.seed)
    if validation is None:
        validation = test
    data = _tensor(fit_rows, job.device)
    val = None if validation is None else _tensor(validation, job.device)
    del train, test, fit_rows, validation
    configs = [TrainingConfig(**{**c.to_dict(), "validation_fraction": 0.0}) for c in configs]
    g = torch.Generator(device=job.device).manual_seed(first.seed)
    dbn = init_dbn(data.shape[1], spec.model.layers, visible_type=spec.model.visible, generator=g, data=data,
                   sigma=spec.model.sigma, device=job.device)
    trainer = DBNTrainer(dbn, data, configs, validation=val)
    state = job.checkpoint.load()
    if state is not None:
        trainer.load_state_dict(state)
        log.info("job %s: resumed from checkpoint at layer %d, %d epochs done", job.job_id, trainer.layer + 1,
                 trainer.epochs_done)
    offsets = np.cumsum([0] + [c.epochs for c in configs]).tolist()

    def on_epoch(layer: int, epoch: int, metrics: dict[str, float]) -> bool:
        job.progress(offsets[layer] + epoch, {**metrics, "layer": layer + 1, "layer_epoch": epoch},
                     state=trainer.state_dict)
        return True

    trainer.fit(on_epoch)
    del data, val
    trainer = None  # type: ignore[assignment]  # the layer data it holds goes before the probe runs
    cpu = dbn.to(device="cpu")
    apply, _ = featurizer(cpu, None)
    probe = final_probe(dataset, job.store, job.settings, apply, seed=first.seed)
    metrics = {**job.last_metrics, **probe}
    job.succeed(StoredModel(
        weights=dbn_to_safetensors_bytes(cpu, {"job_id": job.job_id}), visible_type=cpu.visible_type,
        n_visible=cpu.n_visible, n_hidden=cpu.n_hidden, kind=ModelKind.dbn, image_shape=image_shape,
        training={"layers_training": [o.model_dump(mode="json") for o in opts]}, metrics=metrics,
        info={"layers": cpu.sizes}), result=probe or None)
