"""Run every performance benchmark and print each goal with its ratio, its range over the runs and
PASS/FAIL (issue 17; round-one goals that still apply are kept, prefixed ``r1``).

    .venv/bin/python bench/perf/run_all.py [--quick | --smoke] [--skip vmc,inference] [--gpu-note TEXT]

Each benchmark runs in its own process (a fresh torch, no shared caches) with a timeout; the
whole run takes ~10 minutes on an idle 2-core box. Every ratio is against a baseline measured in
the same run, interleaved (A B A B ...), best of each side; "range" is the spread of the ratios of
the single rounds. ``--quick`` uses fewer rounds, epochs and betas (to try the scripts, not for
the record). Results go to bench/perf/latest.json and, as a Markdown table, bench/perf/latest.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime, UTC
from pathlib import Path

from _common import machine, spread

HERE = Path(__file__).resolve().parent


#: ``--smoke``: every script on tiny sizes (seconds each), to check the scripts, never for the record.
SMOKE = {
    "training": ["--rows", "1000", "--epochs", "1", "--rounds", "1"],
    "sampling": ["--rounds", "1", "--chains", "100", "--sweeps", "5", "--pt-chains", "8", "--pt-replicas", "4"],
    "estimate": ["--betas", "100", "--rounds", "1"],
    "partition": ["--skip-24"],
}


def benches(quick: bool, gpu_note: str, smoke: bool = False) -> list[tuple[str, list[str], int]]:
    """(name, command, timeout seconds), in the order they run (training first, while the box is freshest)."""
    q = quick
    if smoke:
        return [(n, [f"bench_{n}.py", *a], 300) for n, a in SMOKE.items()] + \
            [("gpu", ["bench_gpu.py", "--note", gpu_note] if gpu_note else ["bench_gpu.py"], 120)]
    return [
        ("training", ["bench_training.py"] + (["--epochs", "3", "--rounds", "2"] if q else []), 540),
        ("sampling", ["bench_sampling.py"] + (["--rounds", "2"] if q else []), 240),
        ("estimate", ["bench_estimate.py"] + (["--betas", "1000", "--rounds", "2"] if q else []), 300),
        ("vmc", ["bench_vmc.py", "--repeats", "1" if q else "2", "--timeout", "300" if q else "420"], 450),
        ("partition", ["bench_partition.py"] + (["--skip-24"] if q else []), 150),
        ("inference", ["bench_inference.py"], 240),
        ("gpu", ["bench_gpu.py", "--note", gpu_note] if gpu_note else ["bench_gpu.py"], 120),
    ]


def verdict(r: dict) -> str:
    if r.get("verdict"):
        return str(r["verdict"])
    if r["target"] in (float("inf"), "inf", "Infinity"):
        return "REPORT"
    return "PASS" if r["pass"] else "FAIL"


def target_text(r: dict) -> str:
    if verdict(r) in ("REPORT", "ERROR") or r["target"] in (float("inf"), "inf", ""):
        return ""
    return f"{'>=' if r.get('higher_is_better', True) else '<='} {r['target']}"


def measured_text(r: dict) -> str:
    m = r["measured"]
    if isinstance(m, float) and math.isnan(m):
        return "n/a"
    unit = r.get("unit", "ratio")
    return f"{m:.3g}{'' if unit == 'ratio' else ' ' + unit}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, to check the scripts (skips vmc, inference)")
    ap.add_argument("--skip", default="", help="comma-separated bench names: " + ",".join(
        n for n, _, _ in benches(False, "")))
    ap.add_argument("--gpu-note", default="", help="what the device tool's status said (printed with goal 5)")
    ap.add_argument("--args", action="append", default=[], metavar="NAME=ARGS",
                    help='replace one script\'s arguments, e.g. --args training="--methods pt --epochs 2"')
    ap.add_argument("--append", action="store_true", help="add to bench/perf/latest.json (replacing the rows of "
                    "the scripts run now) instead of starting a new record")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    override = dict(a.split("=", 1) for a in args.args)
    rows: list[dict] = []
    t0 = time.time()
    ran: list[str] = []
    for name, cmd, timeout in benches(args.quick, args.gpu_note, args.smoke):
        if name in skip:
            continue
        if name in override:
            cmd = [cmd[0], *shlex.split(override[name])]
        ran.append(cmd[0])
        print(f"== {' '.join(cmd)}", file=sys.stderr, flush=True)
        started = time.time()
        # its own process group: on a timeout the services it started (serve + worker) go with it,
        # instead of training on in the background through the next benchmark
        proc = subprocess.Popen([sys.executable, *cmd], cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            failed = proc.returncode != 0
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            err = (err or "") + f"\ntimed out after {timeout} s"
            failed = True
        sys.stderr.write("\n".join(err.splitlines()[-14:]) + f"\n   ({time.time() - started:.0f} s)\n")
        got = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        if failed:
            got.append({"goal": f"{cmd[0]}: did not finish", "measured": float("nan"), "target": "", "unit": "",
                        "pass": False, "verdict": "ERROR", "detail": {"error": err[-1500:]}})
        for r in got:
            r["script"], r["args"] = cmd[0], " ".join(cmd[1:])
        rows.extend(got)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = f"Performance goals, {stamp}, {machine()} ({time.time() - t0:.0f} s)"
    when = stamp
    if args.append and (HERE / "latest.json").exists():
        # a row of the earlier record is replaced by the new row of the same goal, in place; a
        # "did not finish" row of a script run again is dropped
        before = json.loads((HERE / "latest.json").read_text())
        new = {r["goal"]: r for r in rows}
        merged = [new.pop(r["goal"], r) for r in before["results"]
                  if not (r["goal"].endswith("did not finish") and r["goal"].split(":")[0] in ran)]
        rows = merged + list(new.values())
        when = f"{before['when']} + {stamp}"
        head = f"Performance goals, {when} ({', '.join(ran)} again), {machine()}"
    print(f"\n{head}\n")
    width = max(len(r["goal"]) for r in rows) if rows else 40
    print(f"{'goal':<{width}}  {'measured':>10}  {'range':>11}  {'target':>8}  result")
    md = [f"{head}", "", "| goal | measured | range over rounds | target | result |", "|---|---|---|---|---|"]
    for r in rows:
        rng = spread(r.get("runs") or [])
        print(f"{r['goal']:<{width}}  {measured_text(r):>10}  {rng:>11}  {target_text(r):>8}  {verdict(r)}")
        md.append(f"| {r['goal']} | {measured_text(r)} | {rng} | {target_text(r)} | {verdict(r)} |")
    if args.smoke:  # never overwrite the record with a smoke run
        return 0
    record = {"when": when, "machine": machine(), "quick": args.quick, "results": rows}
    (HERE / "latest.json").write_text(json.dumps(record, indent=1, default=str))
    (HERE / "latest.md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
