"""The done-when table of issue 13 (VMC) and the TFIM side-by-side with NetKet.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/vmc/run.py              # everything (~15 min busy host)
    .venv/bin/python bench/vmc/run.py --only trap,tfim                         # some rows
    .venv/bin/python bench/vmc/run.py --only netket --netket-python /path/to/venv/bin/python

Every row uses the job defaults (app/vmc/config.py) with only the system, the seed and, where
the issue says so, the model option; the final energy is ``VMC.evaluate`` (its default
eval_samples: 100,000 for traps, 50,000 for chains). Seconds include sampling, optimisation
and the evaluation.

The NetKet comparison runs the same TFIM N = 20 RBM (alpha 1, real parameters, SR with the same
learning rate and diagonal shift, ~1,000 samples per step) in both codes and reports the wall
time until each code's own per-iteration energy estimate first lies within 2e-4 of the exact
energy; NetKet runs in its own interpreter (bench/vmc/netket_tfim.py), the runs alternate
ours/NetKet and the best of each is kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.vmc.driver import VMC  # noqa: E402

TRAP = {"type": "harmonic_trap", "n_particles": 2, "dim": 2, "omega": 1.0}
ROWS = {
    "bosons": ("2 bosons, 2D, w=1, no interaction", {**TRAP, "interaction": "none"}, None,
               lambda ev: abs(ev.energy - 2.0) <= 1e-4 and ev.variance < 1e-6, "|E-2| <= 1e-4, var ~ 0"),
    "electrons": ("2 electrons, 2D, w=1, Coulomb, plain RBM", {**TRAP, "interaction": "coulomb"}, None,
                  lambda ev: ev.energy <= 3.08 and ev.energy >= 3.0 - ev.energy_error, "3.0 <= E <= 3.08"),
    "jastrow": ("2 electrons, 2D, w=1, Coulomb, RBM x Pade-Jastrow", {**TRAP, "interaction": "coulomb"},
                {"jastrow": True}, lambda ev: abs(ev.energy - 3.0) <= 0.005 and ev.energy >= 3.0 - ev.energy_error,
                "|E-3| <= 0.005, E >= 3 - err"),
    "tfim": ("TFIM N=20, h=J=1, PBC", {"type": "tfim", "n_spins": 20, "h": 1.0, "J": 1.0}, None,
             lambda ev: ev.relative_error <= 1e-4, "rel <= 1e-4 in <= 300 s"),
    "heisenberg": ("Heisenberg N=16, J=1, PBC (Marshall)", {"type": "heisenberg", "n_spins": 16, "J": 1.0}, None,
                   lambda ev: ev.relative_error <= 1e-3, "rel <= 1e-3"),
}
EXACT_TFIM20 = -2 / math.sin(math.pi / 40)


def done_when_row(key: str, seed: int) -> dict:
    label, system, model, ok, goal = ROWS[key]
    t0 = time.perf_counter()
    vmc = VMC(system, model, {"seed": seed})
    vmc.run()
    t1 = time.perf_counter()
    ev = vmc.evaluate()
    t2 = time.perf_counter()
    passed = ok(ev) and (key != "tfim" or t2 - t0 <= 300)
    return {"row": label, "energy": ev.energy, "error": ev.energy_error, "variance": ev.variance,
            "exact": ev.exact_energy, "relative_error": ev.relative_error, "n_eval": ev.n_samples,
            "train_s": t1 - t0, "total_s": t2 - t0, "goal": goal, "pass": passed,
            "iterations": vmc.config.iterations, "n_samples": vmc.config.n_samples}


def ours_time_to_target(target: float, lr: float, shift: float, seed: int, max_iter: int = 400) -> dict:
    t0 = time.perf_counter()
    vmc = VMC({"type": "tfim", "n_spins": 20, "h": 1.0, "J": 1.0}, {"alpha": 1},
              {"n_samples": 1000, "n_chains": 100, "optimizer": "sr", "learning_rate": lr, "sr_shift": shift,
               "seed": seed, "iterations": max_iter})
    hit: dict = {}
    first: list[float] = []

    def cb(rec: dict) -> bool:
        if not first:
            first.append(time.perf_counter() - t0)
        if abs(rec["energy"] - EXACT_TFIM20) / abs(EXACT_TFIM20) <= target:
            hit.update(iteration=rec["iteration"], seconds=time.perf_counter() - t0, energy=rec["energy"])
            return False
        return True

    vmc.run(callback=cb)
    return {"code": "ours", "iterations_to_target": hit.get("iteration"), "seconds_to_target": hit.get("seconds"),
            "last_energy": hit.get("energy"), "t_first_iter_s": first[0] if first else None,
            "samples_per_step": 1000, "lr": lr, "shift": shift}


def netket_time_to_target(python: str, target: float, lr: float, shift: float, seed: int) -> dict:
    script = Path(__file__).with_name("netket_tfim.py")
    out = subprocess.run([python, str(script), "--lr", str(lr), "--shift", str(shift), "--target", str(target),
                          "--seed", str(seed)], capture_output=True, text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"code": "netket", "error": (out.stderr or out.stdout)[-500:]}
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="bosons,electrons,jastrow,tfim,heisenberg,netket")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--netket-python", default=os.environ.get("NETKET_PYTHON"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--shift", type=float, default=0.01)
    a = ap.parse_args()
    keys = a.only.split(",")
    print(f"# host: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; torch threads "
          f"{__import__('torch').get_num_threads()}", flush=True)
    print("| system | energy | error | variance | exact | rel. error | goal | pass | train s | total s |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for key in keys:
        if key in ROWS:
            r = done_when_row(key, a.seed)
            rel = "-" if r["relative_error"] is None else f"{r['relative_error']:.2e}"
            print(f"| {r['row']} | {r['energy']:.6f} | {r['error']:.1e} | {r['variance']:.2e} | {r['exact']} | {rel} "
                  f"| {r['goal']} | {'PASS' if r['pass'] else 'FAIL'} | {r['train_s']:.1f} | {r['total_s']:.1f} |",
                  flush=True)
    if "netket" in keys:
        print(f"\n# TFIM N=20, alpha=1, SR (lr {a.lr:g}, shift {a.shift:g}), ~1000 samples/step: "
              "seconds to rel. error 2e-4")
        ours, theirs = [], []
        for rep in range(a.repeats):
            ours.append(ours_time_to_target(2e-4, a.lr, a.shift, a.seed + rep))
            print(json.dumps(ours[-1]), flush=True)
            if a.netket_python:
                theirs.append(netket_time_to_target(a.netket_python, 2e-4, a.lr, a.shift, a.seed + rep))
                print(json.dumps(theirs[-1]), flush=True)
        best = min((o["seconds_to_target"] for o in ours if o["seconds_to_target"]), default=None)
        nk = [t["seconds_to_target"] for t in theirs if t.get("seconds_to_target")]
        nk_best = min(nk, default=None)
        def steady(runs: list) -> float | None:  # seconds to target after the first iteration (JIT, set-up)
            return min((r["seconds_to_target"] - r["t_first_iter_s"] for r in runs if r.get("seconds_to_target")),
                       default=None)

        print(f"after the first iteration: best ours {steady(ours)}  best NetKet {steady(theirs)}")
        print(f"best ours: {best}  best NetKet: {nk_best}  ratio NetKet/ours: "
              f"{(nk_best / best) if best and nk_best else 'n/a'}"
              + ("" if a.netket_python else "  (NetKet not run: pass --netket-python)"), flush=True)


if __name__ == "__main__":
    main()
