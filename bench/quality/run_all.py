"""Run the four quality benchmarks and print one table, measured vs published.

    nice -n 19 .venv/bin/python bench/quality/run_all.py            # all four, each part < ~10 min on 2 cores
    nice -n 19 .venv/bin/python bench/quality/run_all.py --only 1,3 # a subset

(1) MNIST 784x16 PCD, exact test LL, service defaults   (2) MNIST 784x500 PCD, AIS test LL bracket
(3) Ising L=8 energy vs Kaufman                          (4) Ising L=4 exact KL(Boltzmann || model)
(5) issue 11, defaults only (equilibrium.py): bars-and-stripes LL and PT samples, MNIST 784x16 PCD, Ising
    L=8 PCD at T = 2.0 / 2.5 / T_c, MNIST 784x500 (AIS bracket, classifier on default samples); `--only 5`
Results also go to bench/results/*.json (the table to bench/results/quality_table.md); the
specific-heat plot to bench/results/ising_L8_specific_heat.png. A part that fails is reported as
such in the table and the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import equilibrium  # noqa: E402
import ising_quality  # noqa: E402
import mnist_large  # noqa: E402
import mnist_small  # noqa: E402
from common import RESULTS, machine  # noqa: E402

HEADER = ("benchmark", "measured", "published / goal", "met", "wall s")


def part1(args) -> list[tuple]:
    r = mnist_small.main(shlex.split(args.small_args))
    return [("(1) MNIST 784x16 PCD, service defaults, exact test LL", f"{r['test_ll']:.2f}",
             "PyDeep -149.05 plain / -142.56 centred; goal -135",
             "yes" if r["test_ll"] >= r["goal"] else f"no ({r['test_ll'] - r['goal']:+.2f})")]


def part2(args) -> list[tuple]:
    r = mnist_large.main(shlex.split(args.large_args))
    fwd, rev, pub = r["test_ll_forward"], r["test_ll_reverse"], -86.34
    lo, hi = min(fwd, rev), max(fwd, rev)
    met = "yes" if lo >= pub else ("bracket straddles it" if hi >= pub else f"no (by {pub - hi:.2f} at best)")
    return [(f"(2) MNIST 784x500 PCD, AIS test LL fwd / rev ({r['train_seconds']:.0f} s training)",
             f"{fwd:.2f} / {rev:.2f}", "S&M 2008 CD25: -86.34", met)]


def part34(parts: set[str]) -> list[tuple]:
    which = "both" if {"3", "4"} <= parts else ("3" if "3" in parts else "4")
    r = ising_quality.main(["--part", which])
    rows = []
    for x in r.get("ising_L8", []):
        rows.append((f"(3) Ising L=8 T={x['T']:.3f} energy/site", f"{x['energy_model']:.4f} ± {x['energy_model_error']:.4f}",
                     f"Kaufman {x['energy_kaufman']:.4f} (within {x['tolerance']:.0%})",
                     f"{'yes' if x['pass'] else 'no'} ({x['energy_rel_error']:.2%})"))
    for x in r.get("ising_L4_kl", []):
        rows.append((f"(4) Ising L=4 T={x['T']:.3f} KL(Boltzmann‖model)", f"{x['kl']:.4f}", "< 0.05",
                     "yes" if x["pass"] else "no"))
    return rows


def part5() -> list[tuple]:
    """Issue 11's done-when rows with the API defaults (one equilibrium.py run per case)."""
    rows = []
    r = equilibrium.main(["bas"])
    pt = r["pt_samples"]
    rows.append(("(5) bars-and-stripes 4x4, 16 hidden, defaults: exact LL; pt samples valid / distinct",
                 f"{r['exact_ll']:.3f}; {pt['valid']:.1%} / {pt['distinct_valid']}", ">= -3.70; >= 95 % / 30",
                 "yes" if r["exact_ll"] >= -3.70 and pt["valid"] >= 0.95 and pt["distinct_valid"] == 30 else "no"))
    r = equilibrium.main(["mnist16", "--training", '{"method": "pcd"}'])
    rows.append(("(5) MNIST 784x16 PCD defaults, exact test LL", f"{r['exact_test_ll']:.2f}", ">= -135",
                 "yes" if r["exact_test_ll"] >= -135 else "no"))
    for case, tol in (("ising-2.0", 0.01), ("ising-2.5", 0.01), ("ising-tc", 0.03)):
        r = equilibrium.main([case, "--training", '{"method": "pcd"}'])
        x = r["ising"]
        rows.append((f"(5) Ising L=8 T={x['T']:.3f} PCD defaults, E/site", f"{x['energy_per_site']:.4f}",
                     f"Kaufman {x['kaufman']:.4f} (within {tol:.0%})",
                     f"{'yes' if x['rel_error'] <= tol else 'no'} ({x['rel_error']:.2%})"))
    r = equilibrium.main(["mnist500"])
    ev, c = r["evaluation"], r["classifier"]["samples"]
    fwd, rev = ev["final_ll_test"], ev["final_ll_test_reverse"]
    if fwd is None or rev is None:  # no valid bracket: the evaluation says why
        rows.append(("(5) MNIST 784x500 defaults, AIS test LL fwd / rev", "unreliable", ">= -88, within 2 nats",
                     f"no ({ev['final_ll_reason']})"))
    else:
        rows.append(("(5) MNIST 784x500 defaults, AIS test LL fwd / rev", f"{fwd:.2f} / {rev:.2f}",
                     ">= -88, within 2 nats",
                     "yes" if ev["final_ll_reliable"] and min(fwd, rev) >= -88 and abs(fwd - rev) <= 2 else "no"))
    ref = r["classifier"]["reference"]["on_pixels"]
    rows.append(("(5) MNIST 784x500 default samples: MLP >= 0.9 sure / smallest class / on-pixels",
                 f"{c['confident']:.1%} / {c['min_class_share']:.1%} / {c['on_pixels']:.0f}",
                 f">= 80 % / >= 3 % / within 15 % of {ref:.0f}",
                 "yes" if c["confident"] >= 0.8 and c["min_class_share"] >= 0.03
                 and abs(c["on_pixels"] - ref) <= 0.15 * ref else "no"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="1,2,3,4")
    ap.add_argument("--small-args", default="", help="extra arguments for mnist_small.py, e.g. '--epochs 100'")
    ap.add_argument("--large-args", default="", help="extra arguments for mnist_large.py, e.g. '--epochs 5'")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    rows: list[tuple] = []
    jobs = [("1", lambda: part1(args)), ("2", lambda: part2(args)), ("5", part5)]
    if parts & {"3", "4"}:
        jobs.append(("3/4", lambda: part34(parts)))
    for name, fn in jobs:
        if name != "3/4" and name not in parts:
            continue
        start = time.perf_counter()
        try:
            got = fn()
        except Exception as exc:  # keep going: one failing part must not hide the others
            traceback.print_exc()
            got = [(f"({name}) FAILED", type(exc).__name__, str(exc)[:60], "no")]
        wall = f"{time.perf_counter() - start:.0f}"
        rows += [(*row, wall if i == 0 else "") for i, row in enumerate(got)]
    lines = [f"{datetime.date.today()}  {machine()}", ""]
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("|" + "---|" * len(HEADER))
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality_table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
