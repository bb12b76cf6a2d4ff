"""Job logic shared by the router and the CLI: validate a request against its dataset and the
limits, enqueue it, present it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, NotFound
from app.core.settings import Settings
from app.datasets.service import get_dataset
from app.db.tables import Job
from app.jobs import queue
from app.jobs.events import metrics_by_job
from app.jobs.schemas import JobCreate, JobOut, Progress


def create_job(session: Session, settings: Settings, body: JobCreate, api_key_id: str | None = None) -> Job:
    dataset = get_dataset(session, body.dataset_id)
    spec, training = body.model, body.training
    if spec.n_hidden > settings.max_hidden:
        raise InvalidRequest(f"model.n_hidden={spec.n_hidden} exceeds the limit {settings.max_hidden} (RBM_MAX_HIDDEN)")
    if training.epochs > settings.max_epochs:
        raise InvalidRequest(f"training.epochs={training.epochs} exceeds the limit {settings.max_epochs} (RBM_MAX_EPOCHS)")
    if spec.visible == "bernoulli" and dataset.value_type != "binary":
        low, high = (dataset.info or {}).get("value_range", [None, None])
        if low is None or low < 0 or high > 1:
            raise InvalidRequest(f"dataset {dataset.id!r} has continuous values outside [0, 1]; "
                                 "use model.visible='gaussian' or upload data in [0, 1]")
    if spec.visible == "bernoulli" and (spec.sigma is not None or training.learn_sigma):
        raise InvalidRequest("model.sigma and training.learn_sigma apply only to model.visible='gaussian'")
    job = Job(dataset_id=dataset.id, name=body.name, status="queued", model_spec=spec.model_dump(), api_key_id=api_key_id,
              training=training.model_dump(), epochs=training.epochs)
    session.add(job)
    session.commit()
    return job


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def present(jobs: list[Job], session: Session) -> list[JobOut]:
    metrics = metrics_by_job(session, [j.id for j in jobs])
    return [JobOut(id=j.id, name=j.name, dataset_id=j.dataset_id, status=j.status,  # type: ignore[arg-type]
                   progress=Progress(epoch=j.epoch, epochs=j.epochs), metrics=metrics[j.id],
                   model_id=j.model_id, error=j.error, model=j.model_spec, training=j.training,
                   attempts=j.attempts, created_at=j.created_at, started_at=j.started_at,
                   finished_at=j.finished_at) for j in jobs]


def cancel_job(session: Session, job_id: str) -> Job:
    get_job(session, job_id)
    queue.request_cancel(session, job_id)
    session.expire_all()
    return get_job(session, job_id)
