"""``serve``'s embedded worker, supervised: a child that dies (kill -9, OOM, a crash) is reaped
at once (no zombie), its jobs are freed for the next worker, and a new child starts after a
backoff that doubles while children keep dying young. ``/readyz`` reads ``state()``."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class SupervisorState:
    alive: bool = False
    pid: int | None = None
    worker_id: str | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    down_since: float | None = None  # time.time() of the last death while no child runs
    outages: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class WorkerSupervisor:
    """Start the child with ``spawn(worker_id)``; ``on_death(worker_id, exit_code)`` runs after
    a child ends unexpectedly (before the restart), e.g. to free its jobs."""

    def __init__(self, spawn: Callable[[str], subprocess.Popen], new_worker_id: Callable[[], str],
                 on_death: Callable[[str, int], None] | None = None, backoff_seconds: float = 1.0,
                 backoff_max_seconds: float = 30.0, stable_seconds: float = 60.0, poll_seconds: float = 0.2) -> None:
        self._spawn, self._new_id, self._on_death = spawn, new_worker_id, on_death
        self.backoff_seconds, self.backoff_max_seconds = backoff_seconds, backoff_max_seconds
        self.stable_seconds, self.poll_seconds = stable_seconds, poll_seconds
        self._state = SupervisorState()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._run, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._start_child()
        self._thread.start()

    def state(self) -> dict[str, Any]:
        with self._lock:
            s = self._state
            return {"alive": s.alive, "pid": s.pid, "worker_id": s.worker_id, "restarts": s.restarts,
                    "outages": s.outages, "last_exit_code": s.last_exit_code,
                    "down_seconds": None if s.down_since is None else round(time.time() - s.down_since, 3)}

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the child (it finishes its epoch and hands its job back), wait, then kill."""
        self._stopping.set()
        self._thread.join(timeout=5)
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    # -- internals ------------------------------------------------------------------------
    def _start_child(self) -> None:
        worker_id = self._new_id()
        proc = self._spawn(worker_id)
        self._proc = proc
        with self._lock:
            self._state.alive, self._state.pid, self._state.worker_id = True, proc.pid, worker_id
            self._state.down_since = None
        log.info("embedded worker started (pid %d, id %s)", proc.pid, worker_id)

    def _run(self) -> None:
        backoff = self.backoff_seconds
        started = time.monotonic()
        while not self._stopping.is_set():
            proc = self._proc
            code = proc.poll() if proc is not None else None  # poll() reaps: no zombie is left
            if code is None:
                self._stopping.wait(self.poll_seconds)
                continue
            if self._stopping.is_set():
                return
            lived = time.monotonic() - started
            with self._lock:
                s = self._state
                worker_id = s.worker_id or ""
                s.alive, s.last_exit_code, s.down_since = False, code, time.time()
                s.outages += 1
            log.error("embedded worker (pid %s) exited with code %s after %.1fs; restarting in %.1fs",
                      proc.pid if proc else "?", code, lived, backoff if lived < self.stable_seconds else
                      self.backoff_seconds)
            if self._on_death is not None:
                try:
                    self._on_death(worker_id, code)
                except Exception as exc:  # the database may be down too; the lease expires anyway
                    log.warning("could not free the dead worker's jobs (%s); they wait for the lease to expire", exc)
            if lived >= self.stable_seconds:
                backoff = self.backoff_seconds  # it ran well for a while: a fresh failure, no penalty
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, self.backoff_max_seconds)
            try:
                self._start_child()
                with self._lock:
                    self._state.restarts += 1
                started = time.monotonic()
            except OSError as exc:
                log.error("could not start the embedded worker (%s); trying again in %.1fs", exc, backoff)
