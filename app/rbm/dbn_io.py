"""DBNs to and from one safetensors file, and loading whichever kind a weights file holds.

Tensor names are the layers' own (:meth:`RBM.tensors`) under ``layers.{i}.``: ``layers.0.weight``,
``layers.0.visible_bias``, ``layers.0.hidden_bias`` (+ ``layers.0.visible_log_sigma`` for a
gaussian first layer), ``layers.1.weight``, ... String metadata: ``kind = "dbn"``,
``visible_type`` (of the first layer), ``n_layers`` and ``layers`` (JSON list of sizes, visible first).
"""

from __future__ import annotations

import json
import re
import struct

from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from app.rbm.dbn import DBN
from app.rbm.errors import InvalidWeights
from app.rbm.io import from_safetensors_bytes, read_metadata
from app.rbm.model import RBM, model_from_tensors

_NAME = re.compile(r"^layers\.(\d+)\.([a-z_]+)$")
#: Most layers a DBN file may hold (a sanity bound on untrusted files).
MAX_LAYERS = 64


def dbn_to_safetensors_bytes(dbn: DBN, metadata: dict[str, str] | None = None) -> bytes:
    """Serialise ``dbn`` (tensors moved to CPU); ``metadata`` values must be strings."""
    meta = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"metadata keys and values must be strings, got {key!r}: {value!r}")
        meta[key] = value
    meta.update(kind="dbn", visible_type=dbn.visible_type, n_layers=str(dbn.n_layers), layers=json.dumps(dbn.sizes))
    tensors = {f"layers.{i}.{name}": t.detach().to("cpu").contiguous()
               for i, lay in enumerate(dbn.layers) for name, t in lay.tensors().items()}
    return _st_save(tensors, metadata=meta)


def is_dbn_file(data: bytes) -> bool:
    """True when the header says ``kind = "dbn"`` (reads only the header)."""
    return read_metadata(data).get("kind") == "dbn"


def dbn_from_safetensors_bytes(data: bytes) -> tuple[DBN, dict[str, str]]:
    """Load a DBN; every malformed input raises :class:`InvalidWeights` naming what is wrong."""
    meta = read_metadata(data)
    try:
        tensors = _st_load(bytes(data))
    except Exception as exc:  # safetensors raises its own SafetensorError and others
        raise InvalidWeights(f"not a valid safetensors file: {exc}") from None
    groups: dict[int, dict] = {}
    for name, t in tensors.items():
        m = _NAME.match(name)
        if m is None:
            raise InvalidWeights(f"unexpected tensor {name!r} in a DBN file: names are layers.<i>.<tensor>")
        groups.setdefault(int(m.group(1)), {})[m.group(2)] = t
    if not groups:
        raise InvalidWeights("a DBN file needs at least one layer (tensors layers.0.weight, ...)")
    n = len(groups)
    if n > MAX_LAYERS:
        raise InvalidWeights(f"a DBN file may hold at most {MAX_LAYERS} layers, this one has {n}")
    if sorted(groups) != list(range(n)):
        raise InvalidWeights(f"DBN layers must be numbered 0..{n - 1}, got {sorted(groups)}")
    first_type = meta.get("visible_type") or ("gaussian" if "visible_log_sigma" in groups[0] else "bernoulli")
    layers: list[RBM] = []
    for i in range(n):
        try:
            layers.append(model_from_tensors(groups[i], first_type if i == 0 else "bernoulli"))
        except InvalidWeights as exc:
            raise InvalidWeights(f"layer {i}: {exc}") from None
    dbn = DBN(layers)
    meta.update(kind="dbn", visible_type=dbn.visible_type, n_layers=str(n), layers=json.dumps(dbn.sizes))
    return dbn, meta


def load_any(data: bytes) -> tuple[RBM | DBN, dict[str, str]]:
    """An RBM or a DBN, as the file's header says (``kind = "dbn"``, or ``layers.*`` tensor names)."""
    kind = read_metadata(data).get("kind")
    if kind == "dbn" or (kind is None and _header_names_layers(data)):
        return dbn_from_safetensors_bytes(data)
    return from_safetensors_bytes(data)


def _header_names_layers(data: bytes) -> bool:
    """Whether the (already checked) header names a ``layers.*`` tensor."""
    (header_len,) = struct.unpack("<Q", bytes(data[:8]))
    header = json.loads(bytes(data[8 : 8 + header_len]).decode("utf-8"))
    return any(isinstance(k, str) and k.startswith("layers.") for k in header)
