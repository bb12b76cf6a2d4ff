"""The relational schema. Alembic migrations under ``migrations/`` are its source of truth in
production; this module is what the code reads and writes through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import UTCDateTime, utcnow


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # "upload" | "builtin"
    builtin: Mapped[str | None] = mapped_column(String(50))
    params: Mapped[dict[str, Any] | None]
    n_samples: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    n_test: Mapped[int | None] = mapped_column(Integer)
    value_type: Mapped[str] = mapped_column(String(20))  # "binary" | "continuous"
    image_shape: Mapped[list[Any] | None]
    info: Mapped[dict[str, Any] | None]
    train_key: Mapped[str | None] = mapped_column(String(200))  # None for built-ins: regenerated
    test_key: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    tags: Mapped[dict[str, Any] | None]
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)  # owner; None: open mode / legacy rows
    n_classes: Mapped[int | None] = mapped_column(Integer)  # None: the dataset has no labels
    labels_key: Mapped[str | None] = mapped_column(String(200))  # uploads' label arrays; built-ins regenerate theirs
    test_labels_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),
                      Index("ix_jobs_status_priority_created", "status", "priority", "created_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="train", server_default=text("'train'"))
    spec: Mapped[dict[str, Any] | None]  # the kind's validated spec (app.jobs.contract); None on pre-0003 rows
    result: Mapped[dict[str, Any] | None]  # what a finished job of a kind without a model yields
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    tags: Mapped[dict[str, Any] | None]
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    sweep_id: Mapped[str | None] = mapped_column(String(32), index=True)
    dataset_id: Mapped[str | None] = mapped_column(String(32), index=True)  # no FK: finished jobs outlive their data
    status: Mapped[str] = mapped_column(String(20), default="queued")
    model_spec: Mapped[dict[str, Any] | None]
    training: Mapped[dict[str, Any] | None]
    epoch: Mapped[int] = mapped_column(Integer, default=0)  # progress: steps done (epochs, betas, iterations...)
    epochs: Mapped[int] = mapped_column(Integer)  # progress: steps in all
    error: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    checkpoint_key: Mapped[str | None] = mapped_column(String(200))
    api_key_id: Mapped[str | None] = mapped_column(String(32), index=True)  # who submitted it (quota)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobEvent(Base):
    """Append-only log of what happened to a job: the metrics history and the live-progress feed."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "progress" | "status"
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("job_id", name="uq_models_job_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="rbm", server_default=text("'rbm'"))  # rbm | dbn | wavefunction
    tags: Mapped[dict[str, Any] | None]
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    info: Mapped[dict[str, Any] | None]  # kind-specific description (layers of a DBN, system of a wave function)
    source: Mapped[str] = mapped_column(String(20))  # "trained" | "upload"
    job_id: Mapped[str | None] = mapped_column(String(32))
    dataset_id: Mapped[str | None] = mapped_column(String(32), index=True)
    visible_type: Mapped[str] = mapped_column(String(20))
    n_visible: Mapped[int] = mapped_column(Integer)
    n_hidden: Mapped[int] = mapped_column(Integer)
    image_shape: Mapped[list[Any] | None]
    training: Mapped[dict[str, Any] | None]
    metrics: Mapped[dict[str, Any] | None]
    weights_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiKey(Base):
    """An API key. Only its SHA-256 is stored; ``rbm-service keys create`` prints the key once."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it in a list
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]]
    tenant: Mapped[str | None] = mapped_column(String(64))  # keys of one tenant share their objects
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_job_at: Mapped[datetime | None]  # last job submission; updating it locks the key while its jobs are counted
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first response to a request that carried an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(32), primary_key=True)  # API key id; "" without auth
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, route and body
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Sweep(Base):
    """A group of jobs made from one base spec and a search space over its options."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[dict[str, Any] | None]
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    base: Mapped[dict[str, Any]]
    space: Mapped[dict[str, Any]]
    metric: Mapped[str | None] = mapped_column(String(100))
    goal: Mapped[str] = mapped_column(String(8), default="max")  # "min" | "max"
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WorkerRecord(Base):
    """One worker process's heartbeat, so the API can say whether anyone is working the queue."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    jobs_claimed: Mapped[int] = mapped_column(Integer, default=0)
    current_job_id: Mapped[str | None] = mapped_column(String(32))
    stopped_at: Mapped[datetime | None]
