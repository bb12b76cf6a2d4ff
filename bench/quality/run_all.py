"""Run the four quality benchmarks and print measured vs published in one table.

    .venv/bin/python bench/quality/run_all.py            # all four, ~25 min on 2 cores
    .venv/bin/python bench/quality/run_all.py --only 1,3 # a subset

(1) MNIST 784x16 PCD, exact test LL   (2) MNIST 784x500 PCD, AIS test LL
(3) Ising L=8 energy vs Kaufman       (4) Ising L=4 exact KL(Boltzmann || model)
Results also go to bench/results/*.json; the specific-heat plot to bench/results/ising_L8_specific_heat.png.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ising_quality  # noqa: E402
import mnist_large  # noqa: E402
import mnist_small  # noqa: E402
from common import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="1,2,3,4")
    ap.add_argument("--small-args", default="", help="extra arguments for mnist_small.py, e.g. '--epochs 100'")
    ap.add_argument("--large-args", default="", help="extra arguments for mnist_large.py")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    rows: list[tuple[str, str, str, str]] = []
    if "1" in parts:
        r = mnist_small.main(args.small_args.split())
        rows.append(("(1) MNIST 784x16 PCD, exact test LL", f"{r['test_ll']:.2f}",
                     "PyDeep -149.05 plain / -142.56 centred; goal -135",
                     "yes" if r["test_ll"] >= r["goal"] else f"no ({r['test_ll'] - r['goal']:+.2f})"))
    if "2" in parts:
        r = mnist_large.main(args.large_args.split())
        rows.append(("(2) MNIST 784x500 PCD, AIS test LL fwd / rev", f"{r['test_ll_forward']:.2f} / {r['test_ll_reverse']:.2f}",
                     "S&M 2008 CD25: -86.34", "yes" if r["test_ll_reverse"] >= -86.34 else
                     f"no ({r['test_ll_reverse'] + 86.34:+.2f}) in {r['train_seconds']:.0f} s"))
    if "3" in parts or "4" in parts:
        r = ising_quality.main(["--part", "both" if {"3", "4"} <= parts else ("3" if "3" in parts else "4")])
        for x in r.get("ising_L8", []):
            rows.append((f"(3) Ising L=8 T={x['T']:.3f} energy/site", f"{x['energy_model']:.4f}",
                         f"Kaufman {x['energy_kaufman']:.4f} (within {x['tolerance']:.0%})",
                         f"{'yes' if x['pass'] else 'no'} ({x['energy_rel_error']:.2%})"))
        for x in r.get("ising_L4_kl", []):
            rows.append((f"(4) Ising L=4 T={x['T']:.3f} KL(Boltzmann||model)", f"{x['kl']:.4f}", "< 0.05",
                         "yes" if x["pass"] else "no"))
    print(f"\n{datetime.date.today()}  {machine()}")
    widths = [max(len(r[i]) for r in rows + [("benchmark", "measured", "published / goal", "met")]) for i in range(4)]
    for r in [("benchmark", "measured", "published / goal", "met")] + rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
