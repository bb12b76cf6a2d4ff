"""What a runner of any job kind gets from the worker: its spec, progress reporting that also
renews the lease and notices cancellation, checkpoints, and one way to succeed. Runners know
nothing of SQL or leases; this module knows nothing of what they compute."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import StrEnum
import threading
from collections.abc import Callable
from typing import Any, Protocol

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from app.core.context import ServiceContext
from app.db.states import JobStatus, ModelKind
from app.db.tables import Job, Model
from app.jobs import queue


class Worker(Protocol):
    """What a run needs of the worker that executes it (``app.worker.runner.Worker``)."""

    ctx: ServiceContext
    id: str
    stop_event: threading.Event

    @property
    def device(self) -> torch.device: ...


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as None: PostgreSQL's JSON refuses NaN and Infinity
    (a metric on tiny data can be NaN), and a job must not fail on its bookkeeping."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class StopReason(StrEnum):
    cancelled = "cancelled"  # a client asked
    shutdown = "shutdown"  # the worker is stopping: hand the job back
    lease_lost = "lease lost"  # another worker owns it now: touch nothing


class JobStopped(Exception):
    """Raised out of :meth:`JobRun.progress` to unwind a run that must not go on."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass
class StoredModel:
    """A model a job yields: its safetensors bytes and the row fields that describe it."""

    weights: bytes
    visible_type: str
    n_visible: int
    n_hidden: int
    kind: ModelKind = ModelKind.rbm
    image_shape: list[int] | None = None
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    info: dict[str, Any] | None = None


class Checkpointer:
    """The job's latest checkpoint: loaded once at the start, replaced at most every
    RBM_CHECKPOINT_SECONDS (0: at every progress step) and at a shutdown."""

    def __init__(self, run: JobRun, key: str | None) -> None:
        self.run, self.key = run, key
        self.saved_at = time.monotonic()

    def load(self) -> dict[str, torch.Tensor] | None:
        return None if self.key is None else load_tensors(self.run.store.get_bytes(self.key))

    def due(self) -> bool:
        every = self.run.settings.checkpoint_seconds
        return every <= 0 or self.run.stopping or time.monotonic() - self.saved_at >= every

    def write(self, state: dict[str, torch.Tensor]) -> str:
        tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
        return self.run.store.put_bytes(self.run.store.new_key("checkpoints", ".safetensors"), save_tensors(tensors))


@dataclass
class JobRun:
    worker: Worker
    job_id: str
    kind: str
    dataset_id: str | None
    name: str | None
    tags: dict[str, Any] | None
    tenant: str | None
    checkpoint_key: str | None
    last_metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.checkpoint = Checkpointer(self, self.checkpoint_key)

    @classmethod
    def from_row(cls, worker: Worker, job: Job) -> JobRun:
        return cls(worker, job.id, job.kind, job.dataset_id, job.name, job.tags, job.tenant, job.checkpoint_key)

    # -- what runners use --------------------------------------------------------------------
    @property
    def ctx(self):
        return self.worker.ctx

    @property
    def settings(self):
        return self.worker.ctx.settings

    @property
    def store(self):
        return self.worker.ctx.store

    @property
    def device(self) -> torch.device:
        return self.worker.device

    @property
    def stopping(self) -> bool:
        return self.worker.stop_event.is_set()

    def progress(self, step: int, metrics: dict[str, Any],
                 state: Callable[[], dict[str, torch.Tensor]] | None = None) -> None:
        """Record step ``step`` (and a checkpoint from ``state()`` when one is due) in one
        transaction; raise :class:`JobStopped` if the job was cancelled, the worker is stopping,
        or the lease is gone."""
        metrics = json_safe(metrics)
        self.last_metrics = {"epoch": step, **metrics}
        due = state is not None and self.checkpoint.due()
        key = self.checkpoint.write(state()) if due and state is not None else self.checkpoint.key
        try:
            with self.ctx.db.session() as s:
                status, previous = queue.record_progress(s, self.job_id, self.worker.id, step, metrics, key,
                                                         self.settings.lease_seconds)
        except queue.LeaseLost:
            if due:
                self.store.delete(key)
            raise JobStopped(StopReason.lease_lost) from None
        if due:
            if previous != key:
                self.store.delete(previous)
            self.checkpoint.key, self.checkpoint.saved_at = key, time.monotonic()
        if status == JobStatus.cancelling:
            raise JobStopped(StopReason.cancelled)
        if self.stopping:
            raise JobStopped(StopReason.shutdown)

    def succeed(self, model: StoredModel | None = None, result: dict[str, Any] | None = None) -> str | None:
        """End the job with its model (stored under the job's name, tags and tenant) and/or
        result; returns the model id. A job that lost its lease meanwhile ends cancelled and its
        weights are deleted: a job yields at most one model."""
        row, key = None, None
        result = json_safe(result)
        if model is not None:
            model.metrics, model.info = json_safe(model.metrics), json_safe(model.info)
            key = self.store.put_bytes(self.store.new_key("models", ".safetensors"), model.weights)
            row = Model(source="trained", kind=model.kind.value, job_id=self.job_id, dataset_id=self.dataset_id,
                        visible_type=model.visible_type, n_visible=model.n_visible, n_hidden=model.n_hidden,
                        image_shape=model.image_shape, training=model.training, metrics=model.metrics,
                        info=model.info, weights_key=key, name=self.name, tags=self.tags, tenant=self.tenant)
        with self.ctx.db.session() as session:
            checkpoint = session.get(Job, self.job_id).checkpoint_key  # type: ignore[union-attr]
            if not queue.complete(session, self.job_id, self.worker.id, row, result):
                self.store.delete(key)  # lease lost, or cancelled during the last step
                queue.finish(session, self.job_id, self.worker.id, JobStatus.cancelled)
                return None
        self.store.delete(checkpoint)
        return None if row is None else row.id
