"""MNIST 784x16 PCD with the service's default settings, exact test log-likelihood.

With 16 hidden units log Z is exact (2^16 hidden states), so the test log-likelihood is exact.
The job is ``{"model": {"n_hidden": 16}, "training": {"method": "pcd"}}`` plus ``--epochs`` when
given: every other option is the API default (app/jobs/schemas.TrainingOptions).
Published (PyDeep, Melchior et al.): 784-16 -149.05 nats (plain), -142.56 (centred).

    .venv/bin/python bench/quality/mnist_small.py [--epochs N] [--no-centering]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, load, machine, train_like_a_job  # noqa: E402

from app.jobs.schemas import TrainingOptions  # noqa: E402
from app.rbm.likelihood import free_energy_chunked  # noqa: E402
from app.rbm.partition import exact_log_partition  # noqa: E402

PUBLISHED = {"PyDeep 784-16 plain": -149.05, "PyDeep 784-16 centred": -142.56}
GOAL = -135.0


def exact_mean_ll(model, data: torch.Tensor) -> float:
    """Mean exact log p(v) of ``data (n, 784)``: -F(v) - log Z with log Z by enumeration."""
    return float(-free_energy_chunked(model, data).double().mean()) - exact_log_partition(model)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=None, help="default: the API default")
    ap.add_argument("--no-centering", action="store_true", help="compare with the uncentred gradient")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--training", default="{}", help='more job options as JSON, e.g. \'{"lr_schedule": "cosine"}\'')
    args = ap.parse_args(argv)
    train, test, _ = load("mnist")
    test_t = torch.from_numpy(test)
    training: dict = {"method": "pcd", "seed": args.seed}
    if args.epochs:
        training["epochs"] = args.epochs
    training.update(json.loads(args.training))
    if args.no_centering:
        training["centering"] = False
    curve: list[dict] = []
    elapsed = 0.0

    def on_epoch(epoch: int, metrics: dict, model) -> None:
        nonlocal elapsed
        elapsed += metrics["epoch_seconds"]
        curve.append({"epoch": epoch, "train_seconds": round(elapsed, 2), "test_ll": round(exact_mean_ll(model, test_t), 3)})
        print(json.dumps(curve[-1]), flush=True)

    model, _, seconds = train_like_a_job(train, {"n_hidden": 16}, training, on_epoch=on_epoch)
    opts = TrainingOptions(**training).model_dump()
    result = {
        "benchmark": "mnist_784x16_pcd_exact",
        "job": {"model": {"n_hidden": 16}, "training": training},
        "effective_options": opts,
        "machine": machine(),
        "train_seconds": seconds,
        "test_ll": exact_mean_ll(model, test_t),
        "train_ll": exact_mean_ll(model, torch.from_numpy(train[:10000])),
        "goal": GOAL,
        "published": PUBLISHED,
        "curve": curve,
    }
    print(json.dumps({k: result[k] for k in ("test_ll", "train_ll", "train_seconds")}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("_uncentred" if args.no_centering else "") + ("_tuned" if json.loads(args.training) else "")
    (RESULTS / f"mnist_784x16{suffix}.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
