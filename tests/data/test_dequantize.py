"""Dequantised built-ins: uniform noise on the integer pixels, then scaled, so each value still
names its pixel (floor) and the values fill the pixel's cell (finite densities)."""

from __future__ import annotations

import numpy as np
import pytest

from app.data.builtin import load_builtin
from app.data.errors import DataError


def test_dequantized_digits_keep_their_pixels_and_fill_the_cells():
    from sklearn.datasets import load_digits

    pixels = load_digits().data
    d = load_builtin("digits", {"binarize": "none", "dequantize": True})
    assert d.value_type == "continuous" and d.train.dtype == np.float32
    scaled = d.train.astype(np.float64) * 17
    np.testing.assert_array_equal(np.floor(scaled), pixels)
    frac = (scaled - pixels).ravel()
    assert 0.45 < frac.mean() < 0.55 and 0.27 < frac.std() < 0.31  # U[0, 1): mean 1/2, std 0.289
    again = load_builtin("digits", {"binarize": "none", "dequantize": True})
    np.testing.assert_array_equal(again.train, d.train)  # seeded
    other = load_builtin("digits", {"binarize": "none", "dequantize": True, "seed": 1})
    assert not np.array_equal(other.train, d.train)


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_dequantize_needs_real_values(name):
    with pytest.raises(DataError, match="binarize"):
        load_builtin(name, {"binarize": "threshold", "dequantize": True})


def test_dequantized_mnist_keeps_its_pixels():
    pytest.importorskip("importlib.metadata")
    try:
        raw = load_builtin("mnist", {"binarize": "none", "limit": 200})
    except DataError as exc:
        pytest.skip(f"mnist not installed: {exc}")
    d = load_builtin("mnist", {"binarize": "none", "dequantize": True, "limit": 200})
    pixels = np.rint(raw.train.astype(np.float64) * 256)
    scaled = d.train.astype(np.float64) * 256
    assert np.all(scaled >= pixels) and np.all(scaled <= pixels + 1)
    assert 0.45 < (scaled - pixels).mean() < 0.55
