"""Features of a dataset under a stored model (RBM or DBN), with the dataset's labels."""

from __future__ import annotations

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.datasets.arrays import dataset_labels
from app.datasets.service import get_dataset, rows_for_model
from app.features.schemas import FeaturesRequest
from app.models.service import load_any_model
from app.rbm.dbn import DBN
from app.rbm.model import RBM


def featurizer(model: RBM | DBN, layer: int | None):
    """``rows (n, V) float32 -> features (n, width) float32`` at ``layer`` (default the top hidden
    layer; 0 = the inputs themselves), checked against the model's depth."""
    depth = model.n_layers if isinstance(model, DBN) else 1
    k = depth if layer is None else layer
    if not 0 <= k <= depth:
        raise InvalidRequest(f"layer must be between 0 (the inputs) and {depth} (the top hidden layer) for this "
                             f"{'DBN' if isinstance(model, DBN) else 'RBM'}, got {layer}")

    def apply(rows: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
        with torch.no_grad():
            if isinstance(model, DBN):
                out = model.up(x, k)
            else:
                x = x.to(device=model.device, dtype=model.dtype)
                out = x if k == 0 else model.hidden_probs(x)
        return out.to(torch.float32).cpu().numpy()

    return apply, k


def layer_width(model: RBM | DBN, layer: int) -> int:
    if isinstance(model, DBN):
        return model.sizes[layer]
    return model.n_visible if layer == 0 else model.n_hidden


def dataset_features(ctx: ServiceContext, session: Session, model_id: str,
                     req: FeaturesRequest) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(features, labels or None, layer) of one split; 413 above RBM_MAX_FEATURE_VALUES values."""
    _, model = load_any_model(ctx, session, model_id)
    apply, layer = featurizer(model, req.layer)
    rows = rows_for_model(session, ctx.store, req.dataset_id, req.split, model.n_visible, req.limit)
    values = rows.shape[0] * layer_width(model, layer)
    if values > ctx.settings.max_feature_values:
        raise PayloadTooLarge(f"{rows.shape[0]} rows x {layer_width(model, layer)} features = {values:,} values "
                              f"exceed {ctx.settings.max_feature_values:,} (RBM_MAX_FEATURE_VALUES): pass a "
                              "smaller `limit`")
    dataset = get_dataset(session, req.dataset_id)
    train_labels, test_labels = dataset_labels(dataset, ctx.store)
    labels = train_labels if req.split == "train" else test_labels
    if labels is not None:
        labels = np.asarray(labels[: rows.shape[0]], dtype=np.int64)
    return apply(rows), labels, layer
