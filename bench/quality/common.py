"""Shared helpers of the quality benchmarks: data, a training run exactly as a job runs it, timing.

Every run goes through the service's own engine: the job API's defaults
(:class:`app.jobs.schemas.TrainingOptions`, which mirror ``TrainingConfig``), the
worker's model construction (:func:`app.worker.training.build_run`) and ``Trainer``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.data.builtin import load_builtin  # noqa: E402
from app.jobs.schemas import ModelSpec, TrainingOptions  # noqa: E402
from app.rbm.model import RBM  # noqa: E402
from app.worker.training import TrainingRun, build_run  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    """One line describing where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}")


def load(name: str, params: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """A built-in data set as the service generates it: ``(train (n, V), test or None, info)``."""
    d = load_builtin(name, params or {})
    return d.train, d.test, d.info


def job_run(train: np.ndarray, model: dict[str, Any], training: dict[str, Any] | None = None, *,
            test: np.ndarray | None = None) -> TrainingRun:
    """The model and trainer ``POST /v1/jobs`` would build (API defaults for what is not given)."""
    opts = TrainingOptions(**(training or {})).model_dump()
    return build_run(ModelSpec(**model).model_dump(), opts, train, test, torch.device("cpu"))


def train_like_a_job(
    train: np.ndarray,
    model: dict[str, Any],
    training: dict[str, Any] | None = None,
    *,
    test: np.ndarray | None = None,
    on_epoch: Callable[[int, dict[str, float], RBM], bool | None] | None = None,
) -> tuple[RBM, list[dict[str, float]], float]:
    """Train as ``POST /v1/jobs`` would: options not given take the API defaults.

    Returns ``(model, per-epoch metrics, training seconds)``; ``on_epoch(epoch, metrics, model)``
    may return False to stop early.
    """
    run = job_run(train, model, training, test=test)
    history: list[dict[str, float]] = []
    seconds = 0.0

    def hook(epoch: int, metrics: dict[str, float]) -> bool | None:
        nonlocal seconds
        seconds += metrics.get("epoch_seconds", 0.0)
        history.append({"epoch": epoch, "train_seconds": seconds, **metrics})
        return None if on_epoch is None else on_epoch(epoch, metrics, run.model)

    run.trainer.fit(hook)
    return run.model, history, seconds


def timer() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
