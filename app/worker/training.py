"""Turn a job row into a trained model: data in, Trainer run with per-epoch callbacks, weights out.
Knows nothing about leases; the runner wires the callbacks to the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from app.rbm.model import RBM, BernoulliRBM, GaussianRBM
from app.rbm.training import Trainer, TrainingConfig

MODEL_CLASSES: dict[str, type[RBM]] = {"bernoulli": BernoulliRBM, "gaussian": GaussianRBM}


@dataclass
class TrainingRun:
    trainer: Trainer
    model: RBM


def split_validation(train: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Hold out a seeded random fraction of the rows; deterministic so a resumed job sees the same split."""
    if fraction <= 0:
        return train, None
    n_val = max(1, int(round(fraction * train.shape[0])))
    order = np.random.default_rng(seed).permutation(train.shape[0])
    return train[np.sort(order[n_val:])], train[np.sort(order[:n_val])]


def _tensor(rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """A float32 tensor over ``rows`` without a copy when they are already private float32
    (training only reads its data); read-only maps and other dtypes are copied."""
    rows = np.asarray(rows)
    if not (rows.dtype == np.float32 and rows.flags.c_contiguous and rows.flags.writeable):
        rows = np.array(rows, dtype=np.float32)
    return torch.from_numpy(rows).to(device)


def build_run(model_spec: dict[str, Any], training: dict[str, Any], train: np.ndarray,
              test: np.ndarray | None, device: torch.device) -> TrainingRun:
    config = TrainingConfig(**training)
    fit_rows, validation = split_validation(np.asarray(train), config.validation_fraction, config.seed)
    if validation is None:
        validation = test
    data = _tensor(fit_rows, device)
    val = None if validation is None else _tensor(validation, device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    cls = MODEL_CLASSES[model_spec["visible"]]
    extra = {"sigma": model_spec["sigma"]} if model_spec["visible"] == "gaussian" and model_spec.get("sigma") else {}
    if model_spec["visible"] == "gaussian":
        extra["standardize"] = model_spec.get("standardize", True)  # specs stored before "whiten" mean true
    model = cls.init_random(data.shape[1], model_spec["n_hidden"], generator=generator, data=data,
                            device=device, **extra)
    return TrainingRun(Trainer(model, data, config, validation=val), model)
