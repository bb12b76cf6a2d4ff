"""Op by op: one training epoch as a job runs it (``app.worker.training.build_run`` + ``Trainer``),
under torch.profiler, beside the bare GEMM-only epoch of the same method (for run_all's FAIL notes).

    .venv/bin/python bench/perf/profile_epoch.py [--method cd|pcd|pt] [--rows 10000] [--top 20]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from _common import binary_data, gemm_only_epoch_seconds
from bench_training import PT_REPLICAS, training_spec


def main() -> None:
    from app.rbm.device import flush_denormals
    from app.worker.training import build_run

    flush_denormals()  # as the worker does
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="cd")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    x = binary_data(args.rows)
    spec = {**training_spec(args.method, 3), "batch_size": 100}
    run = build_run({"visible": "bernoulli", "n_hidden": 500}, spec, x, None, torch.device("cpu"))
    trainer = run.trainer
    trainer.run_epoch()  # warm-up
    best = {"epoch": float("inf"), "metrics": float("inf"), "gemm": float("inf")}
    for _ in range(2):
        m = trainer.run_epoch()
        best["epoch"] = min(best["epoch"], m["epoch_seconds"])
        best["metrics"] = min(best["metrics"], m["metrics_seconds"])
        best["gemm"] = min(best["gemm"], gemm_only_epoch_seconds(x, method=args.method, n_replicas=PT_REPLICAS))
    print(f"{args.method}: train loop {best['epoch']:.3f} s/epoch, metrics {best['metrics']:.3f} s, bare GEMM-only "
          f"{best['gemm']:.3f} s: loop / GEMM speed {best['gemm'] / best['epoch']:.3f}")
    trainer.config.epochs += 1
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        m = trainer.run_epoch()
    ops = prof.key_averages()
    in_ops = sum(e.self_cpu_time_total for e in ops) / 1e6
    wall = m["epoch_seconds"] + m["metrics_seconds"]
    print(ops.table(sort_by="self_cpu_time_total", row_limit=args.top))
    print(f"profiled epoch + metrics {wall:.3f} s wall, {in_ops:.3f} s in torch ops; the rest ({wall - in_ops:.3f} s) "
          "is outside torch: numpy draws (UniformSource), Python, profiler overhead")


if __name__ == "__main__":
    main()
