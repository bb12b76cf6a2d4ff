"""MNIST 784x500 PCD: AIS test log-likelihood (forward and reverse) against training time.

The job is ``{"model": {"n_hidden": 500}, "training": {"method": "pcd", "epochs": E}}``; every
other option is the API default. At a few epochs a quick forward AIS (100 runs, 2,000 betas)
traces the curve; at the end forward and reverse AIS (100 runs, 10,000 betas; reverse started
from test rows after 100 Gibbs sweeps) bracket log Z (forward under-, reverse over-estimates it,
so the forward LL is the optimistic end of the bracket and the reverse LL the pessimistic one).
Published: Salakhutdinov & Murray (2008), CD25, 500 hidden: -86.34 nats (AIS, 14,500 betas).

    .venv/bin/python bench/quality/mnist_large.py [--epochs E] [--method pcd|cd] [--k K]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, load, machine, timer, train_like_a_job  # noqa: E402

from app.jobs.schemas import TrainingOptions  # noqa: E402
from app.rbm.likelihood import free_energy_chunked  # noqa: E402
from app.rbm.partition import ais_log_partition  # noqa: E402

PUBLISHED = {"Salakhutdinov & Murray 2008, CD25, 500 hidden": -86.34}


def ais_ll(model, test: torch.Tensor, train: torch.Tensor, n_betas: int, reverse: bool, seed: int) -> dict:
    """Mean test log-likelihood with log Z from AIS (base rates from the training data's mean)."""
    g = torch.Generator().manual_seed(seed)
    base = train.mean(dim=0).clamp(1e-3, 1 - 1e-3)
    base_bias = torch.log(base / (1 - base)).double()
    kw = {"reverse": True, "data": test[:100], "burn_in": 100} if reverse else {}
    t = timer()
    r = ais_log_partition(model, n_runs=100, n_betas=n_betas, generator=g, base_visible_bias=base_bias, **kw)
    mean_neg_f = float(-free_energy_chunked(model, test).double().mean())
    return {"log_z": r.log_z, "log_z_std": r.log_z_std, "test_ll": mean_neg_f - r.log_z, "seconds": round(t(), 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--method", choices=["pcd", "cd"], default="pcd")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--curve", default="1,5,10,20", help="epochs with a quick forward-AIS point")
    args = ap.parse_args(argv)
    train, test, _ = load("mnist")
    test_t, train_t = torch.from_numpy(test), torch.from_numpy(train)
    training = {"method": args.method, "k": args.k, "epochs": args.epochs, "seed": 0}
    points = {int(x) for x in args.curve.split(",") if x} | {args.epochs}
    curve: list[dict] = []
    elapsed = 0.0

    def on_epoch(epoch: int, metrics: dict, model) -> None:
        nonlocal elapsed
        elapsed += metrics["epoch_seconds"]
        if epoch in points and epoch != args.epochs:
            q = ais_ll(model, test_t, train_t, 2000, False, epoch)
            curve.append({"epoch": epoch, "train_seconds": round(elapsed, 1), "test_ll_forward_ais_2000": round(q["test_ll"], 2)})
            print(json.dumps(curve[-1]), flush=True)

    model, _, seconds = train_like_a_job(train, {"n_hidden": 500}, training, on_epoch=on_epoch)
    fwd = ais_ll(model, test_t, train_t, 10000, False, 1)
    rev = ais_ll(model, test_t, train_t, 10000, True, 2)
    curve.append({"epoch": args.epochs, "train_seconds": round(seconds, 1), "test_ll_forward_ais_10000": round(fwd["test_ll"], 2),
                  "test_ll_reverse_ais_10000": round(rev["test_ll"], 2)})
    result = {
        "benchmark": "mnist_784x500_ais",
        "job": {"model": {"n_hidden": 500}, "training": training},
        "effective_options": TrainingOptions(**training).model_dump(),
        "machine": machine(),
        "train_seconds": seconds,
        "forward": fwd,
        "reverse": rev,
        "test_ll_forward": fwd["test_ll"],
        "test_ll_reverse": rev["test_ll"],
        "published": PUBLISHED,
        "curve": curve,
    }
    print(json.dumps({k: result[k] for k in ("test_ll_forward", "test_ll_reverse", "train_seconds")}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mnist_784x500.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
