"""The worker loop: reap lost jobs, claim one, train it with a heartbeat and per-epoch
checkpoints, store the model, repeat. Many workers on many machines may run this against one
database; the SQL guards in ``app.jobs.queue`` keep them from stepping on each other."""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import traceback
import uuid
from typing import Any
from collections.abc import Callable

import torch

from app.core.context import ServiceContext
from app.core.errors import ServiceError
from app.db.states import JobStatus
from app.db.tables import Job
from app.jobs import queue
from app.jobs.kinds import KINDS, SpecInvalid, parse_spec
from app.rbm.device import resolve_device
from app.rbm.errors import RBMError
from app.worker.job_run import JobRun, JobStopped, StopReason
from app.worker.memory import release_free_memory

log = logging.getLogger(__name__)


def runner_for(kind: str) -> Callable[[JobRun, Any], None]:
    """The kind's runner, imported on first use from the ``module:function`` in ``KINDS``."""
    module, _, function = KINDS[kind].runner.partition(":")  # type: ignore[index]
    return getattr(importlib.import_module(module), function)


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
            for lost, status in queue.reap_expired(session, self.ctx.settings.max_attempts):
                log.warning("job %s: lease expired, now %s", lost, status)
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
        """Run one claimed job with its kind's runner, under a heartbeat; every way it can end
        (success, cancel, shutdown, lost lease, bad spec, error, crash) ends here."""
        heartbeat = _Heartbeat(self, job_id)
        heartbeat.start()
        try:
            with self.ctx.db.session() as session:
                row = session.get(Job, job_id)
                assert row is not None
                run = JobRun.from_row(self, row)
                spec = parse_spec(row.kind, row.spec if row.spec is not None else _legacy_spec(row))
            runner_for(row.kind)(run, spec)
            log.info("job %s (%s) succeeded", job_id, run.kind)
        except JobStopped as stop:
            self._handle_stop(job_id, stop.reason)
        except SpecInvalid as exc:
            log.error("job %s: %s", job_id, exc)
            self._fail(job_id, str(exc))
        except (RBMError, ValueError, ServiceError) as exc:
            self._fail(job_id, str(exc))
        except Exception as exc:  # a bug or a broken environment: keep the worker alive, fail the job
            log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.stop()

    def _handle_stop(self, job_id: str, reason: StopReason) -> None:
        with self.ctx.db.session() as session:
            if reason == StopReason.cancelled:
                queue.finish(session, job_id, self.id, JobStatus.cancelled)
            elif reason == StopReason.shutdown:
                queue.release(session, job_id, self.id)
        log.info("job %s stopped: %s", job_id, reason.value)

    def _fail(self, job_id: str, message: str) -> None:
        with self.ctx.db.session() as session:
            queue.finish(session, job_id, self.id, JobStatus.failed, message)
        log.warning("job %s failed: %s", job_id, message)


def _legacy_spec(row: Job) -> dict[str, Any]:
    """A train job queued before job kinds existed carries only its model and training dicts."""
    return {"name": row.name, "dataset_id": row.dataset_id, "model": row.model_spec, "training": row.training}


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
