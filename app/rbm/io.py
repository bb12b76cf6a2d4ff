"""Serialise models to and from safetensors bytes.

Tensor names are those of :meth:`RBM.tensors`: ``weight``, ``visible_bias``,
``hidden_bias`` and, for Gaussian models, ``visible_log_sigma`` (plus ``visible_offset`` and
``visible_scale`` for a standardised one: the data's mean and scale, see
:class:`~app.rbm.model.GaussianRBM`; files without them load as unstandardised models). The string
metadata always carries ``visible_type`` (plus ``n_visible`` / ``n_hidden`` for
humans). Files written without ``visible_type`` are still read: the type is
inferred from the presence of ``visible_log_sigma``.
"""

from __future__ import annotations

import json
import struct

import torch
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from app.rbm.errors import InvalidWeights
from app.rbm.model import RBM, model_from_tensors

#: Refuse headers larger than this (a valid RBM header is a few hundred bytes).
_MAX_HEADER_BYTES = 1 << 20
#: Optional tensor ``(n_chains, V)``: states of the model's own Markov chains at the end of its
#: training (or equilibrium samples drawn after it), so sampling can start in equilibrium.
CHAINS_TENSOR = "persistent_chains"
#: Optional ``(V,)`` tensors: the base rate of the training data (log-odds, or gaussian mean and
#: std) that parallel tempering anneals to; the chains alone estimate it poorly.
BASE_MEAN_TENSOR, BASE_SIGMA_TENSOR = "tempering_base_mean", "tempering_base_sigma"
_OPTIONAL = (CHAINS_TENSOR, BASE_MEAN_TENSOR, BASE_SIGMA_TENSOR)


def to_safetensors_bytes(model: RBM, metadata: dict[str, str] | None = None, *,
                         chains: torch.Tensor | None = None, base_mean: torch.Tensor | None = None,
                         base_sigma: torch.Tensor | None = None) -> bytes:
    """Serialise ``model`` (tensors moved to CPU) with string ``metadata``.

    ``metadata["visible_type"]`` is always set from the model; passing a
    conflicting value raises ``ValueError``. ``chains : (n, V)`` are stored as
    :data:`CHAINS_TENSOR` (read back by :func:`read_chains`).
    """
    meta: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"metadata keys and values must be strings, got {key!r}: {value!r}")
        meta[key] = value
    if meta.get("visible_type", model.visible_type) != model.visible_type:
        raise ValueError(
            f"metadata visible_type={meta['visible_type']!r} contradicts the model's {model.visible_type!r}"
        )
    meta["visible_type"] = model.visible_type
    meta.setdefault("n_visible", str(model.n_visible))
    meta.setdefault("n_hidden", str(model.n_hidden))
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in model.tensors().items()}
    if chains is not None:
        if chains.dim() != 2 or chains.shape[1] != model.n_visible or chains.shape[0] < 1:
            raise ValueError(f"chains must have shape (n, {model.n_visible}), got {tuple(chains.shape)}")
        tensors[CHAINS_TENSOR] = chains.detach().to("cpu", model.dtype).contiguous()
    for name, t in ((BASE_MEAN_TENSOR, base_mean), (BASE_SIGMA_TENSOR, base_sigma)):
        if t is not None:
            if tuple(t.shape) != (model.n_visible,):
                raise ValueError(f"{name} must have shape ({model.n_visible},), got {tuple(t.shape)}")
            tensors[name] = t.detach().to("cpu", model.dtype).contiguous()
    return _st_save(tensors, metadata=meta)


def read_tempering_base(data: bytes) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """The stored base rate ``(mean, sigma or None)`` of a model file, or ``None`` (absent or malformed)."""
    try:
        tensors = _st_load(bytes(data))
    except Exception:  # noqa: BLE001 - optional, like read_chains
        return None
    mean, sigma, weight = tensors.get(BASE_MEAN_TENSOR), tensors.get(BASE_SIGMA_TENSOR), tensors.get("weight")
    if mean is None or weight is None or tuple(mean.shape) != (weight.shape[0],) or not bool(torch.isfinite(mean).all()):
        return None
    if sigma is not None and (tuple(sigma.shape) != (weight.shape[0],) or not bool((sigma > 0).all())):
        return None
    return mean.to(weight.dtype), None if sigma is None else sigma.to(weight.dtype)


def read_chains(data: bytes) -> torch.Tensor | None:
    """The stored :data:`CHAINS_TENSOR` ``(n, V)`` of a model file, or ``None`` if it has none
    (or it is malformed: chains are an optional start, never a reason to refuse a model)."""
    try:
        tensors = _st_load(bytes(data))
    except Exception:  # noqa: BLE001 - same policy as from_safetensors_bytes, but optional
        return None
    chains, weight = tensors.get(CHAINS_TENSOR), tensors.get("weight")
    if chains is None or weight is None or chains.dim() != 2 or chains.shape[0] < 1:
        return None
    if chains.shape[1] != weight.shape[0] or not bool(torch.isfinite(chains).all()):
        return None
    return chains.to(weight.dtype)


def read_metadata(data: bytes) -> dict[str, str]:
    """Parse only the safetensors header's ``__metadata__`` (raises InvalidWeights)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidWeights(f"expected the bytes of a safetensors file, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 8:
        raise InvalidWeights("not a safetensors file: shorter than its 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > _MAX_HEADER_BYTES or 8 + header_len > len(data):
        raise InvalidWeights("not a safetensors file: header length is out of range")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidWeights(f"not a safetensors file: header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise InvalidWeights("not a safetensors file: header is not a JSON object")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise InvalidWeights("safetensors metadata must map strings to strings")
    return dict(meta)


def from_safetensors_bytes(data: bytes) -> tuple[RBM, dict[str, str]]:
    """Load a model and its metadata; any malformed input raises :class:`InvalidWeights`.

    Checked: the container itself, tensor names (none missing, none extra),
    shapes that agree, dtype float32/float64, finite values, known visible_type.
    """
    meta = read_metadata(data)
    try:
        tensors = _st_load(bytes(data))
    except Exception as exc:  # safetensors raises its own SafetensorError and others
        raise InvalidWeights(f"not a valid safetensors file: {exc}") from None
    visible_type = meta.get("visible_type")
    if visible_type is None:
        visible_type = "gaussian" if "visible_log_sigma" in tensors else "bernoulli"
        meta["visible_type"] = visible_type
    for name in _OPTIONAL:
        tensors.pop(name, None)
    model = model_from_tensors(tensors, visible_type)
    return model, meta
