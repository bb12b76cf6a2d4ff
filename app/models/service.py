"""Stored models: look up, list, delete, export and import weights."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, NotFound, PayloadTooLarge
from app.core.context import ServiceContext
from app.db.tables import Model
from app.rbm.io import from_safetensors_bytes, to_safetensors_bytes
from app.rbm.model import RBM


def get_model_row(session: Session, model_id: str) -> Model:
    row = session.get(Model, model_id)
    if row is None:
        raise NotFound("model", model_id)
    return row


def load_model(ctx: ServiceContext, session: Session, model_id: str) -> tuple[Model, RBM]:
    """The row and the loaded model (from the process's LRU cache)."""
    row = get_model_row(session, model_id)
    return row, ctx.models.get(row.weights_key)


def delete_model(ctx: ServiceContext, session: Session, model_id: str) -> None:
    row = get_model_row(session, model_id)
    session.delete(row)
    session.commit()
    ctx.models.forget(row.weights_key)
    ctx.store.delete(row.weights_key)


def import_model(ctx: ServiceContext, session: Session, content: bytes, name: str | None,
                 image_shape: list[int] | None = None) -> Model:
    """Register weights trained elsewhere; malformed files are refused by the engine's loader."""
    limit = ctx.settings.max_upload_bytes
    if len(content) > limit:
        raise PayloadTooLarge(f"weights file is {len(content)} bytes; the limit is {limit} (RBM_MAX_UPLOAD_BYTES)")
    model, _metadata = from_safetensors_bytes(content)
    if image_shape is not None and math.prod(image_shape) != model.n_visible:
        raise InvalidRequest(f"image_shape {image_shape} has {math.prod(image_shape)} pixels but the model "
                             f"has {model.n_visible} visible units")
    key = ctx.store.put_bytes(ctx.store.new_key("models", ".safetensors"), to_safetensors_bytes(model))
    row = Model(source="upload", name=name, visible_type=model.visible_type, n_visible=model.n_visible,
                n_hidden=model.n_hidden, image_shape=image_shape, weights_key=key)
    session.add(row)
    session.commit()
    return row
