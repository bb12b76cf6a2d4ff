"""Shared pieces of the built-in data sets: the result type, parameter helpers, splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.data.errors import DataError

ValueType = Literal["binary", "continuous"]


@dataclass(frozen=True)
class BuiltinData:
    """A generated/loaded built-in data set.

    ``train``: float32 ``(n_train, V)``; ``test``: float32 ``(n_test, V)`` or None;
    ``value_type``: "binary" | "continuous"; ``image_shape``: ``(h, w)`` with
    ``h*w == V`` or None; ``info``: JSON-serialisable facts (label counts, exact
    references, sampler statistics); ``canonical_params``: the validated params
    with defaults filled in, i.e. what to store to regenerate the same data.
    """

    train: np.ndarray
    test: np.ndarray | None
    value_type: ValueType
    image_shape: tuple[int, int] | None
    info: dict[str, Any] = field(default_factory=dict)
    canonical_params: dict[str, Any] = field(default_factory=dict)
    #: int64 class labels of the train / test rows (None: unlabelled); never fed to training.
    labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    n_classes: int | None = None


class BuiltinParams(BaseModel):
    """Base of every built-in's parameter model: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


def seed_field() -> Any:
    """A fresh ``seed`` field (FieldInfo objects must not be shared between models)."""
    return Field(0, ge=0, le=2**63 - 1, description="Seed of every random choice; same seed, same data.", examples=[0])


def holdout_fraction_field() -> Any:
    """A fresh ``test_fraction`` field in [0, 1)."""
    return Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Fraction of samples held out as the test set by a seeded random split; 0 = no test set.",
        examples=[0.0, 0.2],
    )


def validate_params(name: str, model: type[BaseModel], params: dict[str, Any] | None) -> BaseModel:
    """Validate ``params`` against ``model``; raise ``DataError`` with a readable message."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise DataError(f"Parameters of built-in data set {name!r} must be a JSON object, got {type(params).__name__}.")
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "params"
            if err["type"] == "extra_forbidden":
                parts.append(f"{loc}: unknown parameter (allowed: {', '.join(model.model_fields)})")
            else:
                got = repr(err.get("input"))
                got = got if len(got) <= 60 else got[:57] + "..."
                parts.append(f"{loc}: {err['msg']} (got {got})")
        raise DataError(f"Invalid parameters for built-in data set {name!r}: " + "; ".join(parts)) from None


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Seeded random train/test split of ``n`` samples -> (train_idx, test_idx or None).

    The test size is ``round(n * test_fraction)``; both parts must be non-empty.
    """
    if test_fraction <= 0.0:
        return np.arange(n), None
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n_test >= n:
        raise DataError(
            f"test_fraction={test_fraction} of {n} samples leaves an empty train or test set; "
            "choose a fraction that keeps at least one sample on each side."
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def label_counts(labels: np.ndarray, n_classes: int = 10) -> list[int]:
    """Per-class counts ``[count of 0, count of 1, ...]`` as plain ints (JSON-safe)."""
    return [int(c) for c in np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)]
