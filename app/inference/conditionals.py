"""Conditionals of a stored model for the query routes: p(h | v) and mean-field reconstructions,
for an RBM or a DBN (at a layer), with the answer size checked before any work."""

from __future__ import annotations

from typing import Any

import torch

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest
from app.inference import dbn as dbn_queries
from app.inference.answers import check_answer_size
from app.inference.tensors import vectors_to_tensor
from app.rbm.dbn import DBN
from app.rbm.model import RBM


def _rbm_layer(layer: int | None) -> None:
    if layer not in (None, 1):
        raise InvalidRequest(f"an RBM has one hidden layer: layer must be 1 or omitted, got {layer}")


def hidden_probabilities(ctx: ServiceContext, model: RBM | DBN, data: Any, layer: int | None) -> torch.Tensor:
    """p(h = 1 | v) of each row (a DBN: the mean-field up-pass to ``layer``), size-checked first."""
    if isinstance(model, DBN):
        probs = dbn_queries.hidden(model, data, layer, ctx)
    else:
        _rbm_layer(layer)
        check_answer_size(len(data), model.n_hidden, ctx.settings, "hidden")
        with torch.no_grad():
            probs = model.hidden_probs(vectors_to_tensor(data, model, ctx.settings))
    check_answer_size(probs.shape[0], probs.shape[1], ctx.settings, "hidden")
    return probs


def reconstruction(ctx: ServiceContext, model: RBM | DBN, data: Any, layer: int | None) -> torch.Tensor:
    """v -> p(h | v) -> E[v | h] per row (a DBN: up to ``layer`` and back down), size-checked first."""
    if isinstance(model, DBN):
        mean = dbn_queries.reconstruct(model, data, layer, ctx)
    else:
        _rbm_layer(layer)
        check_answer_size(len(data), max(model.n_visible, model.n_hidden), ctx.settings, "reconstruction")
        with torch.no_grad():
            mean = model.visible_mean(model.hidden_probs(vectors_to_tensor(data, model, ctx.settings)))
    check_answer_size(mean.shape[0], mean.shape[1], ctx.settings, "reconstruction")
    return mean
