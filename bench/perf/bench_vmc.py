"""Goal 3 (issue 17): VMC TFIM N = 20 time to accuracy, NetKet's time over ours (>= 1).

Runs the VMC benchmark's own side-by-side (``bench/vmc/run.py --only netket``: the same TFIM
N = 20 RBM, alpha 1, SR, ~1,000 samples per step in both codes, ours and NetKet alternating,
NetKet in its own interpreter) as a subprocess and reads its JSON lines: the goal's ratio is
NetKet's best time to a relative error of 2e-4 over ours; the range is each repeat's own ratio.
NetKet's Python: ``--netket-python``, ``$NETKET_PYTHON``, or /work/nk-venv/bin/python. Without the
script or NetKet the goal prints as N/A ("not available").

    .venv/bin/python bench/perf/bench_vmc.py [--repeats 2] [--timeout 420]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

from _common import PY, ROOT, info, result

GOAL = "3 VMC TFIM N=20 time to rel. error 2e-4, NetKet / ours (>= 1)"
SCRIPT = ROOT / "bench" / "vmc" / "run.py"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=420)
    ap.add_argument("--script", type=Path, default=SCRIPT, help="the side-by-side script (bench/vmc/run.py)")
    ap.add_argument("--netket-python", default=os.environ.get("NETKET_PYTHON") or "/work/nk-venv/bin/python")
    args = ap.parse_args()
    if not args.script.exists():
        result(GOAL, float("nan"), 1.0, verdict="N/A", note=f"not available: no {args.script}")
        return
    if not Path(args.netket_python).exists():
        result(GOAL, float("nan"), 1.0, verdict="N/A", note=f"not available: no NetKet Python at {args.netket_python}")
        return
    cmd = [PY, str(args.script), "--only", "netket", "--netket-python", args.netket_python,
           "--repeats", str(args.repeats)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = f"timed out after {args.timeout:.0f} s"
    info("\n".join(out.splitlines()[-8:]) + ("\n" + err[-800:] if err else ""))
    recs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    ours = [r for r in recs if r.get("code") == "ours"]
    theirs = [r for r in recs if r.get("code") == "netket"]
    pairs = [(o.get("seconds_to_target"), t.get("seconds_to_target")) for o, t in zip(ours, theirs)]
    ok = [(o, t) for o, t in pairs if o and t]
    if not ok:
        result(GOAL, float("nan"), 1.0, verdict="N/A", note="not available: no repeat where both codes reached 2e-4",
               ours=ours, netket=theirs, stderr=err[-400:])
        return
    best_ours = min(o for o, _ in ok)
    best_nk = min(t for _, t in ok)
    result(GOAL, best_nk / best_ours, 1.0, runs=[t / o for o, t in ok], ours_s=round(best_ours, 2),
           netket_s=round(best_nk, 2), ours_iterations=[o.get("iterations_to_target") for o in ours],
           netket_iterations=[t.get("iterations_to_target") for t in theirs],
           netket_version=theirs[0].get("version"))


if __name__ == "__main__":
    main()
