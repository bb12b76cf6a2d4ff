"""Datasets: upload arrays or generate a built-in, list, inspect, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app.auth.idempotency import Idempotent
from app.core.deps import ContextDep, SessionDep
from app.core.forms import parse_image_shape
from app.core.pagination import Cursor, Limit, Page
from app.core.tags import NameQuery, TagQuery, parse_tags_form
from app.core.text import check_filename, reject_nul
from app.data.builtin import list_builtins
from app.datasets import service
from app.datasets.schemas import BuiltinCreate, DatasetOut
from app.db.tables import Dataset

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetOut,
             summary="Upload a dataset (.npy, .npz or .csv)", dependencies=[Idempotent])
async def upload_dataset(ctx: ContextDep, session: SessionDep,
                         file: Annotated[UploadFile, File(description="A 2-D array: .npy, .npz or .csv")],
                         name: Annotated[str | None, Form(max_length=200, examples=["my-data"])] = None,
                         label_column: Annotated[str | None, Form(
                             max_length=200, description="CSV only: the column (header name, or 0-based index "
                             "without a header) holding integer class labels; .npz files carry labels as "
                             "arrays 'y' (and 'y_test')")] = None,
                         tags: Annotated[str | None, Form(description='JSON object ({"team": "vision"}) or '
                                                          "key:value pairs separated by commas",
                                                          examples=["team:vision"])] = None,
                         image_shape: Annotated[str | None, Form(description="Height,width of each row as an image "
                                                                 "(pictures need it), e.g. 8,8; a 3-D array "
                                                                 "sets it itself", examples=["8,8"])] = None,
                         ) -> Dataset:
    for field, value in (("name", name), ("label_column", label_column), ("tags", tags), ("image_shape", image_shape)):
        reject_nul(value, field)
    filename = check_filename(file.filename)
    shape, labels = parse_image_shape(image_shape), parse_tags_form(tags)  # refuse bad fields before reading
    # The upload is already spooled to a temp file; parse it from there in a worker thread, so the
    # event loop (and /healthz) never waits for a big parse.
    return await run_in_threadpool(service.create_from_upload, session, ctx.store, ctx.settings, name=name,
                                   filename=filename, content=file.file, label_column=label_column,
                                   tags=labels, image_shape=shape)


@router.post("/builtin", status_code=status.HTTP_201_CREATED, response_model=DatasetOut,
             summary="Create a dataset from a built-in generator", dependencies=[Idempotent])
def create_builtin_dataset(body: BuiltinCreate, session: SessionDep) -> Dataset:
    return service.create_builtin(session, builtin=body.builtin, params=body.params, name=body.name, tags=body.tags)


@router.get("/builtins", summary="The built-in data sets and their parameters")
def builtin_catalogue() -> list[dict[str, Any]]:
    return list_builtins()


@router.get("", response_model=Page[DatasetOut], summary="List datasets, newest first")
def list_datasets(ctx: ContextDep, session: SessionDep, limit: Limit = 50, cursor: Cursor = None,
                  name: NameQuery = None, tag: TagQuery = None,
                  builtin: Annotated[str | None, Query(description="Only this built-in (digits, ...).")] = None,
                  ) -> Page[DatasetOut]:
    return service.list_datasets(session, limit, cursor, name=name, tags=tag, builtin=builtin)


@router.get("/{dataset_id}", response_model=DatasetOut, summary="One dataset")
def get_dataset(dataset_id: str, session: SessionDep) -> Dataset:
    return service.get_dataset(session, dataset_id)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a dataset not in use")
def delete_dataset(dataset_id: str, ctx: ContextDep, session: SessionDep) -> None:
    service.delete_dataset(session, ctx.store, dataset_id)
