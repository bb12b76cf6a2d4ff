"""Is a saved model's final-evaluation bracket right? A yardstick beside ``app.rbm.evaluation``.

Reads a model saved by ``equilibrium.py CASE --save PATH`` (model, stored chains, tempering base),
reruns the final evaluation as the train runner would (``evaluate_model`` with the runner's budget
for the 30-epoch MNIST default, 423 s, from the stored chains), then checks log Z independently:
forward AIS with the size rule's betas and with ``--more-betas`` (does the estimate still move?),
and reverse AIS from PT samples after ``--long-sweeps`` sweeps and from the stored chains. Prints
one line per estimate with the test log-likelihood it implies (MNIST test split, thresholded).

    OMP_NUM_THREADS=1 .venv/bin/python bench/quality/ais_bracket_check.py /tmp/mnist500.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.data.builtin import load_builtin  # noqa: E402
from app.rbm.evaluation import evaluate_model, evaluation_replicas, required_betas  # noqa: E402
from app.rbm.likelihood import free_energy_chunked  # noqa: E402
from app.rbm.partition import ais_log_partition  # noqa: E402
from app.rbm.sampling import make_sampler  # noqa: E402
from app.rbm.tempering import base_from_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("saved", help="file written by equilibrium.py --save")
    ap.add_argument("--budget", type=float, default=423.0, help="final-evaluation budget (the runner's)")
    ap.add_argument("--more-betas", type=int, default=40_000)
    ap.add_argument("--long-sweeps", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=64)
    args = ap.parse_args()
    saved = torch.load(args.saved, weights_only=False)
    model, chains = saved["model"], saved["chains"]
    data = load_builtin("mnist", {})
    pick = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(1))[:5000]
    train = torch.from_numpy(np.asarray(data.train, dtype=np.float32))[pick]
    test = torch.from_numpy(np.asarray(data.test, dtype=np.float32))
    f_test = float(free_energy_chunked(model, test).double().mean())

    def line(label: str, seconds: float, **values: object) -> None:
        print(json.dumps({"estimate": label, "seconds": round(seconds, 1), **values}), flush=True)

    t0 = time.perf_counter()
    ev = evaluate_model(model, train, test, chains=chains, budget_seconds=args.budget, seed=0)
    m = ev.to_metrics()
    line("final evaluation", time.perf_counter() - t0, **{k: m[k] for k in (
        "final_log_z", "final_log_z_reverse", "final_ll_test", "final_ll_test_reverse", "final_ll_reliable",
        "final_ll_bracket_width", "final_ais_runs", "final_ais_betas", "final_sample_sweeps", "final_sample_rhat",
        "final_swap_acceptance_min", "final_ll_reason")}, on_pixels_samples=float(ev.chains.sum(1).mean()))

    base = base_from_data(model, train)
    g = torch.Generator().manual_seed(7)
    t0 = time.perf_counter()
    pt = make_sampler(model, chains, sampler="pt", generator=g,
                      n_replicas=evaluation_replicas(model.n_visible, model.n_hidden), base=base)
    pt.adapt_ladder(args.long_sweeps // 4)
    pt.sweep(args.long_sweeps - args.long_sweeps // 4)
    long = pt.state.clone()
    line(f"PT {args.long_sweeps} sweeps from the stored chains", time.perf_counter() - t0,
         swap_min=min(pt.swap_acceptance), on_pixels=float(long.sum(1).mean()))
    rule = required_betas(model.n_visible, model.n_hidden)
    runs = {"forward, rule's betas": dict(n_betas=rule, data=train),
            f"reverse, rule's betas, from the {args.long_sweeps}-sweep PT samples":
                dict(n_betas=rule, data=long, reverse=True, base_visible_bias=base.mean),
            "reverse, rule's betas, from the stored chains":
                dict(n_betas=rule, data=chains, reverse=True, base_visible_bias=base.mean),
            f"forward, {args.more_betas} betas": dict(n_betas=args.more_betas, data=train)}
    for label, kw in runs.items():
        t0 = time.perf_counter()
        n_runs = min(args.runs, kw["data"].shape[0]) if kw.get("reverse") else args.runs
        r = ais_log_partition(model, n_runs=n_runs, generator=torch.Generator().manual_seed(7), **kw)
        line(label, time.perf_counter() - t0, n_runs=n_runs, n_betas=kw["n_betas"], log_z=r.log_z,
             log_z_std=r.log_z_std, test_ll=-f_test - r.log_z)


if __name__ == "__main__":
    main()
