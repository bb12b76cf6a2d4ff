"""The worker loop: reap lost jobs, claim one, train it with a heartbeat and per-epoch
checkpoints, store the model, repeat. Many workers on many machines may run this against one
database; the SQL guards in ``app.jobs.queue`` keep them from stepping on each other."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from app.core.context import ServiceContext
from app.datasets.arrays import dataset_arrays
from app.datasets.service import get_dataset
from app.db.tables import Job, Model
from app.jobs import queue
from app.rbm.device import resolve_device
from app.rbm.errors import RBMError
from app.rbm.io import to_safetensors_bytes
from app.worker.memory import release_free_memory
from app.worker.training import build_run

log = logging.getLogger(__name__)


class _Stop(Exception):
    """Raised inside the training callback to unwind a run that must not go on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Worker:
    def __init__(self, ctx: ServiceContext, worker_id: str | None = None) -> None:
        self.ctx = ctx
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop_event = threading.Event()
        self._device: torch.device | None = None

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self.ctx.settings.device)
        return self._device

    # -- loop ------------------------------------------------------------------------------
    def run_forever(self) -> None:
        log.info("worker %s started (device %s)", self.id, self.device)
        while not self.stop_event.is_set():
            if not self.run_once():
                self.stop_event.wait(self.ctx.settings.worker_poll_seconds)
        log.info("worker %s stopped", self.id)

    def run_once(self) -> bool:
        """Reap, then claim and run at most one job. True if a job was run."""
        with self.ctx.db.session() as session:
            for job_id, status in queue.reap_expired(session, self.ctx.settings.max_attempts):
                log.warning("job %s: lease expired, now %s", job_id, status)
            job_id = queue.claim_next(session, self.id, self.ctx.settings.lease_seconds)
        if job_id is None:
            return False
        self.execute(job_id)
        release_free_memory()
        return True

    def run_until_idle(self, max_jobs: int = 1000) -> int:
        """Run queued jobs until none is left (tests, `rbm-service worker --drain`)."""
        done = 0
        while done < max_jobs and self.run_once():
            done += 1
        return done

    # -- one job -----------------------------------------------------------------------------
    def execute(self, job_id: str) -> None:
        settings, store = self.ctx.settings, self.ctx.store
        heartbeat = _Heartbeat(self, job_id)
        heartbeat.start()
        try:
            with self.ctx.db.session() as session:
                job = session.get(Job, job_id)
                assert job is not None
                dataset = get_dataset(session, job.dataset_id)
                train, test = dataset_arrays(dataset, store, mmap=False)
                image_shape, dataset_id = dataset.image_shape, dataset.id
                model_spec, training, checkpoint_key = job.model_spec, job.training, job.checkpoint_key
            run = build_run(model_spec, training, train, test, self.device)
            del train, test  # the trainer holds what it needs; drop any other copy now
            if checkpoint_key:
                run.trainer.load_state_dict(load_tensors(store.get_bytes(checkpoint_key)))
                log.info("job %s: resumed from checkpoint at epoch %d", job_id, run.trainer.epoch)
            last_metrics: dict[str, float] = {}
            saved = {"key": checkpoint_key, "at": time.monotonic()}

            def on_epoch(epoch: int, metrics: dict[str, float]) -> bool:
                last_metrics.clear()
                last_metrics.update({"epoch": epoch, **metrics})
                # RBM_CHECKPOINT_SECONDS > 0 writes a checkpoint only when that much time has passed
                # (and at a shutdown); in between the job row keeps the last key.
                due = (settings.checkpoint_seconds <= 0 or self.stop_event.is_set()
                       or time.monotonic() - saved["at"] >= settings.checkpoint_seconds)
                key = saved["key"]
                if due:
                    state = {k: v.detach().contiguous().cpu() for k, v in run.trainer.state_dict().items()}
                    key = store.put_bytes(store.new_key("checkpoints", ".safetensors"), save_tensors(state))
                try:
                    with self.ctx.db.session() as s:
                        status, previous = queue.record_epoch(s, job_id, self.id, epoch, metrics, key,
                                                              settings.lease_seconds)
                except queue.LeaseLost:
                    if due:
                        store.delete(key)
                    raise _Stop("lease lost")
                if due:
                    if previous != key:
                        store.delete(previous)
                    saved.update(key=key, at=time.monotonic())
                if status == "cancelling":
                    raise _Stop("cancelled")
                if self.stop_event.is_set():
                    raise _Stop("shutdown")
                return True

            if run.trainer.epoch >= run.trainer.config.epochs:
                model = run.model
            else:
                model = run.trainer.fit(on_epoch)
            self._store_model(job_id, model, model_spec, training, image_shape, dataset_id, last_metrics)
        except _Stop as stop:
            self._handle_stop(job_id, stop.reason)
        except (RBMError, ValueError) as exc:
            self._fail(job_id, str(exc))
        except Exception as exc:  # a bug or a broken environment: keep the worker alive, fail the job
            log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.stop()

    def _store_model(self, job_id: str, model, model_spec, training, image_shape, dataset_id, metrics) -> None:
        store = self.ctx.store
        key = store.put_bytes(store.new_key("models", ".safetensors"),
                              to_safetensors_bytes(model.to(device="cpu"), {"job_id": job_id}))
        row = Model(source="trained", job_id=job_id, dataset_id=dataset_id, visible_type=model.visible_type,
                    n_visible=model.n_visible, n_hidden=model.n_hidden, image_shape=image_shape,
                    training=training, metrics=metrics, weights_key=key, name=None)
        with self.ctx.db.session() as session:
            checkpoint = session.get(Job, job_id).checkpoint_key  # type: ignore[union-attr]
            if not queue.complete(session, job_id, self.id, row):
                store.delete(key)  # lease lost, or cancelled during the last epoch
                queue.finish(session, job_id, self.id, "cancelled")
                return
        store.delete(checkpoint)
        log.info("job %s succeeded: model %s", job_id, row.id)

    def _handle_stop(self, job_id: str, reason: str) -> None:
        with self.ctx.db.session() as session:
            if reason == "cancelled":
                queue.finish(session, job_id, self.id, "cancelled")
            elif reason == "shutdown":
                queue.release(session, job_id, self.id)
        log.info("job %s stopped: %s", job_id, reason)

    def _fail(self, job_id: str, message: str) -> None:
        with self.ctx.db.session() as session:
            queue.finish(session, job_id, self.id, "failed", message)
        log.warning("job %s failed: %s", job_id, message)


class _Heartbeat:
    """Renews the lease between epochs, so a long epoch does not look like a dead worker."""

    def __init__(self, worker: Worker, job_id: str) -> None:
        self.worker, self.job_id = worker, job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        settings = self.worker.ctx.settings
        while not self._stop.wait(settings.heartbeat_seconds):
            try:
                with self.worker.ctx.db.session() as session:
                    queue.renew_lease(session, self.job_id, self.worker.id, settings.lease_seconds)
            except queue.LeaseLost:
                return
            except Exception:  # database hiccup: try again next beat; the lease has slack
                log.exception("heartbeat for job %s failed", self.job_id)
