"""Dataset logic shared by the router, the worker and the CLI."""

from __future__ import annotations

from typing import IO

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from app.core.pagination import Page, paginate
from app.core.settings import Settings
from app.core.tags import where_equal, where_tags
from app.data.builtin import load_builtin
from app.data.errors import LimitExceeded
from app.data.labels import attach_labels
from app.data.parsing import parse_upload
from app.datasets.arrays import dataset_arrays, remember_builtin
from app.datasets.schemas import DatasetOut
from app.db.states import ACTIVE, JobStatus
from app.db.tables import Dataset, Job
from app.storage.artifacts import ArtifactStore

ACTIVE_JOB_STATES = (JobStatus.queued, *ACTIVE)


def value_range(train: np.ndarray, test: np.ndarray | None) -> list[float]:
    """[min, max] over both splits: decides whether binary units may read the data as probabilities."""
    arrays = [train] if test is None else [train, test]
    return [float(min(a.min() for a in arrays)), float(max(a.max() for a in arrays))]


def get_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound("dataset", dataset_id)
    return dataset


def rows_for_model(session: Session, store: ArtifactStore, dataset_id: str, split: str, n_visible: int,
                   limit: int | None = None) -> np.ndarray:
    """Rows of one split of a dataset that a model with ``n_visible`` units will read; 422 if they
    cannot be: the widths differ, or the split does not exist."""
    dataset = get_dataset(session, dataset_id)
    if dataset.n_features != n_visible:
        raise InvalidRequest(f"dataset {dataset_id!r} has {dataset.n_features} features; the model has "
                             f"{n_visible} visible units")
    train, test = dataset_arrays(dataset, store)
    rows = train if split == "train" else test
    if rows is None or rows.shape[0] == 0:
        raise InvalidRequest(f"dataset {dataset_id!r} has no {split} split; use split='train'")
    return rows if limit is None else rows[:limit]


def create_from_upload(session: Session, store: ArtifactStore, settings: Settings, *,
                       name: str | None, filename: str, content: bytes | IO[bytes], label_column: str | None = None,
                       tags: dict[str, str] | None = None, image_shape: list[int] | None = None) -> Dataset:
    """``image_shape`` (height, width) is how pictures show a row; a 3-D array brings its own.
    ``content`` may be the spooled upload file itself: it is parsed from there, never copied
    into memory whole. Blocking: the router calls it in a worker thread."""
    size = len(content) if isinstance(content, (bytes, bytearray)) else content.seek(0, 2)
    if size > settings.max_upload_bytes:
        raise PayloadTooLarge(f"upload is {size} bytes; the limit is {settings.max_upload_bytes} "
                              "(setting RBM_MAX_UPLOAD_BYTES)")
    try:
        parsed = parse_upload(filename, content, max_rows=settings.max_dataset_rows,
                              max_features=settings.max_features, max_values=settings.max_dataset_values)
    except LimitExceeded as exc:
        setting = {"rows": "RBM_MAX_DATASET_ROWS", "features": "RBM_MAX_FEATURES",
                   "values": "RBM_MAX_DATASET_VALUES"}[exc.limit]
        raise InvalidRequest(f"{exc.message} (setting {setting})") from exc
    if not isinstance(content, (bytes, bytearray)):
        content.seek(0)
    labelled = attach_labels(parsed, content, label_column=label_column, max_classes=settings.max_classes)
    parsed = labelled.upload
    train, test = parsed.train, parsed.test
    shape = list(parsed.image_shape) if parsed.image_shape else None
    if image_shape is not None:
        if shape is not None and shape != image_shape:
            raise InvalidRequest(f"image_shape {image_shape} differs from the array's own shape {shape}; omit image_shape")
        if image_shape[0] * image_shape[1] != train.shape[1]:
            raise InvalidRequest(f"image_shape {image_shape} has {image_shape[0] * image_shape[1]} pixels but the "
                                 f"data has {train.shape[1]} features per row")
        shape = image_shape
    dataset = Dataset(tags=tags,
        name=name or filename.rsplit("/", 1)[-1][:200] or "upload", source="upload",
        n_samples=train.shape[0], n_features=train.shape[1],
        n_test=None if test is None else test.shape[0], value_type=parsed.value_type,
        image_shape=shape,
        info={"format": parsed.format, "value_range": value_range(train, test),
              **({"feature_names": parsed.feature_names} if parsed.feature_names else {}),
              **({"ignored_arrays": parsed.ignored_arrays} if parsed.ignored_arrays else {})},
        train_key=store.put_array("datasets", train),
        test_key=None if test is None else store.put_array("datasets", test),
        size_bytes=train.nbytes + (0 if test is None else test.nbytes),
        n_classes=labelled.n_classes,
        labels_key=None if labelled.labels is None else store.put_array("datasets", labelled.labels),
        test_labels_key=None if labelled.test_labels is None else store.put_array("datasets", labelled.test_labels),
    )
    session.add(dataset)
    session.commit()
    return dataset


def create_builtin(session: Session, *, builtin: str, params: dict, name: str | None,
                   tags: dict[str, str] | None = None) -> Dataset:
    data = load_builtin(builtin, params)
    remember_builtin(builtin, data.canonical_params, data)
    dataset = Dataset(
        name=name or builtin, tags=tags, source="builtin", builtin=builtin, params=data.canonical_params,
        n_samples=data.train.shape[0], n_features=data.train.shape[1],
        n_test=None if data.test is None else data.test.shape[0], value_type=data.value_type,
        image_shape=list(data.image_shape) if data.image_shape else None,
        info={**data.info, "value_range": value_range(data.train, data.test)},
        train_key=None, test_key=None, size_bytes=0, n_classes=data.n_classes,
    )
    session.add(dataset)
    session.commit()
    return dataset


def lock_dataset(session: Session, dataset_id: str, exclusive: bool) -> Dataset:
    """The dataset row, locked until the transaction ends, so a delete and a job submission on
    it cannot interleave (a job queued on a dataset that is then deleted). PostgreSQL: FOR UPDATE
    (delete) / FOR SHARE (submissions, which may run side by side). SQLite has no row locks: a
    no-op UPDATE takes the database's write lock first, which serialises both."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Dataset).where(Dataset.id == dataset_id).values(id=Dataset.id))
        stmt = select(Dataset).where(Dataset.id == dataset_id)
    else:
        stmt = select(Dataset).where(Dataset.id == dataset_id).with_for_update(read=not exclusive)
    dataset = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if dataset is None:
        raise NotFound("dataset", dataset_id)
    return dataset


def delete_dataset(session: Session, store: ArtifactStore, dataset_id: str) -> None:
    dataset = lock_dataset(session, dataset_id, exclusive=True)  # no job is being queued on it meanwhile
    active = session.scalars(select(Job.id).where(Job.dataset_id == dataset_id,
                                                  Job.status.in_(ACTIVE_JOB_STATES))).all()
    if active:
        raise Conflict(f"dataset {dataset_id!r} is in use by active job(s) {', '.join(active)}; "
                       "cancel them or wait for them to finish, then delete")
    session.delete(dataset)
    session.commit()
    store.delete(dataset.train_key)
    store.delete(dataset.test_key)
    store.delete(dataset.labels_key)
    store.delete(dataset.test_labels_key)


def list_datasets(session: Session, limit: int, cursor: str | None, *, name: str | None = None,
                  tags: list[str] | None = None, builtin: str | None = None) -> Page[DatasetOut]:
    """Newest first, each filter applied only when given."""
    stmt = where_tags(where_equal(select(Dataset), name=(Dataset.name, name), builtin=(Dataset.builtin, builtin)),
                      Dataset, tags)
    rows, next_cursor = paginate(session, stmt, Dataset, limit, cursor)
    return Page[DatasetOut](items=[DatasetOut.model_validate(r) for r in rows], next_cursor=next_cursor)
