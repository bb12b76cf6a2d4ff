"""Numbers that live in the database, read at scrape time: queue depth by status and kind, job
durations, training speed of running jobs, worker heartbeat ages. The workers write the rows
they already write (jobs, job events, worker heartbeats); nothing extra crosses processes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select

from app.db.session import Database
from app.db.tables import Dataset, Job, JobEvent, WorkerRecord
from app.db.types import utcnow

log = logging.getLogger(__name__)

# training jobs last from a second (digits, a few epochs) to hours (MNIST, thousands of epochs)
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
FINAL = ("succeeded", "failed", "cancelled")
STATUSES = ("queued", "running", "cancelling", *FINAL)


def histogram(values: list[float], buckets: tuple[float, ...]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative Prometheus buckets (with +Inf) and the sum of ``values``."""
    counts = [(floatToGoString(b), float(sum(v <= b for v in values))) for b in buckets]
    return [*counts, ("+Inf", float(len(values)))], float(sum(values))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


class DatabaseCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> Iterator[Any]:
        return iter(())  # collected at scrape time only; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        try:
            with self.db.session() as session:
                yield from self._queue(session)
                yield from self._durations(session)
                yield from self._throughput(session)
                yield from self._workers(session)
        except Exception:  # a scrape never fails the whole page because the database is away
            log.exception("metrics: database unavailable")
            up = GaugeMetricFamily("rbm_database_up", "1 when the database answered the metrics queries.")
            up.add_metric([], 0.0)
            yield up
            return
        up = GaugeMetricFamily("rbm_database_up", "1 when the database answered the metrics queries.")
        up.add_metric([], 1.0)
        yield up

    def _queue(self, session: Any) -> Iterator[Any]:
        depth = GaugeMetricFamily("rbm_jobs", "Jobs by status and kind (queued = the queue depth).",
                                  labels=["status", "kind"])
        seen = {(s, k): n for s, k, n in session.execute(
            select(Job.status, Job.kind, func.count()).group_by(Job.status, Job.kind))}
        kinds = sorted({k for _, k in seen} | {"train"})
        for status in STATUSES:
            for kind in kinds:
                depth.add_metric([status, kind], float(seen.get((status, kind), 0)))
        yield depth

    def _durations(self, session: Any) -> Iterator[Any]:
        family = HistogramMetricFamily("rbm_job_duration_seconds", "Run time of finished jobs (started to finished), "
                                       "by kind and final status.", labels=["kind", "status"])
        values: dict[tuple[str, str], list[float]] = {}
        rows = session.execute(select(Job.kind, Job.status, Job.started_at, Job.finished_at)
                               .where(Job.status.in_(FINAL), Job.started_at.is_not(None)))
        for kind, status, started, finished in rows:
            seconds = _seconds(started, finished)
            if seconds is not None:
                values.setdefault((kind, status), []).append(seconds)
        for (kind, status), vals in sorted(values.items()):
            buckets, total = histogram(vals, DURATION_BUCKETS)
            family.add_metric([kind, status], buckets, total)
        yield family

    def _throughput(self, session: Any) -> Iterator[Any]:
        """Examples per second of each running training job's last epoch: training rows / epoch_seconds."""
        family = GaugeMetricFamily("rbm_training_examples_per_second",
                                   "Training rows per second in the last finished epoch of each running job.",
                                   labels=["job_id", "kind"])
        running = session.execute(select(Job.id, Job.kind, Job.training, Dataset.n_samples)
                                  .join(Dataset, Dataset.id == Job.dataset_id)
                                  .where(Job.status == "running")).all()
        for job_id, kind, training, n_samples in running:
            last = session.scalar(select(JobEvent.data).where(JobEvent.job_id == job_id, JobEvent.kind == "progress")
                                  .order_by(JobEvent.seq.desc()).limit(1))
            seconds = (last or {}).get("epoch_seconds")
            if not seconds:
                continue
            rows = n_samples * (1.0 - float((training or {}).get("validation_fraction") or 0.0))
            family.add_metric([job_id, kind], rows / float(seconds))
        yield family

    def _workers(self, session: Any) -> Iterator[Any]:
        age = GaugeMetricFamily("rbm_worker_heartbeat_age_seconds", "Seconds since each live worker's last heartbeat.",
                                labels=["worker"])
        claimed = GaugeMetricFamily("rbm_worker_jobs_claimed", "Jobs each live worker has claimed since it started.",
                                    labels=["worker"])
        now = utcnow()
        for row in session.scalars(select(WorkerRecord).where(WorkerRecord.stopped_at.is_(None))):
            age.add_metric([row.id], _seconds(row.heartbeat_at, now) or 0.0)
            claimed.add_metric([row.id], float(row.jobs_claimed))
        yield age
        yield claimed
