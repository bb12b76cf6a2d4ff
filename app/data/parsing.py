"""Turn an uploaded file (.npy, .npz, .csv) into a validated float32 matrix.

Everything here is defensive: uploads come from strangers, so nothing is ever
unpickled, .npy headers are inspected (dtype, shape, size limits) before any
array data is read, and every rejection is a ``DataError`` whose message says
what to change in the file.

Accepted layouts
----------------
* 2-D array ``(n_samples, n_features)``.
* 3-D image stack ``(n_samples, h, w)``: flattened row-major to
  ``(n_samples, h*w)`` and ``image_shape = (h, w)`` is reported.
* .npz: the array named ``"train"`` (plus ``"test"`` if present, which becomes
  ``ParsedUpload.test``); otherwise the array named ``"data"``; otherwise the
  archive must hold exactly one array. Other arrays (e.g. labels) are ignored
  and listed in ``ParsedUpload.ignored_arrays``.
* .csv: comma separated numbers, UTF-8. Lines starting with ``#`` and blank
  lines are skipped. The first line is taken as a header only when none of its
  fields is a number (so a header of bare column indices "0,1,2" is *not*
  detected and is read as data).

Values must be finite and representable as float32; booleans and integers are
converted.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal

import numpy as np

from app.data.errors import DataError, LimitExceeded

ValueType = Literal["binary", "continuous"]
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".npy", ".npz", ".csv")

# dtype kinds we convert to float32: bool, signed int, unsigned int, float.
_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class ParsedUpload:
    """A parsed upload.

    ``train``: float32 ``(n_train, n_features)``; ``test``: float32
    ``(n_test, n_features)`` or None (only .npz with a ``"test"`` array);
    ``value_type``: "binary" iff every value of train and test is 0 or 1;
    ``image_shape``: ``(h, w)`` when a 3-D stack was flattened, else None;
    ``format``: "npy" | "npz" | "csv"; ``feature_names``: the CSV header, if any;
    ``ignored_arrays``: .npz members that were not used.
    """

    train: np.ndarray
    test: np.ndarray | None
    value_type: ValueType
    image_shape: tuple[int, int] | None
    format: str
    feature_names: list[str] | None = None
    ignored_arrays: list[str] = field(default_factory=list)


def infer_value_type(x: np.ndarray) -> ValueType:
    """"binary" iff every value of ``x`` (any shape) is exactly 0 or 1, else "continuous"."""
    x = np.asarray(x)
    if x.size == 0:
        return "binary"
    return "binary" if bool(np.all((x == 0) | (x == 1))) else "continuous"


def file_extension(filename: str) -> str:
    """Lower-case extension of ``filename`` (e.g. ".csv"); the name is never used as a path."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        raise DataError(
            f"Cannot tell the file format of {base!r}: the name has no extension. "
            f"Use one of {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return "." + base.rsplit(".", 1)[-1].lower()


def parse_upload(
    filename: str,
    content: bytes | IO[bytes],
    *,
    max_rows: int | None = None,
    max_features: int | None = None,
    max_values: int | None = None,
) -> ParsedUpload:
    """Parse ``content`` (bytes, or a seekable binary file: a spooled upload is never read into
    memory whole) according to the extension of ``filename``.

    ``max_rows`` bounds the samples of train and of test separately;
    ``max_features`` bounds the columns (h*w for an image stack); ``max_values``
    bounds rows x columns (the memory the array takes). All are checked from the
    file header (and, in a .npz, the archive directory) before the data is decoded.
    """
    ext = file_extension(filename)
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"Unsupported file type {ext!r}. Upload one of {', '.join(SUPPORTED_EXTENSIONS)} "
            "(numeric data, one sample per row)."
        )
    source: IO[bytes] = io.BytesIO(content) if isinstance(content, (bytes, bytearray)) else content
    source.seek(0, io.SEEK_END)
    if source.tell() == 0:
        raise DataError("The uploaded file is empty.")
    limits = _Limits(max_rows, max_features, max_values)
    if ext == ".npy":
        train, shape = _read_npy_member(lambda: _Rewound(source), "The .npy file", limits)
        return _finish(train, None, shape, "npy")
    if ext == ".npz":
        source.seek(0)
        return _parse_npz(source, limits)
    source.seek(0)
    return _parse_csv(source.read(), limits)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Limits:
    max_rows: int | None
    max_features: int | None
    max_values: int | None = None


class _Rewound:
    """The shared upload stream from its start, left open on exit (it is read twice: header,
    data). Not a file object to numpy, so the data is read in bounded chunks."""

    def __init__(self, raw: IO[bytes]) -> None:
        raw.seek(0)
        self._raw = raw

    def read(self, n: int | None = -1) -> bytes:
        return self._raw.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def __enter__(self) -> _Rewound:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _finish(
    train: np.ndarray,
    test: np.ndarray | None,
    image_shape: tuple[int, int] | None,
    fmt: str,
    feature_names: list[str] | None = None,
    ignored: list[str] | None = None,
) -> ParsedUpload:
    binary = infer_value_type(train) == "binary" and (test is None or infer_value_type(test) == "binary")
    return ParsedUpload(
        train=train,
        test=test,
        value_type="binary" if binary else "continuous",
        image_shape=image_shape,
        format=fmt,
        feature_names=feature_names,
        ignored_arrays=ignored or [],
    )


def _check_shape(shape: Sequence[int], what: str, limits: _Limits) -> None:
    """Reject shapes we do not accept, before any data is read."""
    ndim = len(shape)
    if ndim == 0:
        raise DataError(f"{what} holds a single number; expected a 2-D array (n_samples, n_features).")
    if ndim == 1:
        raise DataError(
            f"{what} is 1-D with shape {tuple(shape)}; expected a 2-D array (n_samples, n_features). "
            "Reshape it, e.g. x.reshape(1, -1) for one sample or x.reshape(-1, 1) for one feature."
        )
    if ndim > 3:
        raise DataError(
            f"{what} is {ndim}-D with shape {tuple(shape)}; expected (n_samples, n_features) "
            "or an image stack (n_samples, height, width). Flatten each sample to one row."
        )
    n_rows = int(shape[0])
    n_features = int(np.prod(shape[1:]))
    if n_rows == 0 or n_features == 0:
        raise DataError(f"{what} is empty (shape {tuple(shape)}); it needs at least one sample and one feature.")
    if limits.max_rows is not None and n_rows > limits.max_rows:
        raise LimitExceeded(f"{what} has {n_rows} samples; at most {limits.max_rows} are allowed. Upload a subset.", "rows")
    if limits.max_features is not None and n_features > limits.max_features:
        raise LimitExceeded(
            f"{what} has {n_features} features per sample; at most {limits.max_features} are allowed.", "features"
        )
    if limits.max_values is not None and n_rows * n_features > limits.max_values:
        raise LimitExceeded(
            f"{what} has {n_rows} x {n_features} = {n_rows * n_features} values; at most {limits.max_values} "
            "(rows x features) are allowed. Upload fewer rows.", "values"
        )


def _check_dtype(dtype: np.dtype, what: str) -> None:
    if dtype.hasobject:
        raise DataError(
            f"{what} contains Python objects (a pickled object array), which are never loaded. "
            "Save a numeric array instead, e.g. np.save(f, x.astype(np.float32))."
        )
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(
            f"{what} has non-numeric dtype {dtype.str!r}; expected booleans, integers or floats."
        )


def _to_matrix(arr: np.ndarray, what: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Flatten an image stack, convert to float32 and reject NaN/inf. Returns (matrix, image_shape)."""
    image_shape: tuple[int, int] | None = None
    if arr.ndim == 3:
        image_shape = (int(arr.shape[1]), int(arr.shape[2]))
        arr = arr.reshape(arr.shape[0], -1)
    with np.errstate(over="ignore", invalid="ignore"):
        mat = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(mat)
    if not finite.all():
        bad = np.argwhere(~finite)
        r, c = (int(v) for v in bad[0])
        raise DataError(
            f"{what} contains {len(bad)} NaN/infinite value(s) (or values beyond the float32 range), "
            f"the first at sample {r}, feature {c}. Remove or impute them."
        )
    return mat, image_shape


def _read_npy_member(
    open_stream: Callable[[], IO[bytes]], what: str, limits: _Limits
) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Read one .npy stream: header checks first, then ``read_array(allow_pickle=False)``.

    ``open_stream`` is called twice (header pass, data pass) so it works for zip members.
    """
    fmt = np.lib.format
    with open_stream() as fp:
        try:
            version = fmt.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(fp)
            else:
                raise DataError(
                    f"{what} uses .npy format version {version}, which is not accepted; "
                    "save a plain numeric array with np.save."
                )
        except DataError:
            raise
        except Exception as exc:  # numpy raises ValueError / various on garbage
            raise DataError(
                f"{what} is not a valid .npy file ({exc}). Create it with np.save(f, x) "
                "where x is a numeric 2-D array."
            ) from exc
    _check_dtype(np.dtype(dtype), what)
    _check_shape(shape, what, limits)
    with open_stream() as fp:
        try:
            arr = fmt.read_array(fp, allow_pickle=False)
        except Exception as exc:
            raise DataError(f"{what} could not be read ({exc}); the file may be truncated.") from exc
    return _to_matrix(arr, what)


def _parse_npz(content: IO[bytes], limits: _Limits) -> ParsedUpload:
    try:
        zf = zipfile.ZipFile(content)
    except zipfile.BadZipFile as exc:
        raise DataError("The .npz file is not a valid archive; create it with np.savez or np.savez_compressed.") from exc
    with zf:
        members = {info.filename[: -len(".npy")]: info.filename for info in zf.infolist() if info.filename.endswith(".npy")}
        if not members:
            raise DataError("The .npz archive contains no arrays.")
        for info in zf.infolist():  # every member, labels included, before anything is decompressed
            _check_member_size(info, info.filename.removesuffix(".npy"), limits)
        names = sorted(members)
        if "train" in members:
            train_key, test_key = "train", ("test" if "test" in members else None)
        elif "data" in members:
            train_key, test_key = "data", None
        elif len(members) == 1:
            train_key, test_key = names[0], None
        else:
            raise DataError(
                f"The .npz archive holds several arrays ({', '.join(names)}) and none is named "
                "'train' or 'data'. Name the training array 'train' (and optionally the test array 'test')."
            )

        def read(key: str) -> tuple[np.ndarray, tuple[int, int] | None]:
            return _read_npy_member(lambda: zf.open(members[key]), f"Array {key!r} in the .npz file", limits)

        train, image_shape = read(train_key)
        test = None
        if test_key is not None:
            test, test_image_shape = read(test_key)
            if test.shape[1] != train.shape[1] or test_image_shape != image_shape:
                raise DataError(
                    f"Arrays 'train' and 'test' disagree in shape per sample "
                    f"({image_shape or train.shape[1]} vs {test_image_shape or test.shape[1]}); they must match."
                )
        ignored = [n for n in names if n not in (train_key, test_key)]
        return _finish(train, test, image_shape, "npz", ignored=ignored)


# A .npy member's header is at most this large (numpy writes 64-byte aligned headers well below it).
_NPY_HEADER_SLACK = 65_536


def _check_member_size(info: zipfile.ZipInfo, key: str, limits: _Limits) -> None:
    """Refuse a zip bomb from the archive's directory, before decompressing anything: a member
    larger than the largest array the limits allow (at 8 bytes a value) is never read. (zipfile
    stops decompressing at the declared size, so the declared size bounds the work.)"""
    if limits.max_values is None:
        return
    allowed = limits.max_values * 8 + _NPY_HEADER_SLACK
    if info.file_size > allowed:
        raise LimitExceeded(
            f"Array {key!r} in the .npz file decompresses to {info.file_size} bytes ({info.compress_size} "
            f"compressed); at most {allowed} bytes ({limits.max_values} values of 8 bytes) are allowed.", "values"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_csv(content: bytes, limits: _Limits) -> ParsedUpload:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError("The CSV file is not UTF-8 text; export it as plain UTF-8 CSV.") from exc
    lines = text.splitlines()
    data_lines = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not data_lines:
        raise DataError("The CSV file has no data rows.")
    first = data_lines[0]
    fields = [f.strip() for f in lines[first].split(",")]
    header: list[str] | None = None
    if not any(_is_number(f) for f in fields):
        header = fields
        start = first + 1
        if len(data_lines) == 1:
            raise DataError("The CSV file has a header row but no data rows.")
    else:
        start = first
    if limits.max_features is not None and len(fields) > limits.max_features:
        raise LimitExceeded(f"The CSV file has {len(fields)} columns; at most {limits.max_features} are allowed.", "features")
    # Count rows before parsing: loadtxt given max_rows allocates max_rows x columns up front.
    n_rows = sum(1 for i in data_lines if i >= start)
    if limits.max_rows is not None and n_rows > limits.max_rows:
        raise LimitExceeded(f"The CSV file has more than {limits.max_rows} samples (rows): {n_rows}. "
                            "Upload a subset.", "rows")
    _check_shape((n_rows, len(fields)), "The CSV file", limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(lines[start:], delimiter=",", dtype=np.float64, ndmin=2, comments="#")
    except ValueError as exc:
        hint = ""
        sample = lines[start] if start < len(lines) else ""
        if "," not in sample and (";" in sample or "\t" in sample):
            hint = " The file must be comma separated (found ';' or tab)."
        raise DataError(
            f"The CSV file must contain only numbers, one sample per row, the same number of "
            f"columns in every row ({exc}).{hint}"
        ) from exc
    if limits.max_rows is not None and arr.shape[0] > limits.max_rows:
        raise LimitExceeded(f"The CSV file has more than {limits.max_rows} samples (rows); upload a subset.", "rows")
    if header is not None and len(header) != arr.shape[1]:
        raise DataError(f"The CSV header has {len(header)} columns but the data rows have {arr.shape[1]}.")
    _check_shape(arr.shape, "The CSV file", limits)
    mat, _ = _to_matrix(arr, "The CSV file")
    return _finish(mat, None, None, "csv", feature_names=header)
