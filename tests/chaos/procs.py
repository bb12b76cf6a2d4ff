"""Real service processes for chaos tests and benches: start `rbm-service worker` / `serve`
against one database and data dir, kill them, read the database's view of what happened."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load as load_numpy
from sqlalchemy import func, select

from app.core.context import ServiceContext
from app.datasets.arrays import dataset_arrays
from app.datasets.service import get_dataset
from app.db.tables import Job, JobEvent, Model
from app.worker.training import build_run
from app.rbm.io import BASE_MEAN_TENSOR, BASE_SIGMA_TENSOR, CHAINS_TENSOR

RBM_SERVICE = str(Path(sys.executable).with_name("rbm-service"))

# Short leases so a killed worker's job is requeued within seconds; one torch thread so a
# worker's arithmetic equals the in-process reference bit for bit.
CHAOS_ENV = {"RBM_LEASE_SECONDS": "2", "RBM_HEARTBEAT_SECONDS": "0.5", "RBM_WORKER_POLL_SECONDS": "0.1",
             "RBM_MAX_ATTEMPTS": "50", "RBM_WORKER_THREADS": "1", "RBM_DEVICE": "cpu", "RBM_LOG_LEVEL": "WARNING"}


def service_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBM_")}
    env.update(CHAOS_ENV, RBM_DATABASE_URL=database_url, RBM_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


class ServiceProcess:
    """One `rbm-service ...` child with its output in a log file (shown when a test fails)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([RBM_SERVICE, *args], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()

    def tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def owner_pid(lease_owner: str | None) -> int | None:
    """Worker ids are host:pid:random (app.worker.runner)."""
    try:
        return int(lease_owner.split(":")[-2]) if lease_owner else None
    except (IndexError, ValueError):
        return None


def job_rows(ctx: ServiceContext, job_ids: list[str] | None = None) -> list[Job]:
    with ctx.db.session() as s:
        stmt = select(Job) if job_ids is None else select(Job).where(Job.id.in_(job_ids))
        return list(s.scalars(stmt))


def running_job_past(ctx: ServiceContext, min_epoch: int, max_epoch: int) -> Job | None:
    """A job mid-training (so a kill lands inside it, not at its edges)."""
    for job in job_rows(ctx):
        if job.status == "running" and min_epoch <= job.epoch <= max_epoch and owner_pid(job.lease_owner):
            return job
    return None


def all_final(ctx: ServiceContext, job_ids: list[str]) -> bool:
    return all(j.status in ("succeeded", "failed", "cancelled") for j in job_rows(ctx, job_ids))


def status_events(ctx: ServiceContext, job_id: str) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [e.data for e in s.scalars(select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.kind == "status")
                                          .order_by(JobEvent.seq))]


def progress_epochs(ctx: ServiceContext, job_id: str) -> list[int]:
    with ctx.db.session() as s:
        return [e.data["epoch"] for e in s.scalars(select(JobEvent).where(JobEvent.job_id == job_id,
                                                                          JobEvent.kind == "progress")
                                                   .order_by(JobEvent.seq))]


def models_per_job(ctx: ServiceContext) -> dict[str, int]:
    with ctx.db.session() as s:
        return dict(s.execute(select(Model.job_id, func.count()).group_by(Model.job_id)).all())


def model_weights(ctx: ServiceContext, model_id: str) -> dict[str, np.ndarray]:
    with ctx.db.session() as s:
        key = s.get(Model, model_id).weights_key  # type: ignore[union-attr]
    # the model's tensors (the file may also hold the stored sampling chains and tempering base: not weights)
    sampling_state = {CHAINS_TENSOR, BASE_MEAN_TENSOR, BASE_SIGMA_TENSOR}
    return {k: v for k, v in load_numpy(ctx.store.get_bytes(key)).items() if k not in sampling_state}


def reference_weights(ctx: ServiceContext, job_id: str) -> dict[str, np.ndarray]:
    """Train the job's exact spec in this process, uninterrupted, on one thread."""
    with ctx.db.session() as s:
        job = s.get(Job, job_id)
        train, test = dataset_arrays(get_dataset(s, job.dataset_id), ctx.store)
        spec, training = job.model_spec, job.training
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_run(spec, training, train, test, torch.device("cpu")).trainer.fit()
    finally:
        torch.set_num_threads(threads)
    return {k: v.detach().cpu().numpy() for k, v in model.tensors().items()}
