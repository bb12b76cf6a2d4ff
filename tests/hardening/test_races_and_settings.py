"""Issue 15 item 6: a dataset deleted while a job is submitted on it (both orders, real threads,
real database: SQLite and PostgreSQL); settings that cannot work together are refused at start-up
with a message naming the setting."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.core.errors import Conflict, NotFound
from app.core.settings import Settings
from app.datasets.service import create_from_upload, delete_dataset
from app.db.tables import Dataset, Job
from app.jobs.kinds.train import TrainJob
from app.jobs.service import create_job

TRIES = 30


def _dataset(ctx) -> str:
    buf = io.BytesIO()
    np.save(buf, (np.arange(40).reshape(10, 4) % 2).astype(np.float32))
    with ctx.db.session() as session:
        return create_from_upload(session, ctx.store, ctx.settings, name="race", filename="r.npy",
                                  content=buf.getvalue()).id


def test_delete_and_submit_never_both_succeed(ctx):
    outcomes = {"both": 0, "delete": 0, "submit": 0}
    for _ in range(TRIES):
        dataset_id = _dataset(ctx)
        barrier = threading.Barrier(2)
        result: dict[str, object] = {}

        def delete() -> None:
            with ctx.db.session() as session:
                barrier.wait()
                try:
                    delete_dataset(session, ctx.store, dataset_id)
                    result["delete"] = True
                except Conflict:
                    result["delete"] = False

        def submit() -> None:
            spec = TrainJob(dataset_id=dataset_id, model={"n_hidden": 4}, training={"epochs": 1})
            with ctx.db.session() as session:
                barrier.wait()
                try:
                    create_job(ctx, session, spec)
                    result["submit"] = True
                except NotFound:
                    result["submit"] = False

        threads = [threading.Thread(target=delete), threading.Thread(target=submit)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert set(result) == {"delete", "submit"}, result
        with ctx.db.session() as session:
            gone = session.get(Dataset, dataset_id) is None
            jobs = list(session.scalars(select(Job.id).where(Job.dataset_id == dataset_id)))
        assert not (gone and jobs), f"job {jobs} was queued on dataset {dataset_id}, which was deleted"
        assert result["delete"] != result["submit"], result  # exactly one of them won
        outcomes["delete" if result["delete"] else "submit"] += 1
    assert outcomes["both"] == 0


def test_lease_shorter_than_two_heartbeats_is_refused_naming_both_settings(tmp_path):
    with pytest.raises(ValidationError) as info:
        Settings(data_dir=tmp_path, lease_seconds=5, heartbeat_seconds=10)
    message = str(info.value)
    assert "RBM_LEASE_SECONDS" in message and "RBM_HEARTBEAT_SECONDS" in message


def test_serve_refuses_to_start_with_inconsistent_settings(tmp_path):
    env = {"RBM_DATA_DIR": str(tmp_path), "RBM_LEASE_SECONDS": "1", "RBM_HEARTBEAT_SECONDS": "10", "PATH": ""}
    proc = subprocess.run([sys.executable, "-m", "app.cli", "serve"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "invalid settings" in proc.stderr and "RBM_LEASE_SECONDS" in proc.stderr
    assert "Traceback" not in proc.stderr
