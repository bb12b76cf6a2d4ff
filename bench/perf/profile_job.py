"""Where a job's time goes: one job run by a worker under cProfile (for the FAIL notes of run_all).

A real ``rbm-service serve`` without its embedded worker (SQLite in a temp dir) takes the job;
then ``rbm-service worker --drain`` runs it with the same settings, ``Worker.execute`` (the job
from its claim to its end, not the imports) under cProfile, and exits. Prints the job's wall split
(train loop / epoch metrics / other) and the top entries by own time and by cumulative time.

    .venv/bin/python bench/perf/profile_job.py [--method cd|pcd|pt] [--epochs 10] [--rows 10000]
    .venv/bin/python bench/perf/profile_job.py --estimate [--betas 10000]
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import tempfile

import httpx

from _common import PY, ROOT, binary_data, service, upload_array
from bench_training import PT_REPLICAS, breakdown, job_seconds

#: ``rbm-service worker --drain`` with ``Worker.execute`` profiled (argv[1]: the output file).
DRIVER = """
import cProfile, sys
from app.worker.runner import Worker
from app.cli import main
inner, prof = Worker.execute, cProfile.Profile()
def execute(self, job_id):
    prof.enable()
    try:
        return inner(self, job_id)
    finally:
        prof.disable()
Worker.execute = execute
code = main(["worker", "--drain"])
prof.dump_stats(sys.argv[1])
sys.exit(code)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="cd")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--estimate", action="store_true", help="an AIS estimation job instead of training")
    ap.add_argument("--betas", type=int, default=10_000)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    env_extra = {"RBM_FINAL_EVALUATION_SECONDS": "0"}
    with service(env_extra, embedded_worker=False) as (url, _proc, tmp):
        client = httpx.Client(timeout=120)
        if args.estimate:
            from bench_estimate import upload

            mid, _m = upload(client, url)
            body = {"kind": "estimate", "model_id": mid, "estimate": {"partition_function": {
                "method": "ais", "n_runs": 100, "n_betas": args.betas, "seed": 1}}}
        else:
            ds = upload_array(client, url, binary_data(args.rows))
            training = {"epochs": args.epochs, "method": args.method, "k": 1, "batch_size": 100}
            if args.method == "pt":
                training["n_replicas"] = PT_REPLICAS
            body = {"dataset_id": ds, "model": {"n_hidden": 500}, "training": training}
        r = client.post(url + "/v1/jobs", json=body)
        r.raise_for_status()
        job_id = r.json()["id"]
        prof = os.path.join(tempfile.mkdtemp(prefix="rbm-prof-"), "worker.prof")
        env = dict(os.environ, RBM_DATA_DIR=str(tmp), RBM_DEVICE="cpu", RBM_LOG_LEVEL="WARNING", **env_extra)
        subprocess.run([PY, "-c", DRIVER, prof], cwd=ROOT, env=env, check=True, timeout=900)
        job = client.get(f"{url}/v1/jobs/{job_id}").json()
    print(f"job {job['status']}: {job_seconds(job):.3f} s started..finished; "
          + ("" if args.estimate else f"{breakdown(job)}"))
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
