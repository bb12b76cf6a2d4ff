"""MNIST 784x500: AIS test log-likelihood (forward and reverse) against training time.

The job is ``{"model": {"n_hidden": 500}, "training": {"method": "pcd", "epochs": E, ...}}`` with
``--training`` JSON merged in; every other option is the API default. At a few epochs (``--curve``)
a quick forward AIS (100 runs, ``--curve-betas`` betas) traces the curve of test log-likelihood
vs training time; at the end forward and reverse AIS (``--runs`` runs, ``--betas`` betas; reverse
started from test rows after 100 Gibbs sweeps at beta=1) bracket log Z. Forward AIS under-estimates
log Z in expectation (so its LL is the optimistic end), reverse AIS over-estimates it (its LL is the
pessimistic end) when its start states follow the model.
Published: Salakhutdinov & Murray (2008), CD25, 500 hidden: -86.34 nats (AIS, 14,500 betas),
trained for far longer than the ~10 minutes on 2 cores allowed here. Their MNIST is binarized
stochastically (pixel on with probability = intensity), so this benchmark loads the built-in with
``binarize="stochastic"`` (``--binarize threshold``, the built-in's default, is a much easier
distribution: its log-likelihoods are ~10 nats higher and not comparable with the paper).

    .venv/bin/python bench/quality/mnist_large.py [--epochs E] [--training JSON] [--betas K] [--runs R]
                                                   [--binarize stochastic|threshold]
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
#: job options beyond the API defaults (chosen to fit ~10 min of training on 2 cores)
DEFAULT_TRAINING = {"method": "pcd", "epochs": 100, "learning_rate": 0.05, "lr_schedule": "cosine", "seed": 0}


def ais_ll(model, test: torch.Tensor, train: torch.Tensor, n_betas: int, reverse: bool, seed: int,
           n_runs: int = 100) -> dict:
    """Mean test log-likelihood with log Z from AIS (base rates from the training data's mean)."""
    g = torch.Generator().manual_seed(seed)
    base = train.mean(dim=0).clamp(1e-3, 1 - 1e-3)
    base_bias = torch.log(base / (1 - base)).double()
    kw = {"reverse": True, "data": test[:n_runs], "burn_in": 100} if reverse else {}
    t = timer()
    r = ais_log_partition(model, n_runs=n_runs, n_betas=n_betas, generator=g, base_visible_bias=base_bias, **kw)
    mean_neg_f = float(-free_energy_chunked(model, test).double().mean())
    return {"log_z": r.log_z, "log_z_std": r.log_z_std, "test_ll": mean_neg_f - r.log_z, "n_runs": n_runs,
            "n_betas": n_betas, "seconds": round(t(), 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=None, help=f"default {DEFAULT_TRAINING['epochs']}")
    ap.add_argument("--training", default="{}", help="job options merged over DEFAULT_TRAINING, as JSON")
    ap.add_argument("--curve", default="1,5,10,25,50,75", help="epochs with a quick forward-AIS point")
    ap.add_argument("--curve-betas", type=int, default=1000)
    ap.add_argument("--betas", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--binarize", choices=["stochastic", "threshold"], default="stochastic")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    args = ap.parse_args(argv)
    train, test, _ = load("mnist", {"binarize": args.binarize, "seed": 0})
    test_t, train_t = torch.from_numpy(test), torch.from_numpy(train)
    training = {**DEFAULT_TRAINING, **json.loads(args.training)}
    if args.epochs:
        training["epochs"] = args.epochs
    epochs = training["epochs"]
    points = {int(x) for x in args.curve.split(",") if x}
    curve: list[dict] = []
    elapsed = 0.0
    t_all = timer()

    def on_epoch(epoch: int, metrics: dict, model) -> None:
        nonlocal elapsed
        elapsed += metrics["epoch_seconds"]
        if epoch in points and epoch != epochs:
            q = ais_ll(model, test_t, train_t, args.curve_betas, False, epoch)
            curve.append({"epoch": epoch, "train_seconds": round(elapsed, 1),
                          f"test_ll_forward_ais_{args.curve_betas}": round(q["test_ll"], 2)})
            print(json.dumps(curve[-1]), flush=True)

    model, _, seconds = train_like_a_job(train, {"n_hidden": 500}, training, on_epoch=on_epoch)
    fwd = ais_ll(model, test_t, train_t, args.betas, False, 1, args.runs)
    rev = ais_ll(model, test_t, train_t, args.betas, True, 2, args.runs)
    curve.append({"epoch": epochs, "train_seconds": round(seconds, 1),
                  f"test_ll_forward_ais_{args.betas}": round(fwd["test_ll"], 2),
                  f"test_ll_reverse_ais_{args.betas}": round(rev["test_ll"], 2)})
    print(json.dumps(curve[-1]), flush=True)
    result = {
        "benchmark": "mnist_784x500_ais",
        "data": {"name": "mnist", "binarize": args.binarize, "seed": 0},
        "job": {"model": {"n_hidden": 500}, "training": training},
        "effective_options": TrainingOptions(**training).model_dump(),
        "machine": machine(),
        "train_seconds": seconds,
        "total_seconds": round(t_all(), 1),
        "forward": fwd,
        "reverse": rev,
        "test_ll_forward": fwd["test_ll"],
        "test_ll_reverse": rev["test_ll"],
        "published": PUBLISHED,
        "curve": curve,
    }
    print(json.dumps({k: result[k] for k in ("test_ll_forward", "test_ll_reverse", "train_seconds", "total_seconds")}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"mnist_784x500{args.tag}.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
