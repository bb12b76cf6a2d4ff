from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeaturesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dataset_id": "<the id POST /v1/datasets/builtin returned>", "split": "train", "layer": 1, "format": "npz"}]})

    dataset_id: str = Field(max_length=64)
    split: Literal["train", "test"] = "train"
    layer: int | None = Field(None, ge=0, description="0: the inputs; k: mean-field p(h_k = 1 | ...) of hidden "
                              "layer k (an RBM has one); default: the top hidden layer.")
    format: Literal["npz", "json"] = Field("npz", description="npz: arrays `features` (float32) and `labels` "
                                           "(int64, where the dataset has labels); json: the same as lists.")
    limit: int | None = Field(None, ge=1, description="The first `limit` rows of the split.")


class FeaturesOut(BaseModel):
    features: list[list[float]]
    labels: list[int] | None
    layer: int
