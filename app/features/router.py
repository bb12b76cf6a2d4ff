"""POST /v1/models/{id}/features: a dataset's features under a model, for downstream classifiers."""

from __future__ import annotations

import io

import numpy as np
import orjson
from fastapi import APIRouter, Response

from app.core.compute import ComputeSlot
from app.core.deps import ContextDep, SessionDep
from app.features.schemas import FeaturesOut, FeaturesRequest
from app.features.service import dataset_features

router = APIRouter(prefix="/v1/models/{model_id}", tags=["inference"],
                   dependencies=[ComputeSlot])  # RBM_COMPUTE_CONCURRENCY at a time


@router.post("/features", summary="Features of a dataset split (mean-field up-pass), with its labels",
             responses={200: {"content": {"application/octet-stream": {}, "application/json": {
                 "schema": FeaturesOut.model_json_schema()}}}})
def features(model_id: str, body: FeaturesRequest, ctx: ContextDep, session: SessionDep) -> Response:
    x, labels, layer = dataset_features(ctx, session, model_id, body)
    if body.format == "json":
        out = {"features": x, "labels": labels, "layer": layer}
        return Response(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
    buf = io.BytesIO()
    arrays = {"features": x, **({"labels": labels} if labels is not None else {})}
    np.savez(buf, **arrays)
    return Response(buf.getvalue(), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{model_id}-features.npz"',
                             "X-Layer": str(layer)})
