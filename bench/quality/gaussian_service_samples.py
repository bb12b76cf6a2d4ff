"""What a user gets from ``GET /v1/models/{id}/samples.png`` for a default Gaussian MNIST job (issue 18).

Trains MNIST ``binarize: none`` (``--limit`` rows, ``--hidden`` hidden) as a job would (API defaults,
``build_run``, ``Trainer``), runs the worker's final evaluation (``evaluate_model``, whose equilibrium
chains and tempering base are stored with the weights), stores the weights as the train runner
does, then draws the picture through the sampling service exactly as the route does
(``SampleRequest(n_samples=64)``: ``auto`` -> PT from the stored chains) and scales it by the
data's value range (``in_data_units``). Writes ``<out>/service_samples<tag>.png`` (the samples)
and ``<out>/service_samples<tag>_means.png`` (their means E[v | h], what the route draws since
2026-12-02: ``app.pictures.service.shown_samples``) and prints, for both, the share (clipped to
[0, 1]) that a logistic regression trained on the same MNIST rows gives class probability >= 0.9
(``equilibrium.classifier_check``), beside real test rows. ``--chains random`` starts the final
evaluation from random states, as the runner did for standardised models before 2026-12-02.

    .venv/bin/python bench/quality/gaussian_service_samples.py [--limit 10000] [--epochs N]
        [--hidden H] [--training JSON] [--chains training|random] [--top-floor EPS] [--tag _x]

``--top-floor`` sets ``app.rbm.model.WHITEN_TOP_FLOOR`` for this run (whitened component scales
floored at EPS x the top component's spread).
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

import app.rbm.model as rbm_model  # noqa: E402
from bench.quality.common import RESULTS, job_run  # noqa: E402


class _Store:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def get_bytes(self, key: str) -> bytes:
        return self.blobs[key]


def main() -> dict:
    from app.core.settings import Settings
    from app.data.builtin import load_builtin
    from app.inference.schemas import SampleRequest
    from app.inference.service import sample_with_plan
    from app.pictures.render import grid_png
    from app.pictures.service import shown_samples
    from app.rbm.evaluation import evaluate_model
    from app.rbm.io import to_safetensors_bytes
    from bench.quality.equilibrium import classifier_check

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=10000)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None, help="default: the job default")
    ap.add_argument("--standardize", default=None, help="'true' for the diagonal standardisation")
    ap.add_argument("--top-floor", type=float, default=None)
    ap.add_argument("--eval-seconds", type=float, default=30.0)
    ap.add_argument("--training", default="{}", help="job training options beyond the defaults, as JSON")
    ap.add_argument("--chains", choices=["training", "random"], default="training",
                    help="where the final evaluation's PT starts: the training's persistent chains (what the train "
                         "runner does since 2026-12-02) or random states (what it did for standardised models before)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--out", type=Path, default=RESULTS / "gaussian")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.top_floor is not None:
        rbm_model.WHITEN_TOP_FLOOR = args.top_floor
    data = load_builtin("mnist", {"binarize": "none", "limit": args.limit})
    train = data.train
    spec = {"visible": "gaussian", "n_hidden": args.hidden}
    if args.standardize is not None:
        spec["standardize"] = {"true": True, "false": False}.get(args.standardize, args.standardize)
    started = time.perf_counter()
    run = job_run(train, spec, {**json.loads(args.training), **({"epochs": args.epochs} if args.epochs else {})})
    t0 = time.perf_counter()
    history: list[dict] = []
    run.trainer.fit(lambda epoch, metrics: history.append(metrics))
    seconds = time.perf_counter() - t0
    cpu = run.model.to(device="cpu")
    starts = run.trainer.persistent_chains() if args.chains == "training" else None  # as the train runner
    settings = Settings()
    rows = torch.from_numpy(train[np.random.default_rng(0).permutation(len(train))[:5000]])
    ev = evaluate_model(cpu, rows, None, chains=starts, budget_seconds=args.eval_seconds, seed=0,
                        exact_bits=settings.auto_exact_bits)
    blob = to_safetensors_bytes(cpu, {"job_id": "bench"}, chains=ev.chains,
                                base_mean=None if ev.base is None else ev.base.mean,
                                base_sigma=None if ev.base is None else ev.base.sigma)
    req = SampleRequest(n_samples=64, seed=0, return_hidden=True)  # the route's request (seed fixed), + hidden
    result, _seed, plan = sample_with_plan(req, cpu, settings, None, _Store({"k": blob}), "k")  # type: ignore[arg-type]
    low, high = float(train.min()), float(train.max())
    samples = result.samples.double().numpy()
    images = (samples - low) / (high - low)  # the samples (what the route drew before 2026-12-02)
    # what the route draws now (app.pictures.service.shown_samples): E[v | h] of each sample's hidden state
    shown = (shown_samples(cpu, result).double().numpy() - low) / (high - low)
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / f"service_samples{args.tag}.png"
    png.write_bytes(grid_png(images.reshape(-1, 28, 28), scaling="none"))
    means = grid_png(shown.reshape(-1, 28, 28), scaling="none")
    (args.out / f"service_samples{args.tag}_means.png").write_bytes(means)
    x, y = train, data.labels
    check = classifier_check(x, y, np.clip(images, 0, 1), data.test[:500])
    check_shown = classifier_check(x, y, np.clip(shown, 0, 1), data.test[:500])
    stored = None if ev.chains is None else ev.chains.double().numpy()
    chain_check = None if stored is None else classifier_check(x, y, np.clip((stored - low) / (high - low), 0, 1),
                                                                 data.test[:500])["samples"]
    out = {"limit": args.limit, "hidden": args.hidden, "epochs": len(history), "training": json.loads(args.training),
           "eval_start": args.chains, "train_seconds": round(seconds),
           "wall_seconds": round(time.perf_counter() - started), "standardize": spec.get("standardize", "default"),
           "whitened": bool(getattr(cpu, "whitened", False)), "top_floor": rbm_model.WHITEN_TOP_FLOOR,
           "plan": {"sampler": plan.sampler, "init": plan.init, "steps": plan.steps, "thin": plan.thin,
                    "n_chains": plan.n_chains, "n_replicas": plan.n_replicas},
           "swap_acceptance": None if result.swap_acceptance is None else [round(a, 3) for a in result.swap_acceptance],
           "classifier_means": check_shown["samples"], "classifier_samples": check["samples"],
           "classifier_stored_chains": chain_check,
           "classifier_test_rows": check["reference"], "png": str(png)}
    print(json.dumps(out), flush=True)
    with open(args.out / "service_samples.jsonl", "a") as f:
        f.write(json.dumps(out) + "\n")
    return out


if __name__ == "__main__":
    main()
