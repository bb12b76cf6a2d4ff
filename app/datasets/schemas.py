from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from app.core.schemas import UTCTimestamp
from app.core.tags import Tags


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    source: Literal["upload", "builtin"]
    builtin: str | None = None
    params: dict[str, Any] | None = Field(None, description="Built-in parameters after defaults.")
    n_samples: int = Field(description="Rows in the training split.")
    n_features: int
    n_test: int | None = Field(None, description="Rows in the test split, if any.")
    value_type: Literal["binary", "continuous"]
    image_shape: list[int] | None = None
    info: dict[str, Any] | None = Field(None, description="Facts about the data (labels, exact references).")
    n_classes: int | None = Field(None, description="Number of classes of the labels; null: no labels.")
    tags: dict[str, str] | None = None
    created_at: UTCTimestamp

    @computed_field(description="Whether the rows carry class labels (for features and linear probes; "
                    "never used by unsupervised training).")
    @property
    def has_labels(self) -> bool:
        return self.n_classes is not None


class BuiltinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"builtin": "digits", "params": {"binarize": "threshold"}, "name": "digits",
                      "tags": {"project": "readme"}}]})

    builtin: str = Field(description="Name of a built-in data set: see GET /v1/datasets/builtins.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of that data set.")
    name: str | None = Field(None, max_length=200)
    tags: Tags = None
