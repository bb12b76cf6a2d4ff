"""Built-in "digits": scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from app.data.builtin_base import (
    BuiltinData,
    BuiltinParams,
    holdout_fraction_field,
    label_counts,
    seed_field,
    split_indices,
)
from app.data.errors import DataError

#: Second seed word of the dequantisation noise, so it is independent of the split's stream.
_DEQUANTIZE_STREAM = 17


class DigitsParams(BuiltinParams):
    """Parameters of the "digits" data set (sklearn.datasets.load_digits, 8x8 pixels valued 0..16)."""

    binarize: Literal["threshold", "none"] = Field(
        "threshold",
        description='"threshold": pixel >= 8 (of 16) -> 1, else 0; "none": continuous values pixel/16 in [0, 1] '
        '(or (pixel + u)/17 in (0, 1) with `dequantize`).',
        examples=["threshold"],
    )
    dequantize: bool = Field(
        False,
        description='With binarize "none": add uniform noise u in [0, 1) to each integer pixel (0..16) and '
        "divide by 17, so values fill (0, 1) and densities are finite and comparable with published "
        "dequantised log-likelihoods (the log-density in these units minus 64 log 17 is per integer pixel).",
        examples=[False],
    )
    test_fraction: float = holdout_fraction_field()
    seed: int = seed_field()


def load_digits_builtin(p: DigitsParams) -> BuiltinData:
    """(1797, 64) images, optionally split; image_shape (8, 8)."""
    from sklearn.datasets import load_digits  # lazy: sklearn import is slow

    x, y = load_digits(return_X_y=True)
    if p.dequantize and p.binarize != "none":
        raise DataError('dequantize=true needs binarize="none" (noise on binary pixels means nothing)')
    if p.binarize == "threshold":
        data = (x >= 8).astype(np.float32)
        value_type = "binary"
    elif p.dequantize:
        u = np.random.default_rng([p.seed, _DEQUANTIZE_STREAM]).random(x.shape)
        data = ((x + u) / 17.0).astype(np.float32)
        value_type = "continuous"
    else:
        data = (x / 16.0).astype(np.float32)
        value_type = "continuous"
    train_idx, test_idx = split_indices(len(data), p.test_fraction, p.seed)
    info = {
        "source": "scikit-learn load_digits (UCI optical recognition of handwritten digits, 8x8)",
        "n_train": int(len(train_idx)),
        "n_test": 0 if test_idx is None else int(len(test_idx)),
        "label_counts": label_counts(y[train_idx]),
    }
    if test_idx is not None:
        info["test_label_counts"] = label_counts(y[test_idx])
    return BuiltinData(
        train=np.ascontiguousarray(data[train_idx]),
        test=None if test_idx is None else np.ascontiguousarray(data[test_idx]),
        value_type=value_type,
        image_shape=(8, 8),
        info=info,
        canonical_params=p.model_dump(mode="json"),
        labels=y[train_idx].astype(np.int64),
        test_labels=None if test_idx is None else y[test_idx].astype(np.int64),
        n_classes=10,
    )
