"""The job kinds: one table that says, for each kind, what its spec is, how a submission is
checked, and which worker function runs it.

Adding a kind (e.g. ``vmc``):

1. a module ``app/jobs/kinds/vmc.py`` with the spec model (subclass :class:`JobCommon`, a field
   ``kind: Literal["vmc"]``, ``extra="forbid"``, an OpenAPI example) and
   ``check(ctx, session, spec) -> Submission``: every 4xx that can be known before a worker
   starts (missing dataset, limits; raise ``app.core.errors`` exceptions), returning the number
   of progress steps and the dataset it reads;
2. a runner ``run(job: JobRun, spec) -> None`` in ``app/worker/kinds/vmc.py`` (see
   ``app/worker/job_run.py``: ``job.progress(step, metrics)`` per step, ``job.checkpoint`` to
   save and resume, ``job.succeed(model=..., result=...)`` at the end);
3. one line in :data:`KINDS` below (``JobKind`` already lists ``vmc`` and ``dbn``).

The API validates ``POST /v1/jobs`` bodies against :data:`JobCreate` (a union discriminated by
``kind``, default ``train``); the queue stores ``spec.model_dump(mode="json")``; the worker
validates the stored spec again with :func:`parse_spec`, so a row that no longer fits its model
fails loudly with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union
from collections.abc import Callable

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.db.states import JobKind
from app.jobs.kinds import dbn, estimate, train, vmc
from app.jobs.kinds.common import JobCommon, Submission

__all__ = ["KINDS", "JobCreate", "JobCommon", "Kind", "Submission", "parse_spec", "SpecInvalid"]


@dataclass(frozen=True)
class Kind:
    spec: type[JobCommon]
    check: Callable[[ServiceContext, Session, Any], Submission]
    #: ``module:function`` of the worker's runner, imported by the worker only (the API never
    #: imports worker code: imports run downward).
    runner: str


KINDS: dict[JobKind, Kind] = {
    JobKind.train: Kind(train.TrainJob, train.check, "app.worker.kinds.train:run"),
    JobKind.estimate: Kind(estimate.EstimateJob, estimate.check, "app.worker.kinds.estimate:run"),
    JobKind.dbn: Kind(dbn.DBNJob, dbn.check, "app.worker.kinds.dbn:run"),
    JobKind.vmc: Kind(vmc.VMCJob, vmc.check, "app.worker.kinds.vmc:run"),
}


def _kind_of(value: Any) -> str:
    """The discriminator: a missing ``kind`` means ``train`` (clients from before kinds existed)."""
    if isinstance(value, dict):
        return str(value.get("kind", JobKind.train.value))
    return str(getattr(value, "kind", JobKind.train.value))


#: Built from KINDS, so a new kind needs no edit here (a static checker cannot follow that).
JobCreate = Annotated[  # type: ignore[valid-type]
    Union[tuple(Annotated[k.spec, Tag(kind.value)] for kind, k in KINDS.items())],  # type: ignore[misc]  # noqa: UP007
    Discriminator(_kind_of),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(JobCreate)  # type: ignore[arg-type]


class SpecInvalid(ValueError):
    """A stored spec that its kind's model no longer accepts (an old row after an upgrade)."""


def parse_spec(kind: str, data: dict[str, Any]) -> BaseModel:
    if kind not in {k.value for k in KINDS}:
        raise SpecInvalid(f"job kind {kind!r} is not known to this worker (known: {', '.join(KINDS)})")
    try:
        return _ADAPTER.validate_python({**data, "kind": kind})
    except ValidationError as exc:
        raise SpecInvalid(f"the stored {kind} spec no longer validates: {exc}") from exc
