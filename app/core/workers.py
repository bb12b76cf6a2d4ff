"""The ``workers`` table: each worker process says it is alive (a heartbeat row), what it works
on and how many jobs it claimed; ``/readyz`` reads it, and ``serve``'s supervisor marks a dead
embedded worker and frees its jobs at once (it knows the process is gone: no lease wait)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.session import Database
from app.db.tables import Job, WorkerRecord
from app.db.types import utcnow

log = logging.getLogger(__name__)

ACTIVE_JOB_STATES = ("running", "cancelling")
# A worker whose heartbeat is older than this many heartbeat periods counts as down.
MISSED_BEATS = 3


def register(session: Session, worker_id: str, host: str | None = None, pid: int | None = None) -> None:
    """Insert (or revive) the worker's row."""
    now = utcnow()
    row = session.get(WorkerRecord, worker_id)
    if row is None:
        session.add(WorkerRecord(id=worker_id, host=(host or socket.gethostname())[:255], pid=pid or os.getpid(),
                                 started_at=now, heartbeat_at=now, jobs_claimed=0))
    else:
        row.heartbeat_at, row.stopped_at = now, None
    session.commit()


def beat(session: Session, worker_id: str) -> None:
    """Renew the heartbeat; the current job is read from the queue (the job whose lease this
    worker holds), and a job seen for the first time counts as claimed."""
    current = session.scalar(select(Job.id).where(Job.lease_owner == worker_id, Job.status.in_(ACTIVE_JOB_STATES))
                             .limit(1))
    row = session.get(WorkerRecord, worker_id)
    if row is None:
        session.rollback()
        register(session, worker_id)
        row = session.get(WorkerRecord, worker_id)
        assert row is not None
    if current is not None and current != row.current_job_id:
        row.jobs_claimed += 1
    row.current_job_id, row.heartbeat_at, row.stopped_at = current, utcnow(), None
    session.commit()


def claimed(session: Session, worker_id: str, job_id: str) -> None:
    """For a worker loop that reports its claims itself (counted once per job)."""
    row = session.get(WorkerRecord, worker_id)
    if row is not None and row.current_job_id != job_id:
        row.jobs_claimed += 1
        row.current_job_id = job_id
        row.heartbeat_at = utcnow()
    session.commit()


def mark_stopped(session: Session, worker_id: str, free_jobs: bool = False) -> list[str]:
    """The worker is gone. With ``free_jobs`` (its process is known dead: the supervisor reaped
    it), its leases expire now, so the next reap requeues its jobs without waiting out the lease.
    Returns the ids of the jobs freed."""
    now = utcnow()
    session.execute(update(WorkerRecord).where(WorkerRecord.id == worker_id)
                    .values(stopped_at=now, current_job_id=None))
    freed: list[str] = []
    if free_jobs:
        freed = list(session.scalars(update(Job).where(Job.lease_owner == worker_id,
                                                       Job.status.in_(ACTIVE_JOB_STATES))
                                     .values(lease_expires_at=now - timedelta(seconds=1)).returning(Job.id)))
    session.commit()
    return freed


@dataclass(frozen=True)
class WorkerState:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    seconds_since_heartbeat: float
    jobs_claimed: int
    current_job_id: str | None
    alive: bool

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["started_at"] = self.started_at.isoformat()
        d["heartbeat_at"] = self.heartbeat_at.isoformat()
        d["seconds_since_heartbeat"] = round(self.seconds_since_heartbeat, 3)
        return d

    def public_dict(self) -> dict[str, Any]:
        """What an open probe may show: no worker id, host, pid or job id (those are for operators)."""
        d = self.as_dict()
        for private in ("id", "host", "pid", "current_job_id"):
            d.pop(private)
        d["busy"] = self.current_job_id is not None
        return d


def recent_workers(session: Session, heartbeat_seconds: float, limit: int = 20) -> list[WorkerState]:
    """Workers not marked stopped, newest heartbeat first; ``alive`` when the heartbeat is fresh."""
    now = utcnow()
    rows = session.scalars(select(WorkerRecord).where(WorkerRecord.stopped_at.is_(None))
                           .order_by(WorkerRecord.heartbeat_at.desc()).limit(limit))
    out = []
    for row in rows:
        age = (now - row.heartbeat_at).total_seconds()
        out.append(WorkerState(row.id, row.host, row.pid, row.started_at, row.heartbeat_at, age, row.jobs_claimed,
                               row.current_job_id, age <= MISSED_BEATS * heartbeat_seconds))
    return out


class HeartbeatThread:
    """Runs in a worker process: registers the worker, beats every ``interval`` seconds, marks
    it stopped on a clean exit. A database hiccup is logged once per outage, not per beat."""

    def __init__(self, db: Database, worker_id: str, interval: float) -> None:
        self.db, self.worker_id, self.interval = db, worker_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        with self.db.session() as session:
            register(session, self.worker_id)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            with self.db.session() as session:
                mark_stopped(session, self.worker_id)
        except Exception as exc:  # the database is gone too: the row goes stale, /readyz says so
            log.warning("could not mark worker %s stopped: %s", self.worker_id, exc)

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.interval):
            try:
                with self.db.session() as session:
                    beat(session, self.worker_id)
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("worker heartbeat failed (%s); retrying every %.1fs", exc, self.interval)
                failing = True
