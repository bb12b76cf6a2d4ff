"""Stored models: look up, list, delete, export and import weights."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, NotFound, PayloadTooLarge
from app.core.pagination import Page, paginate
from app.core.tags import where_equal, where_tags
from app.db.tables import Model
from app.models.schemas import ModelOut
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


# Parameters beyond these make float32 energies overflow or divide by zero (log sigma -200: sigma
# is 0; weights 3e38: v.W is infinite), and answers would carry nulls: refused at upload instead.
MAX_ABS_PARAMETER = 1e6
MAX_ABS_LOG_SIGMA = 20.0


def check_uploaded_model(model: Any, settings: Any) -> None:
    """The size limits a trained model obeys (RBM_MAX_FEATURES, RBM_MAX_HIDDEN and their product
    RBM_MAX_MODEL_PARAMETERS), and parameters small enough to compute with in float32."""
    layers = list(getattr(model, "layers", None) or [model])  # a DBN: each of its RBMs
    for i, rbm in enumerate(layers):
        where = f"layer {i + 1}: " if len(layers) > 1 else ""
        if rbm.n_visible > settings.max_features:
            raise InvalidRequest(f"{where}the model has {rbm.n_visible} visible units; the limit is "
                                 f"{settings.max_features} (RBM_MAX_FEATURES)")
        if rbm.n_hidden > settings.max_hidden:
            raise InvalidRequest(f"{where}the model has {rbm.n_hidden} hidden units; the limit is "
                                 f"{settings.max_hidden} (RBM_MAX_HIDDEN)")
        if rbm.n_visible * rbm.n_hidden > settings.max_model_parameters:
            raise InvalidRequest(f"{where}the model has {rbm.n_visible} x {rbm.n_hidden} = "
                                 f"{rbm.n_visible * rbm.n_hidden:,} weights; the limit is "
                                 f"{settings.max_model_parameters:,} (RBM_MAX_MODEL_PARAMETERS)")
        for name, tensor in rbm.tensors().items():
            if tensor.numel() == 0:
                continue
            top = float(tensor.detach().abs().max())
            bound = MAX_ABS_LOG_SIGMA if name == "visible_log_sigma" else MAX_ABS_PARAMETER
            if top > bound:
                raise InvalidRequest(f"{where}tensor {name!r} has a value of magnitude {top:.3g}; at most {bound:g} "
                                     "is accepted (larger values overflow float32: free energies, log Z and "
                                     "samples would be infinite or undefined). Rescale the model")


def import_model(ctx: ServiceContext, session: Session, content: bytes, name: str | None,
                 image_shape: list[int] | None = None, tags: dict[str, str] | None = None) -> Model:
    """Register weights trained elsewhere; malformed files are refused by the engine's loader."""
    limit = ctx.settings.max_upload_bytes
    if len(content) > limit:
        raise PayloadTooLarge(f"weights file is {len(content)} bytes; the limit is {limit} (RBM_MAX_UPLOAD_BYTES)")
    model, _metadata = load_any(content)
    check_uploaded_model(model, ctx.settings)
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


def list_models(session: Session, limit: int, cursor: str | None, *, name: str | None = None,
                tags: list[str] | None = None, dataset_id: str | None = None, job_id: str | None = None,
                kind: str | None = None, source: str | None = None) -> Page[ModelOut]:
    """Newest first, each filter applied only when given."""
    stmt = where_equal(select(Model), name=(Model.name, name), dataset_id=(Model.dataset_id, dataset_id),
                       job_id=(Model.job_id, job_id), kind=(Model.kind, kind), source=(Model.source, source))
    rows, next_cursor = paginate(session, where_tags(stmt, Model, tags), Model, limit, cursor)
    return Page[ModelOut](items=[ModelOut.model_validate(r) for r in rows], next_cursor=next_cursor)
