"""Goal 1 (issue 17): training jobs over HTTP against a bare GEMM-only loop of the same method.

A real ``rbm-service serve`` (API + embedded worker process, SQLite in a temp dir, default
settings except ``RBM_FINAL_EVALUATION_SECONDS=0``, see below) trains 784x500, batch 100, on
10,000 x 784 binary rows uploaded over HTTP, ``--epochs`` epochs (10). A job's time is its own
``started_at`` (claimed by the worker) to ``finished_at`` (succeeded): data load, model init,
per-epoch metrics, checkpoints, database writes and the model store are inside it. The job is
watched through its event stream, as ``RBMClient.wait`` does.

Per method (CD-1, PCD-1, PT with the default 10 replicas and k = 1) the job and the bare loop of
``_common.gemm_only_epoch_seconds`` (the same products per update, nothing else) run interleaved
A B A B ... for ``--rounds`` rounds, the bare loop for the same number of epochs as the job. The
goal's ratio is the best job's rate over the best loop's; the range is each round's own ratio.

Reported beside it: the CD-1 job against scikit-learn's BernoulliRBM (float64, one epoch per
round), the time to a job's first epoch, the worker's peak RSS per job, and (``--evaluation-job``)
one default job with the final evaluation on: every training job ends with an evaluation
(log-likelihood bracket, equilibrium samples) budgeted by RBM_FINAL_EVALUATION_SECONDS (60 s by
default), which is not training and would otherwise dominate a 10-epoch job.

    .venv/bin/python bench/perf/bench_training.py [--epochs 10] [--rounds 3] [--methods cd,pcd,pt]
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime

import httpx
import numpy as np

from app.client import RBMClient
from _common import BATCH, N_HIDDEN, N_ROWS, N_VISIBLE, binary_data, gemm_only_epoch_seconds, info, result, \
    service, upload_array

try:
    import psutil
except ImportError:  # pragma: no cover - `pip install -e ".[bench]"`
    psutil = None

#: Replicas of the PT jobs (the API default) and their chains (default: batch size).
PT_REPLICAS = 10
LABELS = {"cd": "CD-1", "pcd": "PCD-1", "pt": f"PT-1 ({PT_REPLICAS} replicas)"}


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def job_seconds(job: dict) -> float:
    return _ts(job["finished_at"]) - _ts(job["started_at"])


def sklearn_seconds(x: np.ndarray) -> float:
    from sklearn.neural_network import BernoulliRBM

    rbm = BernoulliRBM(n_components=N_HIDDEN, batch_size=BATCH, n_iter=1, random_state=0)
    t0 = time.perf_counter()
    rbm.fit(x)
    return time.perf_counter() - t0


def run_job(client: httpx.Client, url: str, ds: str, training: dict, worker=None) -> dict:
    """Submit, wait through the event stream, return the finished job (+ the worker's peak RSS)."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set() and worker is not None:
            try:
                peak[0] = max(peak[0], worker.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    rest = worker.memory_info().rss if worker is not None else 0
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t_submit = time.time()
    r = client.post(url + "/v1/jobs", json={"dataset_id": ds, "model": {"n_hidden": N_HIDDEN},
                                            "training": {"batch_size": BATCH, **training}})
    r.raise_for_status()
    job_id = r.json()["id"]
    with RBMClient(url) as watcher:
        watcher.wait(job_id)
    job = client.get(f"{url}/v1/jobs/{job_id}").json()
    stop.set()
    th.join()
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
    job["_peak_rss"], job["_rest_rss"], job["_submit"] = peak[0], rest, t_submit
    return job


def breakdown(job: dict) -> dict:
    wall = job_seconds(job)
    metrics = job.get("metrics") or []
    train = sum(m.get("epoch_seconds", 0.0) for m in metrics)
    mon = sum(m.get("metrics_seconds", 0.0) for m in metrics)
    return {"wall_s": round(wall, 3), "train_loop_s": round(train, 3), "epoch_metrics_s": round(mon, 3),
            "other_s": round(wall - train - mon, 3)}


def training_spec(method: str, epochs: int) -> dict:
    spec = {"epochs": epochs, "method": method, "k": 1, "validation_fraction": 0.0}
    if method == "pt":
        spec["n_replicas"] = PT_REPLICAS
    return spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--methods", default="cd,pcd,pt")
    ap.add_argument("--rows", type=int, default=N_ROWS, help="training rows (10,000; fewer only to test the script)")
    ap.add_argument("--evaluation-job", action="store_true", help="also one default job with the final evaluation")
    args = ap.parse_args()
    n_rows = args.rows
    x32 = binary_data(n_rows)
    rows_per_job = args.epochs * n_rows
    with service({"RBM_FINAL_EVALUATION_SECONDS": "0"}) as (url, proc, _tmp):
        worker = None
        if psutil is not None:
            time.sleep(1.0)
            kids = psutil.Process(proc.pid).children(recursive=True)
            worker = kids[0] if kids else None
        client = httpx.Client(timeout=120)
        ds = upload_array(client, url, x32)
        run_job(client, url, ds, training_spec("cd", 1))  # warm-up: imports, thread pools
        cd_best, cd_jobs = None, []
        for method in args.methods.split(","):
            label = LABELS[method]
            loops: list[float] = []
            jobs: list[dict] = []
            sk: list[float] = []
            for rnd in range(args.rounds):
                loops.append(gemm_only_epoch_seconds(x32, k=1, method=method, n_replicas=PT_REPLICAS,
                                                     epochs=args.epochs))
                jobs.append(run_job(client, url, ds, training_spec(method, args.epochs), worker))
                b = breakdown(jobs[-1])
                info(f"{label} round {rnd + 1}: job {b} ({rows_per_job / b['wall_s']:,.0f} ex/s), "
                     f"bare loop {loops[-1]:.2f}s ({rows_per_job / loops[-1]:,.0f} ex/s)")
                if method == "cd":
                    sk.append(sklearn_seconds(x32.astype(np.float64)))
            walls = [job_seconds(j) for j in jobs]
            best = min(range(len(jobs)), key=lambda i: walls[i])
            runs = [loops[i] / walls[i] for i in range(len(jobs))]
            rates = sorted(n_rows / m["epoch_seconds"] for m in jobs[best]["metrics"])
            detail = dict(job_ex_s=round(rows_per_job / walls[best]), loop_ex_s=round(rows_per_job / min(loops)),
                          job_epoch_ex_s_min_max=[round(rates[0]), round(rates[-1])], **breakdown(jobs[best]),
                          epochs=args.epochs, rows=n_rows)
            shape = "784x500" + ("" if args.epochs == 10 else f", {args.epochs} epochs")
            result(f"1 train job {label} {shape} / bare GEMM-only loop (>= 0.85)", min(loops) / walls[best], 0.85,
                   runs=runs, **detail)
            if method == "cd":
                cd_best, cd_jobs = jobs[best], jobs
                sk_rate = n_rows / min(sk)
                result("1 train job CD-1 / scikit-learn BernoulliRBM float64 (report)",
                       rows_per_job / walls[best] / sk_rate, float("inf"), unit="x", verdict="REPORT",
                       runs=[rows_per_job / w / (n_rows / s) for w, s in zip(walls, sk)],
                       sklearn_ex_s=round(sk_rate))

        # Kept from round one: time to first epoch, bounded above by a 1-epoch job's (finished -
        # submitted) minus its epoch's training time (metrics, checkpoint and store still count).
        firsts = []
        for _ in range(2):
            one = run_job(client, url, ds, training_spec("cd", 1))
            firsts.append((_ts(one["finished_at"]) - one["_submit"]) - one["metrics"][0]["epoch_seconds"])
        result("r1 time to first epoch, upper bound (s, < 1)", min(firsts), 1.0, unit="s", higher_is_better=False,
               runs=firsts)

        if worker is not None and cd_jobs:
            model_bytes = 4 * (N_VISIBLE * N_HIDDEN + N_VISIBLE + N_HIDDEN)
            state_bytes = x32.nbytes + 4 * model_bytes + 4 * BATCH * (N_VISIBLE + N_HIDDEN) * 2
            growths = [(j["_peak_rss"] - j["_rest_rss"]) / state_bytes for j in cd_jobs]
            result("r1 CD-1 job peak RSS over resting worker / (data + model state + chains) (<= 2)", max(growths),
                   2.0, higher_is_better=False, runs=growths, state_mb=round(state_bytes / 2**20, 1))

    if args.evaluation_job:
        with service() as (url, _proc, _tmp):
            client = httpx.Client(timeout=300)
            ds = upload_array(client, url, x32)
            job = run_job(client, url, ds, training_spec("cd", args.epochs))
            b = breakdown(job)
            info(f"default CD-1 job with the final evaluation: {b}")
            result(f"1 default CD-1 job, {args.epochs} epochs, final evaluation on: wall / training-only job (report)",
                   b["wall_s"] / job_seconds(cd_best) if cd_best else float("nan"), float("inf"), unit="x",
                   verdict="REPORT", **b)


if __name__ == "__main__":
    main()
