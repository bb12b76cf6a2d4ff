"""Gaussian MNIST: does training's own sampling find the spurious bright mode? (issue 18)

Trains MNIST ``binarize: none`` (10,000 rows) as a job would, with ``--training`` options and
``--hidden`` units, and every ``--every`` epochs prints one JSON line: learned sigma (min / median /
max, in the model's basis), the weight norm, the mean free energy of 500 data rows, the pixel mass
(sum of values clipped to [0, 1]) and free energy of the persistent chains, and the same after 300
Gibbs sweeps started from 64 data rows. A blob that only random starts reach shows as chains and
data-started Gibbs staying near the data's mass.

    OMP_NUM_THREADS=1 .venv/bin/python bench/quality/gaussian_chain_diagnostics.py [--hidden 64] [--training JSON]
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
from app.rbm.likelihood import free_energy_chunked  # noqa: E402
from app.rbm.sampling import gibbs  # noqa: E402
from bench.quality.common import job_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--training", default="{}", help="job training options beyond the defaults, as JSON")
    ap.add_argument("--every", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_builtin("mnist", {"binarize": "none", "limit": 10000})
    run = job_run(data.train, {"visible": "gaussian", "n_hidden": args.hidden}, json.loads(args.training))
    rows = torch.from_numpy(np.asarray(data.train[:500], dtype=np.float32))

    def mass(v: torch.Tensor) -> float:
        return float(v.clamp(0, 1).sum(1).mean())

    def report(epoch: int, metrics: dict) -> None:
        if epoch % args.every and epoch != 1:
            return
        m, chains = run.model, run.trainer.persistent_chains()
        sigma = m.log_sigma.exp()
        v = gibbs(m, rows[:64].clone(), steps=300, generator=torch.Generator().manual_seed(0))
        print(json.dumps({
            "epoch": epoch, "sigma_min": float(sigma.min()), "sigma_median": float(sigma.median()),
            "sigma_max": float(sigma.max()), "weight_norm": float(m.weight.norm()),
            "free_energy_data": float(free_energy_chunked(m, rows).mean()), "data_mass": mass(rows),
            "chains_mass": None if chains is None else mass(chains),
            "free_energy_chains": None if chains is None else float(free_energy_chunked(m, chains).mean()),
            "gibbs300_from_data_mass": mass(v), "free_energy_gibbs300": float(free_energy_chunked(m, v).mean())}),
            flush=True)

    t0 = time.perf_counter()
    run.trainer.fit(report)
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 1), "method": run.trainer.config.method,
                      "learning_rate": run.trainer.config.learning_rate, "epochs": run.trainer.config.epochs}))


if __name__ == "__main__":
    main()
