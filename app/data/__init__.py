"""Data layer: parse uploads and generate built-in data sets as float32 (n_samples, n_features) arrays.

Plain numpy/pydantic; no web or database imports. Errors are ``DataError``
(user-fixable, HTTP 422) and ``DataUnavailable`` (optional package missing).
"""

from app.data.builtin import BUILTIN_PARAMS, BuiltinData, list_builtins, load_builtin, validate_builtin_params
from app.data.errors import DataError, DataUnavailable
from app.data.parsing import ParsedUpload, infer_value_type, parse_upload

__all__ = [
    "BUILTIN_PARAMS",
    "BuiltinData",
    "DataError",
    "DataUnavailable",
    "ParsedUpload",
    "infer_value_type",
    "list_builtins",
    "load_builtin",
    "parse_upload",
    "validate_builtin_params",
]
