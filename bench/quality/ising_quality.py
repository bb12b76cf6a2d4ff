"""Ising quality: RBMs trained on built-in 'ising' data reproduce exact thermodynamics.

(3) L = 8 at T in {1.5, 2.0, T_c, 2.5, 3.0}: the model's energy per site (from its own
    Gibbs samples) within 1 % of Kaufman's exact finite-lattice value (3 % at T_c), and the
    specific heat against Kaufman's exact curve (PNG in bench/results/).
(4) L = 4: exact KL(Boltzmann || model) over all 2^16 states below 0.05 nats at each T.

Training is a job with the API defaults except the options given below; sampling and
observables are the same calls POST /v1/models/{id}/ising-observables makes.

    .venv/bin/python bench/quality/ising_quality.py [--part 3|4|both] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, load, machine, timer, train_like_a_job  # noqa: E402

from app.ising.service import chain_major  # noqa: E402
from app.physics import T_CRITICAL, enumerate_boltzmann, ising_observables, kaufman, onsager  # noqa: E402
from app.rbm.likelihood import kl_divergence  # noqa: E402
from app.rbm.sampling import draw_samples  # noqa: E402

TEMPS = [1.5, 2.0, T_CRITICAL, 2.5, 3.0]
#: job options used here; everything else is the API default
#: L=8: more data (60k configurations) with momentum 0.9 and no weight decay is what brings the
#: energy within 1 % at T >= 2 (20k configurations, momentum 0.5, decay 1e-4: 1-3 % too disordered)
L8_JOB = {"model": {"n_hidden": 64}, "training": {"method": "cd", "k": 5, "epochs": 60, "lr_schedule": "cosine",
                                                  "momentum": 0.9, "weight_decay": 0.0, "seed": 0}}
L8_DATA = {"n_samples": 60000, "seed": 1}
#: L=4 pins the constant schedule it was tuned with: with the API default cosine (since 2026-11-28)
#: KL at T=2.0 / T_c rises to 0.061 / 0.041 (constant: 0.037 / 0.018)
L4_JOB = {"model": {"n_hidden": 32}, "training": {"method": "cd", "k": 5, "epochs": 30, "lr_schedule": "constant", "seed": 0}}
L4_DATA = {"n_samples": 50000, "seed": 1}
#: model sampling for (3): 1000 chains, 2000 burn-in sweeps, 50 rounds 5 sweeps apart -> energy error ~0.2 %
SAMPLING = {"n_samples": 50000, "n_chains": 1000, "steps": 2000, "thin": 5}


def model_observables(model, L: int, T: float, seed: int = 0, **sampling) -> dict:
    """Per-site observables with error bars from block-Gibbs samples of ``model``."""
    s = {**SAMPLING, **sampling}
    g = torch.Generator().manual_seed(seed)
    res = draw_samples(model, n_samples=s["n_samples"], steps=s["steps"], thin=s["thin"], n_chains=s["n_chains"],
                       generator=g)
    spins = res.samples.numpy().round().astype(np.uint8)
    return ising_observables(chain_major(spins, s["n_chains"]), L, T)


def part3(quick: bool) -> list[dict]:
    rows = []
    for T in TEMPS:
        t = timer()
        train, _, _ = load("ising", {"L": 8, "T": T, **L8_DATA})
        job = json.loads(json.dumps(L8_JOB))
        if quick:
            job["training"]["epochs"] = 10
        model, _, secs = train_like_a_job(train, job["model"], job["training"])
        obs = model_observables(model, 8, T, **({"steps": 500, "n_samples": 5000} if quick else {}))
        kf, data_obs = kaufman(8, T), ising_observables(train, 8, T)
        tol = 0.03 if abs(T - T_CRITICAL) < 1e-6 else 0.01
        rel = abs(obs["energy_per_site"] / kf["energy_per_site"] - 1)
        rows.append({
            "T": T, "train_seconds": secs, "total_seconds": t(),
            "energy_model": obs["energy_per_site"], "energy_model_error": obs["energy_per_site_error"],
            "energy_data": data_obs["energy_per_site"], "energy_kaufman": kf["energy_per_site"],
            "energy_rel_error": rel, "energy_rel_error_sigma": obs["energy_per_site_error"] / abs(kf["energy_per_site"]),
            "tolerance": tol, "pass": rel <= tol,
            "heat_model": obs["specific_heat_per_site"], "heat_model_error": obs["specific_heat_per_site_error"],
            "heat_data": data_obs["specific_heat_per_site"], "heat_kaufman": kf["specific_heat_per_site"],
            "absm_model": obs["abs_magnetization_per_site"], "absm_data": data_obs["abs_magnetization_per_site"],
        })
        print(json.dumps(rows[-1]), flush=True)
    plot_heat(rows)
    return rows


def plot_heat(rows: list[dict]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = np.linspace(1.2, 3.4, 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ts, [kaufman(8, t)["specific_heat_per_site"] for t in ts], "k-", label="exact, L=8 (Kaufman)")
    ax.plot(ts, [min(onsager(t)["specific_heat_per_site"], 5) for t in ts], "k:", lw=1, label="exact, L=∞ (Onsager)")
    T = [r["T"] for r in rows]
    ax.errorbar(T, [r["heat_model"] for r in rows], yerr=[r["heat_model_error"] for r in rows], fmt="o",
                color="C3", capsize=3, label="RBM samples (64 hidden)")
    ax.plot(T, [r["heat_data"] for r in rows], "x", color="C0", label="training data (MC)")
    ax.axvline(T_CRITICAL, color="grey", lw=0.5)
    ax.set(xlabel="T", ylabel="specific heat per site", title="2D Ising L=8: RBM vs exact", ylim=(0, 2.2))
    ax.legend(fontsize=8)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "ising_L8_specific_heat.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def part4(quick: bool) -> list[dict]:
    rows = []
    for T in TEMPS:
        t = timer()
        train, _, _ = load("ising", {"L": 4, "T": T, **L4_DATA})
        job = json.loads(json.dumps(L4_JOB))
        if quick:
            job["training"]["epochs"] = 10
        model, _, secs = train_like_a_job(train, job["model"], job["training"])
        exact = enumerate_boltzmann(4, T)
        p = torch.from_numpy(np.exp(exact["log_probs"]))
        kl = kl_divergence(p / p.sum(), model.to(dtype=torch.float64))
        # the data's own KL floor: KL(Boltzmann || empirical) is infinite when states are missing,
        # so report KL(empirical || Boltzmann) as a measure of sampling noise instead
        idx = (train.astype(np.int64) @ (1 << np.arange(15, -1, -1))).astype(np.int64)
        emp = np.bincount(idx, minlength=1 << 16) / len(idx)
        nz = emp > 0
        kl_emp = float(emp[nz] @ (np.log(emp[nz]) - exact["log_probs"][nz]))
        rows.append({"T": T, "kl": kl, "pass": kl < 0.05, "kl_empirical_vs_exact": kl_emp,
                     "train_seconds": secs, "total_seconds": t()})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["3", "4", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="10 epochs, short sampling: a smoke run, not the benchmark")
    args = ap.parse_args(argv)
    out: dict = {"machine": machine()}
    if args.part in ("3", "both"):
        out["ising_L8"] = part3(args.quick)
    if args.part in ("4", "both"):
        out["ising_L4_kl"] = part4(args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"ising_part{args.part}{'_quick' if args.quick else ''}.json").write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
