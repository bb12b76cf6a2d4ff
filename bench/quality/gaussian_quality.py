"""Gaussian-binary RBMs on real-valued data with the service's defaults (issue 18).

One run prints, on the same split:

* dequantised 8x8 digits (``binarize: none, dequantize: true``, 20 % test split), visible
  ``gaussian``, 16 hidden, every training option at its default (``standardize: whiten``): the
  exact test log-likelihood in the data's units (log Z by enumerating the 2^16 hidden states,
  Jacobian of the standardisation included), beside the same with the diagonal standardisation
  (``standardize: true``), one full-covariance Gaussian and scikit-learn diagonal Gaussian
  mixtures with 16 and 64 components fitted in the same run;
* raw digits (``binarize: none``, no dequantisation: three constant pixels) with defaults: it must
  train without divergence (its "density" is not comparable: the data is discrete);
* with ``--mnist``: MNIST ``binarize: none`` (``--mnist-limit`` rows, default all 60,000), 64
  hidden, defaults: no divergence, and ``samples.png`` / ``means.png`` / ``pt_samples.png`` written
  to ``--out`` (1,000 Gibbs sweeps from random starts in the data's units, the noise-free means
  E[v|h] of their last hidden state, and 1,000 parallel-tempering sweeps started from data rows).

    .venv/bin/python bench/quality/gaussian_quality.py [--mnist] [--out bench/results/gaussian]
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

from bench.quality.common import RESULTS, load, machine, train_like_a_job  # noqa: E402
from app.rbm.model import RBM  # noqa: E402
from app.rbm.partition import exact_log_partition  # noqa: E402


def exact_log_likelihood(model: RBM, x: np.ndarray) -> float:
    """Mean exact ``log p(x)`` in nats, in the data's units."""
    log_z = exact_log_partition(model)
    with torch.no_grad():
        return float((-model.free_energy(torch.from_numpy(x).to(model.dtype)) - log_z).mean())


def baselines(train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Mean test log-density of one full-covariance Gaussian and diagonal GMMs (16, 64)."""
    from sklearn.mixture import GaussianMixture

    out = {}
    x64, t64 = train.astype(np.float64), test.astype(np.float64)
    for name, k, cov in (("gaussian_full_cov", 1, "full"), ("gmm_diag_16", 16, "diag"), ("gmm_diag_64", 64, "diag")):
        gm = GaussianMixture(k, covariance_type=cov, random_state=0, max_iter=500).fit(x64)
        out[name] = float(gm.score(t64))
    return out


def digits_runs() -> dict:
    train, test, _ = load("digits", {"binarize": "none", "dequantize": True, "test_fraction": 0.2})
    started = time.perf_counter()
    model, history, seconds = train_like_a_job(train, {"visible": "gaussian", "n_hidden": 16})
    wall = time.perf_counter() - started
    diag, diag_history, diag_seconds = train_like_a_job(train, {"visible": "gaussian", "n_hidden": 16,
                                                                "standardize": True})
    result = {
        "digits_dequantized": {
            "whitened": bool(getattr(model, "whitened", False)),
            "rbm_test_ll": exact_log_likelihood(model, test),
            "rbm_train_ll": exact_log_likelihood(model, train),
            "epochs": len(history),
            "train_seconds": seconds,
            "wall_seconds": wall,
            "diagonal_test_ll": exact_log_likelihood(diag, test),
            "diagonal_train_ll": exact_log_likelihood(diag, train),
            "diagonal_train_seconds": diag_seconds,
            **baselines(train, test),
        }
    }
    raw_train, raw_test, _ = load("digits", {"binarize": "none", "test_fraction": 0.2})
    raw, raw_history, _ = train_like_a_job(raw_train, {"visible": "gaussian", "n_hidden": 16})
    result["digits_raw"] = {
        "constant_pixels": int((raw_train.std(axis=0) == 0).sum()),
        "finite": all(bool(torch.isfinite(t).all()) for t in raw.parameters().values()),
        "epochs": len(raw_history),
        "test_ll_not_a_density_of_discrete_data": exact_log_likelihood(raw, raw_test),
    }
    return result


def mnist_run(limit: int | None, out: Path) -> dict:
    from app.pictures.render import grid_png
    from app.rbm.sampling import GibbsChains, draw_samples
    from app.rbm.tempering import TemperedChains, base_from_data, default_betas

    train, _, _ = load("mnist", {"binarize": "none", **({"limit": limit} if limit else {})})
    model, history, seconds = train_like_a_job(train, {"visible": "gaussian", "n_hidden": 64})
    g = torch.Generator().manual_seed(0)
    samples = draw_samples(model, n_samples=36, steps=1000, generator=g).samples
    inner = model.in_basis()  # the chains run where the tensors are (a whitened model's rotated axes)
    chains = GibbsChains(inner, 36, generator=g)
    chains.v.copy_(model.to_basis(samples))
    chains.hidden_probs()
    chains.sample_hidden()
    means = model.visible_mean(chains.h)
    # as the sampling service's "auto" does: parallel tempering (16 replicas, evenly spaced betas
    # down to the data's base rate), here started from training rows instead of stored chains
    pt = TemperedChains(inner, 36, default_betas(16), generator=g, base=base_from_data(model, torch.from_numpy(train)))
    pt.set_state(model.to_basis(torch.from_numpy(train[np.random.default_rng(0).choice(len(train), 36, replace=False)])))
    for _ in range(1000):
        pt.sweep()
    pt_state = model.from_basis(pt.state)
    out.mkdir(parents=True, exist_ok=True)
    (out / "samples.png").write_bytes(grid_png(samples.numpy().reshape(-1, 28, 28), scaling="none"))
    (out / "means.png").write_bytes(grid_png(means.numpy().reshape(-1, 28, 28), scaling="none"))
    (out / "pt_samples.png").write_bytes(grid_png(pt_state.numpy().reshape(-1, 28, 28), scaling="none"))
    return {"mnist": {"rows": int(train.shape[0]), "epochs": len(history), "train_seconds": seconds,
                      "whitened": bool(getattr(model, "whitened", False)),
                      "finite": all(bool(torch.isfinite(t).all()) for t in model.parameters().values()),
                      "last_metrics": {k: round(v, 4) for k, v in history[-1].items()},
                      "pt_swap_acceptance": [round(a, 3) for a in pt.swap_acceptance],
                      "pictures": str(out)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", action="store_true", help="also train MNIST binarize=none (minutes)")
    parser.add_argument("--mnist-limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "gaussian")
    parser.add_argument("--skip-digits", action="store_true", help="only the MNIST part")
    args = parser.parse_args()
    torch.manual_seed(0)
    result = {"machine": machine(), **({} if args.skip_digits else digits_runs())}
    if args.mnist:
        result.update(mnist_run(args.mnist_limit, args.out))
    if args.skip_digits:
        print(json.dumps(result, indent=2))
        return
    d = result["digits_dequantized"]
    print(f"dequantised digits, 16 hidden, defaults (whitened: {d['whitened']}; {d['epochs']} epochs, "
          f"{d['train_seconds']:.0f} s): exact test LL {d['rbm_test_ll']:.2f} nats (train {d['rbm_train_ll']:.2f})")
    print(f"  diagonal standardisation (standardize: true): test {d['diagonal_test_ll']:.2f} "
          f"(train {d['diagonal_train_ll']:.2f})")
    print(f"  baselines, same split: full-cov Gaussian {d['gaussian_full_cov']:.2f}, "
          f"GMM diag 16 {d['gmm_diag_16']:.2f}, GMM diag 64 {d['gmm_diag_64']:.2f}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
