"""Runner of kind `estimate`: log Z (and log-likelihoods) of a stored model, with progress in
percent of the annealing, cancellable between blocks of betas. The log Z lands in the same
cache the synchronous routes read."""

from __future__ import annotations

import time

import numpy as np

from app.datasets.service import rows_for_model
from app.inference import estimation
from app.inference.tensors import vectors_to_tensor
from app.jobs.kinds.estimate import PERCENT, EstimateJob
from app.models.service import load_model
from app.worker.job_run import JobRun

#: Progress is written at most this often, and always at 100 %: each write is a database
#: transaction (5-25 ms on SQLite), and one per percent took 16 % of a 1,000-beta AIS job
#: (bench/perf/profile_job.py --estimate). A cancel is still seen within this long.
PROGRESS_SECONDS = 0.5


def run(job: JobRun, spec: EstimateJob) -> None:
    started = time.perf_counter()
    reported = {"percent": -1, "at": float("-inf")}

    def progress(done: int, total: int) -> None:
        percent = done * PERCENT // max(total, 1)
        now = time.perf_counter()
        if percent > reported["percent"] and (percent >= PERCENT or now - reported["at"] >= PROGRESS_SECONDS):
            reported["percent"], reported["at"] = percent, now
            job.progress(percent, {"betas_done": done, "betas_total": total})

    req = spec.estimate.partition_function
    assert req is not None
    with job.ctx.db.session() as session:
        row, model = load_model(job.ctx, session, spec.model_id)
        z = estimation.partition_function(job.ctx, session, row, model, req, sync=False, progress=progress)
        result: dict = {"log_z": z.log_z, "log_z_std": z.log_z_std, "log_z_reverse": z.log_z_reverse,
                        "method": z.method, "cached": z.cached}
        ll = spec.estimate.log_likelihood
        if ll is not None:
            dataset_id = ll.dataset_id or row.dataset_id
            splits = ["train", "test"] if ll.split == "all" else [ll.split]
            rows = np.concatenate([rows_for_model(session, job.store, dataset_id, s, model.n_visible)
                                   for s in splits])[: ll.limit]
            data = vectors_to_tensor(rows, model, job.settings, what=f"dataset {dataset_id!r}")
            out = estimation.likelihood_of(job.ctx, session, row, model, data, req, sync=False)
            result["log_likelihood"] = {"mean": out.mean, "forward": out.mean, "reverse": out.mean_reverse,
                                        "n": len(out.log_likelihood), "dataset_id": dataset_id, "split": ll.split}
    result["seconds"] = round(time.perf_counter() - started, 3)
    if reported["percent"] < PERCENT:  # a cached log Z ran no betas
        job.progress(PERCENT, {})
    job.succeed(result=result)
