"""Jobs side by side: their options (the spec, flattened to dotted paths) and their final metrics,
so a reader sees at once what differed between runs and what it did to the numbers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, NotFound
from app.db.tables import Job
from app.jobs.events import metrics_by_job
from app.jobs.service import stored_spec

#: spec fields that say who a job is rather than how it ran
IDENTITY = {"name", "tags", "priority", "kind"}


class ComparedJob(BaseModel):
    id: str
    name: str | None
    kind: str
    status: str
    dataset_id: str | None
    model_id: str | None
    tags: dict[str, str]
    epochs_done: int


class Comparison(BaseModel):
    jobs: list[ComparedJob] = Field(description="In the order of `ids`.")
    options: dict[str, list[Any]] = Field(description="Every option path (e.g. training.learning_rate) with one "
                                          "value per job (null where a job's kind has no such option).")
    differing: list[str] = Field(description="The option paths whose values are not all equal.")
    metrics: dict[str, list[float | None]] = Field(description="Final metrics: the last epoch's per-epoch metrics, "
                                                   "then numbers of the job's result; one value per job.")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists stay values."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value} if prefix else {}


def final_metrics(history: list[dict[str, Any]], result: dict[str, Any] | None) -> dict[str, float]:
    """The last epoch's numeric metrics, then the result's numbers (which win on a clash: they are
    the finished job's own evaluation)."""
    out = {k: float(v) for k, v in (history[-1] if history else {}).items()
           if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("epoch", "epochs")}
    out.update({k: float(v) for k, v in flatten(result or {}).items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return out


def parse_ids(text: str, limit: int) -> list[str]:
    ids = list(dict.fromkeys(i.strip() for i in text.split(",") if i.strip()))
    if not ids:
        raise InvalidRequest("ids must list job ids separated by commas: ?ids=JOB1,JOB2")
    if len(ids) > limit:
        raise InvalidRequest(f"{len(ids)} jobs to compare; the limit is {limit} (RBM_COMPARE_MAX_JOBS)")
    return ids


def compare(session: Session, ids: list[str]) -> Comparison:
    rows = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(ids)))}
    for ident in ids:
        if ident not in rows:
            raise NotFound("job", ident)
    jobs = [rows[i] for i in ids]
    history = metrics_by_job(session, ids)
    specs = [{k: v for k, v in flatten(stored_spec(j)).items() if k.split(".")[0] not in IDENTITY} for j in jobs]
    options = {path: [s.get(path) for s in specs] for path in sorted({p for s in specs for p in s})}
    finals = [final_metrics(history[j.id], j.result) for j in jobs]
    metrics = {name: [f.get(name) for f in finals] for name in sorted({n for f in finals for n in f})}
    return Comparison(
        jobs=[ComparedJob(id=j.id, name=j.name, kind=j.kind, status=j.status, dataset_id=j.dataset_id,
                          model_id=j.model_id, tags=j.tags or {}, epochs_done=j.epoch) for j in jobs],
        options=options, differing=[p for p, values in options.items() if len({repr(v) for v in values}) > 1],
        metrics=metrics)
