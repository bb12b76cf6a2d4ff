"""What every job spec has, whatever its kind: a name, tags and a queue priority."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

#: Tag keys and values: short strings, so `?tag=k:v` filters stay exact and cheap.
Tags = dict[str, str]


class JobCommon(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(None, max_length=200, description="Shown in lists; a trained model inherits it.")
    tags: Tags = Field(default_factory=dict, max_length=50,
                       description='Free-form labels, e.g. {"team": "vision"}; a trained model inherits them.')
    priority: int = Field(0, ge=-1000, le=1000, description="Workers claim higher priorities first, "
                          "then the oldest job.")


@dataclass(frozen=True)
class Submission:
    """What the queue needs to know about a valid spec: the dataset it reads (if any) and the
    number of progress steps (epochs, blocks of betas, iterations) it will report."""

    steps: int
    dataset_id: str | None = None
    unit: str = "epoch"
