"""Goal 4 (issue 17): an estimation job (AIS log Z, 784x500, 100 runs x 10,000 betas) against its
pure GEMM time.

A real ``rbm-service serve`` (API + embedded worker, SQLite in a temp dir) holds an uploaded
784x500 bernoulli model (no training data, so AIS runs forward only: one pass of betas); the
client submits ``{"kind": "estimate", "estimate": {"partition_function": {"method": "ais",
"n_runs": 100, "n_betas": 10000, "seed": i}}}`` (a new seed each round: the log Z cache would
answer a repeat) and times the job from its own ``started_at`` to ``finished_at``. Baseline, in
this process: per beta the two products of one Gibbs sweep of 100 runs (``v W`` and ``h W^T``) on
the same weights (``bench_partition.gemm_seconds``). Interleaved over ``--rounds`` rounds, best
of each; the range is each round's own ratio.

    .venv/bin/python bench/perf/bench_estimate.py [--betas 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse

import httpx
import numpy as np
from safetensors.numpy import save as save_numpy

from app.client import RBMClient
from _common import info, result, service
from bench_partition import gemm_seconds
from bench_training import job_seconds


def upload(client: httpx.Client, url: str, v: int = 784, h: int = 500):
    """The model of bench_partition.model (same seed and scales), uploaded; returns (id, tensors)."""
    from bench_partition import model

    m = model(v, h)
    t = {"weight": m.weight, "visible_bias": m.visible_bias, "hidden_bias": m.hidden_bias}
    blob = save_numpy({k: np.ascontiguousarray(x.numpy(), dtype=np.float32) for k, x in t.items()},
                      metadata={"visible_type": "bernoulli"})
    r = client.post(url + "/v1/models", files={"file": ("m.safetensors", blob)})
    r.raise_for_status()
    return str(r.json()["id"]), m


def main() -> None:
    from app.rbm.device import flush_denormals

    flush_denormals()  # as the service's processes run (app/cli.py)
    ap = argparse.ArgumentParser()
    ap.add_argument("--betas", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with service() as (url, _proc, _tmp):
        client = httpx.Client(timeout=120)
        mid, m = upload(client, url)
        jobs, gemm, inner = [], [], []
        with RBMClient(url) as rc:
            for rnd in range(args.rounds + 1):  # round 0: warm-up (the worker's first estimate job), not counted
                spec = {"kind": "estimate", "model_id": mid, "estimate": {"partition_function": {
                    "method": "ais", "n_runs": args.runs, "n_betas": args.betas if rnd else 100, "seed": rnd}}}
                if rnd:
                    gemm.append(gemm_seconds(m, args.runs, args.betas))
                r = client.post(url + "/v1/jobs", json=spec)
                r.raise_for_status()
                job_id = r.json()["id"]
                rc.wait(job_id)
                job = client.get(f"{url}/v1/jobs/{job_id}").json()
                if job["status"] != "succeeded":
                    raise RuntimeError(f"estimate job {job['status']}: {job.get('error')}")
                if not rnd:
                    continue
                jobs.append(job_seconds(job))
                inner.append(float((job.get("result") or {}).get("seconds", float("nan"))))
                info(f"round {rnd}: estimate job {jobs[-1]:.2f}s (AIS inside {inner[-1]:.2f}s), pure GEMM "
                     f"{gemm[-1]:.2f}s; log Z {job['result']['log_z']:.3f} +- {job['result']['log_z_std']:.3f}")
    scaled = "" if args.betas == 10_000 else f" (scaled: {args.betas} betas)"
    result(f"4 estimate job AIS 784x500 {args.runs} runs x {args.betas} betas / pure GEMM (<= 1.5){scaled}",
           min(jobs) / min(gemm), 1.5, higher_is_better=False, runs=[j / g for j, g in zip(jobs, gemm)],
           job_s=round(min(jobs), 3), ais_inside_job_s=round(min(inner), 3), gemm_s=round(min(gemm), 3),
           betas=args.betas)


if __name__ == "__main__":
    main()
