"""The values that cross the database as plain strings, each defined once: job states, job
kinds, model kinds. Everything that compares or writes one imports it from here."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    cancelling = "cancelling"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL


#: A worker holds a lease on these.
ACTIVE = (JobStatus.running, JobStatus.cancelling)
#: Nothing changes a job in these any more.
FINAL = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class JobKind(StrEnum):
    """What a job does. Each kind has one spec model and one runner (``app.jobs.kinds``)."""

    train = "train"
    estimate = "estimate"
    vmc = "vmc"
    dbn = "dbn"


class ModelKind(StrEnum):
    rbm = "rbm"
    dbn = "dbn"
    wavefunction = "wavefunction"
