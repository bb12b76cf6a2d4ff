"""Ising L=8 over training seeds: the energy per site of each trained model against Kaufman's exact value.

Trains as a job does (``build_run`` + ``Trainer``, job options ``--training`` on top of
``{"method": "pcd"}``) once per seed and reads the returned model's energy with a parallel-tempering
reference (400 chains x 16 replicas from random states, 2,000 sweeps, then 20,000 samples 20 sweeps
apart; two sampling seeds read one model within ~0.2 %). The spread over seeds is what a user of the
defaults meets; one default request of 5,000 samples adds ~0.5 % of its own (bench/README.md, issue 11,
session 7), so compare recipes here, not by single requests.

    OMP_NUM_THREADS=1 .venv/bin/python bench/quality/ising_seeds.py --T 2.5 --seeds 0,1,2,3 \\
        [--training '{"average_tail": 0}']

Prints one JSON line per seed and a summary, and appends the summary to bench/results/ising_seeds.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine  # noqa: E402

from app.data.builtin import load_builtin  # noqa: E402
from app.jobs.schemas import ModelSpec, TrainingOptions  # noqa: E402
from app.physics.exact_kaufman import kaufman  # noqa: E402
from app.physics.observables import ising_energy  # noqa: E402
from app.rbm.sampling import draw_samples  # noqa: E402
from app.worker.training import build_run  # noqa: E402


#: Lattice side of the Ising rows.
L = 8


def energy_per_site(samples01: np.ndarray) -> float:
    """Mean energy per site of ``(n, L*L)`` {0,1} samples."""
    return float(ising_energy(np.asarray(samples01).round().astype(np.uint8), L).mean() / (L * L))


def relative_energy_error(energy: float, T: float) -> float:
    """``(energy - exact) / |exact|`` against Kaufman's exact L=8 energy per site at ``T``."""
    exact = kaufman(L, T)["energy_per_site"]
    return (energy - exact) / abs(exact)


def pt_reference_energy(model, seed: int) -> float:
    """The model's energy per site from the parallel-tempering reference (see the module docs)."""
    res = draw_samples(model, n_samples=20000, steps=2000, thin=20, sampler="pt", n_chains=400, n_replicas=16,
                       adapt_ladder=True, generator=torch.Generator().manual_seed(1000 + seed))
    return energy_per_site(res.samples.numpy())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=float, default=2.5)
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--training", default="{}", help="job options beyond {'method': 'pcd'}, as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = load_builtin("ising", {"L": L, "T": args.T, "n_samples": 20000})
    extra = json.loads(args.training)
    errors = []
    for seed in (int(s) for s in args.seeds.split(",")):
        opts = TrainingOptions(**{"seed": seed, "method": "pcd", **extra}).model_dump()
        run = build_run(ModelSpec(n_hidden=args.hidden).model_dump(), opts, data.train, data.test, torch.device("cpu"))
        t0 = time.perf_counter()
        run.trainer.fit()
        train_s = time.perf_counter() - t0
        errors.append(relative_energy_error(pt_reference_energy(run.model, seed), args.T))
        print(json.dumps({"T": args.T, "training": extra, "seed": seed, "train_seconds": round(train_s, 1),
                          "rel_error_pt_reference": errors[-1]}), flush=True)
    e = np.asarray(errors)
    out = {"T": args.T, "hidden": args.hidden, "training": extra, "seeds": args.seeds, "rel_errors": errors,
           "mean": float(e.mean()), "rms": float(np.sqrt((e ** 2).mean())), "max_abs": float(np.abs(e).max()),
           "machine": machine()}
    print(json.dumps(out), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "ising_seeds.jsonl", "a") as f:
        f.write(json.dumps(out) + "\n")
    return out


if __name__ == "__main__":
    main()
