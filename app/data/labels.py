"""Class labels that ride along with an uploaded data set (never fed to unsupervised training).

* ``.npz``: an array ``y`` (or ``labels``) for the training rows and, beside a ``test`` array,
  ``y_test`` (or ``test_labels``).
* ``.csv``: the column named by ``label_column`` (a header name, or a 0-based column index when
  the file has no header) is taken out of the features and becomes the labels.

Labels are non-negative integers (integral floats are accepted), one per row; the class count is
``max + 1`` over both splits and at most ``max_classes``.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from typing import IO

import numpy as np

from app.data.errors import DataError
from app.data.parsing import ParsedUpload, infer_value_type

TRAIN_LABEL_NAMES = ("y", "labels")
TEST_LABEL_NAMES = ("y_test", "test_labels")


@dataclasses.dataclass(frozen=True)
class Labelled:
    """The upload with any label column removed, and its labels (int64, or None)."""

    upload: ParsedUpload
    labels: np.ndarray | None
    test_labels: np.ndarray | None
    n_classes: int | None


def attach_labels(parsed: ParsedUpload, content: bytes | IO[bytes], *, label_column: str | None, max_classes: int) -> Labelled:
    """Find the labels of an upload (see the module docs); :class:`DataError` says what to fix."""
    if parsed.format == "csv":
        if label_column is None:
            return Labelled(parsed, None, None, None)
        return _csv_labels(parsed, label_column, max_classes)
    if label_column is not None:
        raise DataError(f"label_column applies to .csv uploads; a .{parsed.format} file carries labels as "
                        f"an array named {TRAIN_LABEL_NAMES[0]!r} in an .npz")
    if parsed.format != "npz":
        return Labelled(parsed, None, None, None)
    train_name = next((n for n in TRAIN_LABEL_NAMES if n in parsed.ignored_arrays), None)
    test_name = next((n for n in TEST_LABEL_NAMES if n in parsed.ignored_arrays), None)
    if train_name is None:
        if test_name is not None:
            raise DataError(f"the .npz has test labels {test_name!r} but no training labels 'y'")
        return Labelled(parsed, None, None, None)
    if parsed.test is not None and test_name is None:
        raise DataError("the .npz has labels 'y' for 'train' but none for 'test': add 'y_test'")
    if parsed.test is None and test_name is not None:
        raise DataError(f"the .npz has test labels {test_name!r} but no 'test' array")
    arrays = _read_npz_members(content, [n for n in (train_name, test_name) if n])
    labels = _check_labels(arrays[train_name], parsed.train.shape[0], train_name, max_classes)
    test_labels = None
    if test_name is not None:
        assert parsed.test is not None
        test_labels = _check_labels(arrays[test_name], parsed.test.shape[0], test_name, max_classes)
    used = {train_name, test_name}
    upload = dataclasses.replace(parsed, ignored_arrays=[n for n in parsed.ignored_arrays if n not in used])
    return Labelled(upload, labels, test_labels, _n_classes(labels, test_labels))


def _read_npz_members(content: bytes | IO[bytes], names: list[str]) -> dict[str, np.ndarray]:
    source = io.BytesIO(content) if isinstance(content, (bytes, bytearray)) else content  # a spooled upload
    source.seek(0)
    try:
        with np.load(source, allow_pickle=False) as npz:
            return {n: np.asarray(npz[n]) for n in names}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"could not read the label arrays {names} of the .npz: {exc}") from None


def _check_labels(y: np.ndarray, n_rows: int, what: str, max_classes: int) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"labels {what!r} must be 1-D (one class per row), got shape {tuple(y.shape)}")
    if y.shape[0] != n_rows:
        raise DataError(f"labels {what!r} have {y.shape[0]} entries but the data has {n_rows} rows")
    if y.dtype.kind not in "biuf":
        raise DataError(f"labels {what!r} must be integers, got dtype {y.dtype.str!r}")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.array_equal(y, np.round(y))):
        raise DataError(f"labels {what!r} must be whole numbers (class indices 0, 1, ...)")
    if y.size and (y.min() < 0 or y.max() >= max_classes):
        raise DataError(f"labels {what!r} must be class indices in [0, {max_classes}) (setting RBM_MAX_CLASSES); "
                        f"found [{y.min():g}, {y.max():g}]")
    return y.astype(np.int64)


def _n_classes(labels: np.ndarray, test_labels: np.ndarray | None) -> int:
    top = int(labels.max()) if labels.size else 0
    if test_labels is not None and test_labels.size:
        top = max(top, int(test_labels.max()))
    return top + 1


def _csv_labels(parsed: ParsedUpload, label_column: str, max_classes: int) -> Labelled:
    names = parsed.feature_names
    if names is not None:
        if label_column not in names:
            raise DataError(f"label_column {label_column!r} is not a column of the CSV header "
                            f"(columns: {', '.join(names[:20])}{', ...' if len(names) > 20 else ''})")
        j = names.index(label_column)
    else:
        try:
            j = int(label_column)
        except ValueError:
            raise DataError(f"the CSV has no header, so label_column must be a 0-based column index, "
                            f"got {label_column!r}") from None
        if not 0 <= j < parsed.train.shape[1]:
            raise DataError(f"label_column {j} is outside the CSV's {parsed.train.shape[1]} columns")
    if parsed.train.shape[1] < 2:
        raise DataError("the CSV would have no feature left after taking out the label column")
    labels = _check_labels(parsed.train[:, j], parsed.train.shape[0], label_column, max_classes)
    train = np.ascontiguousarray(np.delete(parsed.train, j, axis=1))
    upload = dataclasses.replace(
        parsed, train=train, value_type=infer_value_type(train),
        feature_names=None if names is None else [n for i, n in enumerate(names) if i != j])
    return Labelled(upload, labels, None, _n_classes(labels, None))
