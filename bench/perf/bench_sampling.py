"""Goal 2: block Gibbs sweeps/s against the GEMM ceiling; Metropolis cost per accepted move.

Ceiling: per sweep the two products ``v W`` and ``h W^T`` of all chains, preallocated.
Gibbs: ``GibbsChains.sweep`` (what ``POST /samples`` runs) on a 784x500 model.

    .venv/bin/python bench/perf/bench_sampling.py
"""

from __future__ import annotations

import time

import torch

from _common import best_of, info, result
from bench_partition import model


def gemm_sweeps(m, n: int, sweeps: int) -> float:
    """The two products of a sweep on fixed binary inputs into separate outputs (see
    bench_partition.gemm_seconds: fed-back raw products reach inf/NaN and skew the timing)."""
    v = (torch.rand(n, m.n_visible) < 0.2).float()
    h = (torch.rand(n, m.n_hidden) < 0.5).float()
    pre_h, pre_v = torch.empty(n, m.n_hidden), torch.empty(n, m.n_visible)
    t0 = time.perf_counter()
    for _ in range(sweeps):
        torch.addmm(m.hidden_bias, v, m.weight, out=pre_h)
        torch.addmm(m.visible_bias, h, m.weight.T, out=pre_v)
    return time.perf_counter() - t0


def main() -> None:
    from app.rbm.device import flush_denormals

    flush_denormals()  # as the service's processes run (app/cli.py)
    from app.rbm.sampling import GibbsChains, _Metropolis

    m = model(784, 500)
    with torch.no_grad():
        for n, sweeps in ((256, 100), (1000, 40)):
            ch = GibbsChains(m, n, generator=torch.Generator().manual_seed(0))
            ch.v.copy_((torch.rand(n, 784) < 0.2).float())
            best = best_of({"gemm": lambda: gemm_sweeps(m, n, sweeps), "gibbs": lambda: (ch.sweep(sweeps), None)[1]}, 3)
            info(f"{n} chains: gibbs {sweeps / best['gibbs']:.1f} sweeps/s, GEMM ceiling {sweeps / best['gemm']:.1f}")
            result(f"2a Gibbs {n} chains sweeps/s vs GEMM ceiling (>= 0.8)", best["gemm"] / best["gibbs"], 0.8,
                   sweeps_s=round(sweeps / best["gibbs"], 1), ceiling_sweeps_s=round(sweeps / best["gemm"], 1))
        mh = _Metropolis(m, (torch.rand(256, 784) < 0.2).float(), torch.Generator().manual_seed(0), 1.0, None)
        t0 = time.perf_counter()
        mh.sweep()
        dt = time.perf_counter() - t0
        accepted = float(mh.accepted)
        info(f"metropolis 256 chains: {dt:.2f}s per sweep, acceptance {mh.acceptance_rate:.3f}")
        result("2b Metropolis 256 chains: microseconds per accepted move (reported)", dt / max(accepted, 1) * 1e6,
               float("inf"), unit="us", higher_is_better=False, sweep_s=round(dt, 3),
               acceptance=round(mh.acceptance_rate, 4), proposals_per_s=round(256 * 784 / dt))


if __name__ == "__main__":
    main()
