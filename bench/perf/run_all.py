"""Run every performance benchmark and print each goal with its measured ratio and PASS/FAIL.

    .venv/bin/python bench/perf/run_all.py [--quick]

Each benchmark runs in its own process (a fresh torch, no shared caches) with a timeout; the
whole run takes 5-9 minutes on 2 cores. ``--quick`` shortens AIS and skips the 2^24 enumeration.
Results also go to bench/perf/latest.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import machine

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs = [
        ["bench_training.py"] + (["--epochs", "4", "--jobs", "2"] if args.quick else []),
        ["bench_sampling.py"],
        ["bench_inference.py"],
        ["bench_partition.py"] + (["--betas", "2000", "--skip-24"] if args.quick else []),
        ["bench_gpu.py"],
    ]
    rows: list[dict] = []
    t0 = time.time()
    for cmd in runs:
        print(f"== {' '.join(cmd)}", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run([sys.executable, *cmd], cwd=HERE, capture_output=True, text=True, timeout=300)
            out, err = proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = "timed out after 300 s"
        sys.stderr.write("\n".join(line for line in err.splitlines()[-8:]) + "\n")
        got = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        if not got:
            got = [{"goal": f"{cmd[0]} (no result)", "measured": float("nan"), "target": "", "unit": "",
                    "pass": False, "detail": {"error": err[-500:]}}]
        rows.extend(got)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nPerformance goals, {stamp}, {machine()} ({time.time() - t0:.0f} s)\n")
    print(f"{'goal':<74} {'measured':>10} {'target':>8}  result")
    for r in rows:
        reported = r["target"] in (float("inf"), "inf") or "reported" in r["goal"]
        verdict = "REPORT" if reported else ("PASS" if r["pass"] else "FAIL")
        target = "" if reported else f"{r['target']}"
        print(f"{r['goal']:<74} {r['measured']:>10} {target:>8}  {verdict}")
    (HERE / "latest.json").write_text(json.dumps({"when": stamp, "machine": machine(), "results": rows}, indent=1,
                                                 default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
