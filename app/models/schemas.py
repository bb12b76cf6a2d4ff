from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import UTCTimestamp
from app.core.tags import Tags


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None
    source: Literal["trained", "upload"]
    kind: str = Field("rbm", description="rbm, dbn (a stack of RBMs; `info.layers` are its sizes) or wavefunction.")
    visible_type: Literal["bernoulli", "gaussian"]
    n_visible: int
    n_hidden: int = Field(description="Hidden units (of the top layer, for a DBN).")
    info: dict[str, Any] | None = Field(None, description="Kind-specific facts, e.g. {\"layers\": [784, 500, 500]}.")
    image_shape: list[int] | None
    dataset_id: str | None
    job_id: str | None
    training: dict[str, Any] | None = Field(description="The training options the job ran with.")
    metrics: dict[str, Any] | None = Field(description="Metrics of the final epoch.")
    tags: dict[str, str] | None = Field(None, description="A trained model starts with its job's tags.")
    created_at: UTCTimestamp


class ModelPatch(BaseModel):
    """Rename or retag a model; fields left out stay as they are, tags replace the old ones."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "digits-64", "tags": {"project": "readme", "stage": "best"}}]})

    name: str | None = Field(None, max_length=200)
    tags: Tags = None
