"""Upload parsing: good files of every format and every rejection path."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from app.data.errors import DataError
from app.data.parsing import ParsedUpload, infer_value_type, parse_upload


def npy_bytes(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def rejects(filename: str, content: bytes, match: str, **kw) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        parse_upload(filename, content, **kw)
    assert isinstance(info.value, ValueError)
    return info.value


# ----------------------------------------------------------------------------- good files


def test_npy_2d_float64_becomes_float32_continuous() -> None:
    x = np.random.default_rng(0).random((7, 3))
    out = parse_upload("x.npy", npy_bytes(x))
    assert isinstance(out, ParsedUpload)
    assert out.train.dtype == np.float32 and out.train.shape == (7, 3)
    np.testing.assert_allclose(out.train, x, rtol=1e-6)
    assert out.test is None and out.image_shape is None
    assert out.value_type == "continuous" and out.format == "npy"


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64, np.float16])
def test_npy_binary_of_any_numeric_dtype(dtype) -> None:
    x = (np.arange(12).reshape(4, 3) % 2).astype(dtype)
    out = parse_upload("DATA.NPY", npy_bytes(x))  # extension is case-insensitive
    assert out.value_type == "binary"
    np.testing.assert_array_equal(out.train, x.astype(np.float32))


def test_npy_fortran_order_is_read_correctly() -> None:
    x = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(parse_upload("f.npy", npy_bytes(x)).train, x)


def test_npy_image_stack_is_flattened_row_major() -> None:
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    out = parse_upload("imgs.npy", npy_bytes(x))
    assert out.train.shape == (2, 12) and out.image_shape == (3, 4)
    np.testing.assert_array_equal(out.train[1].reshape(3, 4), x[1])


def test_npz_single_array_any_name() -> None:
    x = np.eye(3)
    out = parse_upload("a.npz", npz_bytes(whatever=x))
    np.testing.assert_array_equal(out.train, x)
    assert out.test is None and out.format == "npz" and out.value_type == "binary"


def test_npz_data_array_is_preferred_and_extras_reported() -> None:
    out = parse_upload("a.npz", npz_bytes(data=np.ones((2, 2)), labels=np.arange(2)))
    np.testing.assert_array_equal(out.train, np.ones((2, 2)))
    assert out.ignored_arrays == ["labels"]


def test_npz_train_and_test_are_both_exposed() -> None:
    train, test = np.zeros((5, 4)), np.full((2, 4), 0.5)
    out = parse_upload("a.npz", npz_bytes(train=train, test=test, y=np.arange(5)))
    np.testing.assert_array_equal(out.train, train)
    np.testing.assert_array_equal(out.test, test)
    assert out.value_type == "continuous"  # the test set's 0.5 counts too
    assert out.ignored_arrays == ["y"]


def test_npz_image_stacks_train_and_test() -> None:
    out = parse_upload("a.npz", npz_bytes(train=np.zeros((3, 2, 2)), test=np.ones((1, 2, 2))))
    assert out.train.shape == (3, 4) and out.test.shape == (1, 4) and out.image_shape == (2, 2)


def test_csv_with_header_comments_blank_lines_and_bom() -> None:
    text = "\ufeff# exported by hand\na, b ,c\n1,0,1\n\n0,1,0\n# trailing comment\n"
    out = parse_upload("d.csv", text.encode("utf-8"))
    np.testing.assert_array_equal(out.train, [[1, 0, 1], [0, 1, 0]])
    assert out.feature_names == ["a", "b", "c"]
    assert out.value_type == "binary" and out.format == "csv"


def test_csv_without_header_and_single_row_or_column() -> None:
    out = parse_upload("d.csv", b"0.5,1e-3,-2\n")
    assert out.train.shape == (1, 3) and out.feature_names is None
    np.testing.assert_allclose(out.train, [[0.5, 1e-3, -2]])
    assert parse_upload("d.csv", b"1\n2\n3\r\n").train.shape == (3, 1)


def test_filename_is_only_an_extension() -> None:
    out = parse_upload("../../etc/passwd.csv", b"1,2\n")
    np.testing.assert_array_equal(out.train, [[1, 2]])
    assert parse_upload(r"C:\Users\me\data.npy", npy_bytes(np.ones((1, 1)))).train.shape == (1, 1)


def test_limits_at_the_boundary_are_accepted() -> None:
    x = np.zeros((10, 4))
    assert parse_upload("x.npy", npy_bytes(x), max_rows=10, max_features=4).train.shape == (10, 4)
    assert parse_upload("x.csv", b"0,0\n" * 10, max_rows=10, max_features=2).train.shape == (10, 2)


def test_infer_value_type() -> None:
    assert infer_value_type(np.array([[0, 1], [1, 1]], dtype=np.float32)) == "binary"
    assert infer_value_type(np.array([[0, 1], [1, 0.5]])) == "continuous"
    assert infer_value_type(np.array([[0, -1]])) == "continuous"
    assert infer_value_type(np.array([[True, False]])) == "binary"


# ----------------------------------------------------------------------------- rejections


def test_unknown_missing_extension_and_empty_file() -> None:
    rejects("x.pkl", b"abc", "Unsupported file type '.pkl'")
    rejects("x.json", b"[]", r"\.npy, \.npz, \.csv")
    rejects("noextension", b"1,2", "no extension")
    rejects("x.csv", b"", "empty")


def test_pickle_disguised_as_npy_is_not_unpickled() -> None:
    rejects("x.npy", pickle.dumps(np.ones((2, 2))), "not a valid .npy file")


def test_object_array_npy_is_rejected_without_unpickling() -> None:
    obj = np.empty((2, 2), dtype=object)
    obj[:] = 1.0
    rejects("x.npy", npy_bytes(obj, allow_pickle=True), "Python objects")
    rejects("x.npz", npz_bytes(train=obj), "Python objects")


@pytest.mark.parametrize(
    "arr",
    [
        np.array([["a", "b"]]),
        np.array([[1 + 2j]]),
        np.zeros((2,), dtype=[("a", "f4"), ("b", "f4")]).reshape(2, 1),
        np.array([["2020-01-01"]], dtype="datetime64[D]"),
    ],
)
def test_non_numeric_dtypes_are_rejected(arr: np.ndarray) -> None:
    rejects("x.npy", npy_bytes(arr), "non-numeric dtype")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_nan_inf_and_float32_overflow_are_rejected(bad: float) -> None:
    x = np.zeros((3, 4))
    x[2, 1] = bad
    err = rejects("x.npy", npy_bytes(x), "NaN/infinite")
    assert "sample 2, feature 1" in err.message
    rejects("x.csv", b"0,0\n0,%s\n" % str(bad).encode(), "NaN/infinite")


@pytest.mark.parametrize(
    ("arr", "match"),
    [
        (np.float64(3.0), "single number"),
        (np.arange(5.0), "1-D"),
        (np.zeros((2, 2, 2, 2)), "4-D"),
        (np.zeros((0, 5)), "empty"),
        (np.zeros((5, 0)), "empty"),
        (np.zeros((3, 0, 4)), "empty"),
    ],
)
def test_wrong_dimensions_and_empty_arrays(arr: np.ndarray, match: str) -> None:
    rejects("x.npy", npy_bytes(arr), match)


def test_too_many_rows_or_features() -> None:
    x = np.zeros((11, 5))
    rejects("x.npy", npy_bytes(x), "11 samples; at most 10", max_rows=10)
    rejects("x.npy", npy_bytes(x), "5 features per sample; at most 4", max_features=4)
    rejects("x.npy", npy_bytes(np.zeros((2, 3, 3))), "9 features", max_features=8)
    rejects("x.npz", npz_bytes(train=np.zeros((2, 2)), test=np.zeros((3, 2))), "3 samples", max_rows=2)
    rejects("x.csv", b"1,2\n" * 11, "more than 10 samples", max_rows=10)
    rejects("x.csv", b"1,2,3\n", "3 columns; at most 2", max_features=2)


def test_limits_are_checked_from_the_header_before_reading_data() -> None:
    # A header that claims 10^9 rows followed by almost no data: rejected on the
    # header's shape (no allocation, no truncation error).
    good = npy_bytes(np.zeros((1, 2)))
    forged = good.replace(b"(1, 2)", b"(1000000000, 2)")
    assert forged != good
    rejects("x.npy", forged, "1000000000 samples; at most 100", max_rows=100)
    rejects("x.npy", forged, "truncated")  # without a limit it fails cleanly too


def test_garbage_npz_and_npz_ambiguities() -> None:
    rejects("x.npz", b"not a zip", "not a valid archive")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hi")
    rejects("x.npz", buf.getvalue(), "no arrays")
    rejects("x.npz", npz_bytes(a=np.ones((2, 2)), b=np.ones((2, 2))), "several arrays .*'train'")
    rejects("x.npz", npz_bytes(train=np.ones((2, 3)), test=np.ones((2, 4))), "disagree")
    rejects("x.npz", npz_bytes(train=np.ones((2, 2, 2)), test=np.ones((2, 4))), "disagree")
    rejects("x.npz", npz_bytes(train=np.arange(3.0)), "1-D")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"1,2\n3,abc\n", "only numbers"),
        (b"1,2\n3\n", "same number of columns"),
        (b"1,,3\n", "only numbers"),
        (b"1;2\n3;4\n", "comma separated"),
        (b"1\t2\n3\t4\n", "comma separated"),
        (b"a,b\n", "header row but no data"),
        (b"# only a comment\n\n", "no data rows"),
        (b"a,b\n1,2,3\n", "only numbers|header has 2 columns"),
        (b"\xff\xfe1,2\n", "UTF-8"),
    ],
)
def test_bad_csv(content: bytes, match: str) -> None:
    rejects("x.csv", content, match)
