"""Issue 11's done-when table: do models trained with the API defaults generate their data?

Each case trains exactly as a job does (``build_run`` + ``Trainer`` with the API defaults plus
``--training``), runs the train runner's final evaluation (``app.rbm.evaluation``: PT samples from
the persistent chains, exact LL or a forward + reverse AIS bracket), stores its chains as the
runner does, then draws the samples a ``POST /samples`` with only ``n_samples`` and ``seed`` gets
(``app.inference.service.plan_sampling``: Gibbs from the stored chains) and measures them:

* ``bas``: bars-and-stripes 4x4, 16 hidden: exact mean LL (optimum -ln 30 = -3.4012), and the share
  of valid patterns / distinct patterns among 1,000 ``"sampler": "pt"`` samples (and default ones).
* ``digits``: 8x8 digits, 64 hidden: a logistic-regression classifier (trained on the binarised
  digits) gives each sample a class probability; share >= 0.9, every class's share, on-pixels.
* ``ising-2.0`` / ``ising-2.5`` / ``ising-tc``: L=8, 20,000 configurations, 64 hidden: energy per
  site of eight default requests of 5,000 samples (40,000 in all; one request alone reads ~0.5 %
  apart between seeds) against Kaufman's exact value, and a parallel-tempering reference.
* ``mnist16``: 784x16, exact test LL. ``mnist500``: 784x500, AIS bracket on the test set, the
  classifier check on 500 default samples (classifier: logistic regression on 20,000 binarised
  training images; the same classifier on 500 test images is the reference), on-pixels.

    nice -n 10 .venv/bin/python bench/quality/equilibrium.py bas [--training '{"method": "cd"}']

Prints one JSON line and appends it to bench/results/equilibrium.jsonl.
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

from app.core.settings import Settings  # noqa: E402
from app.data.builtin import load_builtin  # noqa: E402
from app.inference.schemas import SampleRequest  # noqa: E402
from app.inference.service import initial_state, plan_sampling  # noqa: E402
from app.jobs.schemas import ModelSpec, TrainingOptions  # noqa: E402
from app.rbm.evaluation import evaluate_model  # noqa: E402
from app.rbm.likelihood import free_energy_chunked  # noqa: E402
from app.rbm.partition import exact_log_partition  # noqa: E402
from app.rbm.sampling import draw_samples  # noqa: E402
from app.worker.kinds.train import evaluation_budget  # noqa: E402
from app.worker.training import build_run  # noqa: E402

ISING_T = {"ising-2.0": 2.0, "ising-2.5": 2.5, "ising-tc": 2.269185314213022}
CASES = {
    "bas": ("bars-and-stripes", {"n": 4}, 16),
    "digits": ("digits", {}, 64),
    **{k: ("ising", {"L": 8, "T": t, "n_samples": 20000}, 64) for k, t in ISING_T.items()},
    "mnist16": ("mnist", {}, 16),
    "mnist500": ("mnist", {}, 500),
}


def default_samples(model, chains: torch.Tensor | None, n: int, seed: int, base=None, **req) -> tuple[torch.Tensor, dict]:
    """What ``POST /samples {"n_samples": n, "seed": seed, **req}`` returns for a model stored with ``chains``."""
    settings = Settings()
    request = SampleRequest(n_samples=n, seed=seed, **req)
    plan = plan_sampling(request, model, settings, has_chains=chains is not None)
    g = torch.Generator().manual_seed(seed)
    init = initial_state(request, model, settings, None, None, g, plan, chains)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    res = draw_samples(model, n_samples=n, steps=plan.steps, thin=plan.thin, init=init, sampler=plan.sampler,
                       generator=g, n_chains=plan.n_chains, betas=plan.betas, base=base,
                       adapt_ladder=request.betas is None)
    info = {"sampler": plan.sampler, "init": plan.init, "steps": plan.steps, "thin": plan.thin,
            "n_chains": plan.n_chains, "seconds": round(time.perf_counter() - t0, 2),
            "equilibrated": res.diagnostics.equilibrated, "rhat": res.diagnostics.rhat, "tau": res.diagnostics.tau,
            "swap_acceptance_min": min(res.swap_acceptance) if res.swap_acceptance else None}
    return res.samples, info


def classifier_check(x_train, y_train, samples: np.ndarray, reference: np.ndarray) -> dict:
    """Share of samples each classifier is >= 90 % sure about, the smallest class share, on-pixels, and
    the same on real data. The issue names two judges: a small MLP (one hidden layer of 256; 96.4 % MNIST
    test accuracy, sure of 94 % of real test images) gives ``samples`` / ``reference``, the numbers the
    done-when reads; logistic regression (90.8 %, sure of only 75 % of real test images, so thin or
    unusual real digits already fail it; the judge of rows before 2026-12-03) gives ``logistic``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    judges = {"mlp": MLPClassifier(hidden_layer_sizes=(256,), max_iter=30, random_state=0),
              "logistic": LogisticRegression(max_iter=300, C=0.5)}

    def score(clf, x):
        p = clf.predict_proba(x)
        shares = np.bincount(p.argmax(1), minlength=10) / len(x)
        return {"confident": float((p.max(1) >= 0.9).mean()), "min_class_share": float(shares.min()),
                "on_pixels": float(x.sum(1).mean())}

    scores = {}
    for name, clf in judges.items():
        clf.fit(x_train, y_train)
        scores[name] = {"samples": score(clf, samples), "reference": score(clf, reference)}
    return {**scores["mlp"], "logistic": scores["logistic"]}


def bas_check(samples: np.ndarray) -> dict:
    from app.data.builtin_bars_stripes import bars_and_stripes_patterns

    pats = {tuple(p) for p in bars_and_stripes_patterns(4).astype(int).tolist()}
    rows = [tuple(r) for r in samples.round().astype(int).tolist()]
    valid = [r for r in rows if r in pats]
    return {"valid": len(valid) / len(rows), "distinct_valid": len(set(valid))}


#: Default requests of 5,000 samples pooled for the Ising rows (see :func:`ising_check`).
DEFAULT_REQUESTS = 8


def ising_check(model, ev, first: np.ndarray, T: float, seed: int) -> dict:
    """Energy per site of the model's samples against Kaufman's exact value, measured precisely enough
    to decide a 1 % row. One default request's 5,000 samples read a 64-spin model near T_c with a
    spread of ~0.5 % between request seeds (8 seeds, bench/README.md, session 7): the mean of 5,000
    independent samples alone has a 0.38 % standard error (energy per site std ~0.33). So the row reads
    ``DEFAULT_REQUESTS`` default requests (seeds seed..seed+7, 40,000 samples) with the standard error
    from their spread, and beside it the parallel-tempering reference of ``ising_seeds.py`` (two
    sampling seeds read one model within ~0.2 %). The 1,000-chain, 3,000-sweep Gibbs reference of
    earlier rows read one model 0.2 % and 1.1 % on two sampling seeds, so it is gone."""
    from ising_seeds import energy_per_site, pt_reference_energy, relative_energy_error

    draws = [first] + [default_samples(model, ev.chains, len(first), seed + i, base=ev.base)[0].numpy()
                       for i in range(1, DEFAULT_REQUESTS)]
    energies = [energy_per_site(d) for d in draws]
    pooled = float(np.mean(energies))  # the requests are the same size: their mean is the pooled mean
    per_request = [relative_energy_error(e, T) for e in energies]
    e_ref = pt_reference_energy(model, seed)
    return {"T": T, "requests": DEFAULT_REQUESTS, "samples": int(sum(len(d) for d in draws)),
            "energy_per_site": pooled, "rel_error": relative_energy_error(pooled, T),
            # from the spread between requests: blocking the pooled rows (round by round, chain by
            # chain) misses that a chain's samples are alike, and read ~half of this
            "rel_error_stderr": float(np.std(per_request, ddof=1) / np.sqrt(len(per_request))),
            "rel_error_per_request": per_request,
            "energy_per_site_pt_reference": e_ref, "rel_error_pt_reference": relative_energy_error(e_ref, T)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--training", default="{}", help="job options beyond the defaults, as JSON")
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-seconds", type=float, default=None,
                    help="final evaluation budget; default: the train runner's (evaluation_budget)")
    ap.add_argument("--save", default=None, help="torch.save the model, stored chains and base here")
    ap.add_argument("--png", default=None, help="digits/mnist500: write 64 default samples as a grid PNG here")
    args = ap.parse_args(argv)
    name, params, hidden = CASES[args.case]
    hidden = args.hidden or hidden
    data = load_builtin(name, params)
    training = {"seed": args.seed, **json.loads(args.training)}
    opts = TrainingOptions(**training).model_dump()
    run = build_run(ModelSpec(n_hidden=hidden).model_dump(), opts, data.train, data.test, torch.device("cpu"))
    t0 = time.perf_counter()
    history: list[dict] = []
    run.trainer.fit(lambda epoch, metrics: history.append(metrics) or None)
    train_s = time.perf_counter() - t0
    model = run.model
    cfg = run.trainer.config
    train_t = torch.from_numpy(np.asarray(data.train, dtype=np.float32))
    test_t = None if data.test is None else torch.from_numpy(np.asarray(data.test, dtype=np.float32))
    sub = lambda t, n: None if t is None else t[torch.randperm(t.shape[0], generator=torch.Generator().manual_seed(1))[:n]]  # noqa: E731
    ev = evaluate_model(model, sub(train_t, 5000), sub(test_t, 5000), chains=run.trainer.persistent_chains(),
                        budget_seconds=args.eval_seconds or evaluation_budget(run.trainer, Settings()), seed=args.seed)
    out: dict = {"case": args.case, "hidden": hidden, "training": training,
                 "resolved": {"method": cfg.method, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
                              "n_chains": cfg.n_chains, "n_replicas": cfg.n_replicas, "k": cfg.k},
                 "train_seconds": round(train_s, 1),
                 "swap_min_per_epoch": [round(m["pt_swap_acceptance_min"], 4) for m in history
                                        if "pt_swap_acceptance_min" in m],
                 "evaluation": {k: v for k, v in ev.to_metrics().items()}}
    n = {"bas": 1000, "digits": 500, "mnist16": 500, "mnist500": 500}.get(args.case, 5000)
    samples, info = default_samples(model, ev.chains, n, args.seed, base=ev.base)  # as stored by the runner
    out["default_samples"] = info
    if args.save:
        torch.save({"model": model, "chains": ev.chains, "base": ev.base}, args.save)
    short = default_samples(model, ev.chains, 64, args.seed, base=ev.base, sampler="gibbs", steps=2)[1]
    out["short_gibbs_steps2"] = {k: short[k] for k in ("sampler", "steps", "equilibrated", "rhat", "tau")}
    s = samples.numpy()
    out["free_energy_default_samples"] = float(free_energy_chunked(model, samples).double().mean())
    if args.case == "bas":
        out["exact_ll"] = float(-free_energy_chunked(model, train_t).double().mean()) - exact_log_partition(model)
        out["default_samples"].update(bas_check(s))
        pt, pinfo = default_samples(model, None, 1000, args.seed, base=ev.base, sampler="pt")
        out["pt_samples"] = {**pinfo, **bas_check(pt.numpy())}
    elif args.case.startswith("ising"):
        out["ising"] = ising_check(model, ev, s, ISING_T[args.case], args.seed)
    elif args.case in ("digits", "mnist500"):
        x, y = data.train, data.labels
        if args.case == "mnist500":
            pick = np.random.default_rng(0).permutation(len(x))[:20000]
            x, y = x[pick], y[pick]
            ref = data.test[:500]
        else:
            ref = data.train[np.random.default_rng(1).permutation(len(x))[:500]]
        out["classifier"] = classifier_check(x, y, s, ref)
        if args.png:
            from app.pictures.render import grid_png

            side = int(round(s.shape[1] ** 0.5))
            Path(args.png).write_bytes(grid_png(s[:64].reshape(-1, side, side)))
    if args.case == "mnist16":
        out["exact_test_ll"] = float(-free_energy_chunked(model, test_t).double().mean()) - exact_log_partition(model)
    out["machine"] = machine()
    print(json.dumps(out), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "equilibrium.jsonl", "a") as f:
        f.write(json.dumps(out) + "\n")
    return out


if __name__ == "__main__":
    main()
