"""Exceptions raised by the RBM math library.

They all derive from :class:`RBMError` so callers (e.g. the web layer) can map
the whole family to client errors with a single ``except`` clause. Messages are
meant to be shown to a user: they say what is wrong and how to fix it.
"""

from __future__ import annotations


class RBMError(Exception):
    """Base class of every error raised on purpose by ``app.rbm``."""


class InvalidInput(RBMError):
    """Input vectors do not fit the model (wrong width, non-finite, non-binary)."""


class InvalidWeights(RBMError):
    """A set of parameter tensors (or a weights file) cannot form a valid model."""


class TrainingDiverged(RBMError):
    """A parameter became NaN or infinite during training."""


class TooLarge(RBMError):
    """A requested exact computation exceeds its size limit (e.g. 2^n enumeration)."""
