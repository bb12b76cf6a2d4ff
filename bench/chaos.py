"""Chaos bench: real `rbm-service worker` processes are killed with SIGKILL at least --kills times
mid-training and replaced; at the end every job must have succeeded exactly once with weights equal
to an uninterrupted run. Prints kills survived, jobs lost (goal 0), duplicates (goal 0).

    .venv/bin/python bench/chaos.py [--kills 20] [--workers 3] [--database-url postgresql+psycopg://...]

Bounded: stops after --timeout seconds whatever happens."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.context import ServiceContext  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.conftest import _postgres_schema_url  # noqa: E402
from tests.chaos.procs import (  # noqa: E402
    ServiceProcess, all_final, job_rows, model_weights, models_per_job, owner_pid, progress_epochs,
    reference_weights, running_job_past, service_env, status_events,
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = p.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rbm-chaos-"))
    schema_cm = None
    if args.database_url and args.database_url.startswith("postgresql"):
        schema_cm = _postgres_schema_url(args.database_url)  # a throwaway schema, dropped at the end
        args.database_url = next(schema_cm)
    settings = Settings(data_dir=data_dir, database_url=args.database_url, device="cpu")
    migrate.upgrade(settings.resolved_database_url)
    ctx = ServiceContext.from_settings(settings)
    client = TestClient(create_app(context=ctx))
    env = service_env(settings.resolved_database_url, data_dir)
    ds = client.post("/v1/datasets/builtin", json={"builtin": "digits"}).json()
    body = {"dataset_id": ds["id"], "model": {"n_hidden": 32},
            "training": {"epochs": args.epochs, "seed": 7, "method": "pcd", "batch_size": 10, "k": 2}}
    job_ids: list[str] = []
    procs: dict[int, ServiceProcess] = {}

    def spawn() -> None:
        proc = ServiceProcess(["worker"], env, data_dir / f"worker-{len(job_ids)}-{time.monotonic_ns()}.log")
        procs[proc.pid] = proc

    for _ in range(args.workers):
        spawn()
    deadline = time.monotonic() + args.timeout
    kills = 0
    t0 = time.monotonic()
    try:
        while kills < args.kills and time.monotonic() < deadline:
            if sum(j.status in ("queued", "running") for j in job_rows(ctx, job_ids)) < args.workers + 1:
                job_ids.append(client.post("/v1/jobs", json=body).json()["id"])  # keep every worker busy
            victim = running_job_past(ctx, 2, args.epochs - 3)
            pid = owner_pid(victim.lease_owner) if victim else None
            if pid in procs and procs[pid].alive():
                procs.pop(pid).kill9()
                kills += 1
                spawn()
                print(f"kill {kills}: worker {pid} during job {victim.id[:8]} epoch {victim.epoch}", flush=True)
            time.sleep(0.3)
        while not all_final(ctx, job_ids) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            proc.stop()

    jobs = job_rows(ctx, job_ids)
    counts = models_per_job(ctx)
    lost = [j.id for j in jobs if j.status != "succeeded"]
    duplicates = sum(max(0, counts.get(j.id, 0) - 1) for j in jobs) + sum(
        max(0, [e["status"] for e in status_events(ctx, j.id)].count("succeeded") - 1) for j in jobs)
    history_bad = [j.id for j in jobs if progress_epochs(ctx, j.id) != list(range(1, args.epochs + 1))]
    reference = reference_weights(ctx, job_ids[0])
    mismatched = [j.id for j in jobs if j.model_id and any(
        not np.array_equal(w, reference[k]) for k, w in model_weights(ctx, j.model_id).items())]
    print(f"database: {ctx.db.engine.dialect.name}; workers: {args.workers}; jobs: {len(jobs)}; "
          f"wall: {time.monotonic() - t0:.0f}s")
    print(f"kills survived: {kills}")
    print(f"jobs lost: {len(lost)}")
    print(f"duplicates: {duplicates}")
    print(f"broken epoch histories: {len(history_bad)}; weights differing from the uninterrupted run: {len(mismatched)}")
    print(f"attempts per job: {sorted(j.attempts for j in jobs)}")
    ctx.close()
    if schema_cm is not None:
        schema_cm.close()
    return 0 if kills >= args.kills and not (lost or duplicates or history_bad or mismatched) else 1


if __name__ == "__main__":
    sys.exit(main())
