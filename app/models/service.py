"""Stored models: look up, list, delete, export and import weights."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, NotFound, PayloadTooLarge
from app.core.context import ServiceContext
from app.db.tables import Model
from app.rbm.dbn import DBN
from app.rbm.dbn_io import dbn_to_safetensors_bytes, load_any
from app.rbm.io import to_safetensors_bytes
from app.rbm.model import RBM


def get_model_row(session: Session, model_id: str) -> Model:
    row = session.get(Model, model_id)
    if row is None:
        raise NotFound("model", model_id)
    return row


def load_model(ctx: ServiceContext, session: Session, model_id: str) -> tuple[Model, RBM]:
    """The row and the loaded RBM (from the process's LRU cache); a DBN is a 422 that says which
    endpoints take one (every caller of this function is an RBM-only endpoint)."""
    row = get_model_row(session, model_id)
    _refuse_wavefunction(row)
    if (row.kind or "rbm") == "dbn":
        raise InvalidRequest(f"model {model_id!r} is a deep belief network; this endpoint applies to RBMs only. "
                             f"DBNs answer {DBN_ENDPOINTS}")
    return row, ctx.models.get(row.weights_key)


def _refuse_wavefunction(row: Model) -> None:
    """A vmc job's wave function is no energy-based model: RBM and DBN endpoints answer 422."""
    if row.kind == "wavefunction":
        raise InvalidRequest(f"model {row.id!r} is a wave function (kind 'wavefunction', from a vmc job); this "
                             "endpoint applies to RBMs and DBNs only. Wave functions answer /energy, /log-psi "
                             "and /samples (configurations from |psi|^2)")


#: The endpoints that take a DBN, for the 422 of the others.
DBN_ENDPOINTS = ("/samples, /hidden, /reconstruct, /log-likelihood, /features, /weights, samples.png, "
                 "filters.png and reconstructions.png")


def load_any_model(ctx: ServiceContext, session: Session, model_id: str) -> tuple[Model, RBM | DBN]:
    """The row and the loaded RBM or DBN, for endpoints that take both."""
    row = get_model_row(session, model_id)
    _refuse_wavefunction(row)
    return row, ctx.models.get(row.weights_key)


def delete_model(ctx: ServiceContext, session: Session, model_id: str) -> None:
    row = get_model_row(session, model_id)
    session.delete(row)
    session.commit()
    ctx.models.forget(row.weights_key)
    ctx.store.delete(row.weights_key)


def import_model(ctx: ServiceContext, session: Session, content: bytes, name: str | None,
                 image_shape: list[int] | None = None, tags: dict[str, str] | None = None) -> Model:
    """Register weights trained elsewhere; malformed files are refused by the engine's loader."""
    limit = ctx.settings.max_upload_bytes
    if len(content) > limit:
        raise PayloadTooLarge(f"weights file is {len(content)} bytes; the limit is {limit} (RBM_MAX_UPLOAD_BYTES)")
    model, _metadata = load_any(content)
    if image_shape is not None and math.prod(image_shape) != model.n_visible:
        raise InvalidRequest(f"image_shape {image_shape} has {math.prod(image_shape)} pixels but the model "
                             f"has {model.n_visible} visible units")
    if isinstance(model, DBN):
        payload, kind, info = dbn_to_safetensors_bytes(model), "dbn", {"layers": model.sizes}
    else:
        payload, kind, info = to_safetensors_bytes(model), "rbm", None
    key = ctx.store.put_bytes(ctx.store.new_key("models", ".safetensors"), payload)
    row = Model(source="upload", name=name, visible_type=model.visible_type, n_visible=model.n_visible,
                n_hidden=model.n_hidden, image_shape=image_shape, weights_key=key, kind=kind, info=info, tags=tags)
    session.add(row)
    session.commit()
    return row


def update_model(session: Session, model_id: str, fields: dict[str, Any]) -> Model:
    """Set name and/or tags (only the keys present in ``fields``)."""
    row = get_model_row(session, model_id)
    for key in ("name", "tags"):
        if key in fields:
            setattr(row, key, fields[key])
    session.commit()
    return row
