"""Round-one goals on log Z kept by issue 17 (AIS is now measured as an estimation job over HTTP,
bench_estimate.py; ``gemm_seconds`` and ``model`` here are its baseline and model):

4b: exact log Z of a 784x24 model (2^24 hidden states) in < 20 s, with the process's peak RSS
    growth < 1 GiB; 4c reports 2^20 (784x20) too.

    .venv/bin/python bench/perf/bench_partition.py [--skip-24]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from _common import best_of, info, result


def model(v: int, h: int, seed: int = 0):
    from app.rbm.model import BernoulliRBM

    g = torch.Generator().manual_seed(seed)
    return BernoulliRBM(0.05 * torch.randn(v, h, generator=g), 0.1 * torch.randn(v, generator=g) - 1.0,
                        0.1 * torch.randn(h, generator=g))


def gemm_seconds(m, n_runs: int, n_betas: int) -> float:
    """The two products per beta on fixed binary inputs into separate outputs. (Feeding the
    raw products back as the next input, as an earlier version did, drives the values to
    inf/NaN within a few steps and the baseline's speed then depends on them.)"""
    v = (torch.rand(n_runs, m.n_visible) < 0.2).float()
    h = (torch.rand(n_runs, m.n_hidden) < 0.5).float()
    pre_h, pre_v = torch.empty(n_runs, m.n_hidden), torch.empty(n_runs, m.n_visible)
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(n_betas):
            torch.addmm(m.hidden_bias, v, m.weight, out=pre_h)
            torch.addmm(m.visible_bias, h, m.weight.T, out=pre_v)
        return time.perf_counter() - t0


def main() -> None:
    from app.rbm.device import flush_denormals

    flush_denormals()  # as the service's processes run (app/cli.py)
    from app.rbm.partition import exact_log_partition

    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-24", action="store_true")
    args = ap.parse_args()
    m20 = model(784, 20, 1)
    t20 = best_of({"exact": lambda: (exact_log_partition(m20, max_bits=24), None)[1]}, 2)["exact"]
    info(f"exact 2^20 {t20:.2f}s")
    # Not a goal of the issue: its reference point (0.8 s on its machine), reported for comparison.
    result("r1 exact log Z 2^20 states (784x20) seconds (report; round one reference 0.8 s)", t20, float("inf"),
           verdict="REPORT",
           unit="s", higher_is_better=False)
    if not args.skip_24:
        m24 = model(784, 24, 2)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        t0 = time.perf_counter()
        exact_log_partition(m24, max_bits=24)
        t24 = time.perf_counter() - t0
        grow = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
        info(f"exact 2^24 {t24:.2f}s, peak RSS growth {grow / 2**20:.0f} MiB")
        result("r1 exact log Z 2^24 states (784x24) seconds (< 20)", t24, 20.0, unit="s", higher_is_better=False,
               peak_rss_growth_mib=round(grow / 2**20, 1))
        result("r1 exact log Z 2^24 peak RSS growth MiB (< 1024)", grow / 2**20, 1024.0, unit="MiB",
               higher_is_better=False)


if __name__ == "__main__":
    main()
