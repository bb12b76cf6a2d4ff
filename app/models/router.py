"""Models: list, inspect, delete, download and upload weights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from app.auth.idempotency import Idempotent
from app.core.deps import ContextDep, SessionDep
from app.core.forms import parse_image_shape
from app.core.pagination import Cursor, Limit, Page
from app.core.tags import NameQuery, TagQuery, parse_tags_form
from app.db.tables import Model
from app.models import service
from app.models.schemas import ModelOut, ModelPatch

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=Page[ModelOut], summary="List models, newest first")
def list_models(session: SessionDep, limit: Limit = 50, cursor: Cursor = None, name: NameQuery = None,
                tag: TagQuery = None,
                dataset_id: Annotated[str | None, Query(description="Only models trained on this dataset.")] = None,
                job_id: Annotated[str | None, Query(description="The model this job made.")] = None,
                kind: Annotated[str | None, Query(description="rbm, dbn or wavefunction.")] = None,
                source: Annotated[str | None, Query(description="trained or upload.")] = None) -> Page[ModelOut]:
    return service.list_models(session, limit, cursor, name=name, tags=tag, dataset_id=dataset_id, job_id=job_id,
                               kind=kind, source=source)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelOut,
             summary="Register a model from a safetensors weights file", dependencies=[Idempotent])
async def upload_model(ctx: ContextDep, session: SessionDep,
                       file: Annotated[UploadFile, File(description="safetensors: weight [V,H], visible_bias [V], "
                                                        "hidden_bias [H] (+ visible_log_sigma [V] for gaussian); "
                                                        "metadata visible_type")],
                       name: Annotated[str | None, Form(max_length=200, examples=["imported"])] = None,
                       image_shape: Annotated[str | None, Form(description="e.g. 28,28", examples=["8,8"])] = None,
                       tags: Annotated[str | None, Form(description='JSON object ({"team": "vision"}) or '
                                                        "key:value pairs separated by commas",
                                                        examples=["source:readme"])] = None) -> Model:
    shape, labels = parse_image_shape(image_shape), parse_tags_form(tags)
    content = await file.read(ctx.settings.max_upload_bytes + 1)
    return service.import_model(ctx, session, content, name, shape, tags=labels)


@router.patch("/{model_id}", response_model=ModelOut, summary="Rename or retag a model")
def update_model(model_id: str, body: ModelPatch, session: SessionDep) -> Model:
    return service.update_model(session, model_id, body.model_dump(exclude_unset=True))


@router.get("/{model_id}", response_model=ModelOut, summary="One model")
def get_model(model_id: str, session: SessionDep) -> Model:
    return service.get_model_row(session, model_id)


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a model and its weights")
def delete_model(model_id: str, ctx: ContextDep, session: SessionDep) -> None:
    service.delete_model(ctx, session, model_id)


@router.get("/{model_id}/weights", summary="Download the weights (safetensors)",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def download_weights(model_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    row = service.get_model_row(session, model_id)
    return Response(ctx.store.get_bytes(row.weights_key), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{row.id}.safetensors"'})

