"""Shared helpers of the performance benchmarks (bench/perf/).

Every number these benchmarks report is a *ratio* against a baseline measured in the same run
(the machines are shared and noisy): a bare GEMM loop, scikit-learn, a bare FastAPI endpoint.
Baselines and candidates are interleaved and each keeps its best repetition, so a burst of
load from another process hurts both sides rather than one.

A benchmark prints one JSON object per goal on stdout, each line starting with ``RESULT ``;
``run_all.py`` collects them into the PASS/FAIL table.
"""

from __future__ import annotations

import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

N_ROWS, N_VISIBLE, N_HIDDEN, BATCH = 10_000, 784, 500, 100
#: FLOPs of one CD-1 example: five (1 x V x H) products (positive h, negative v, negative h,
#: and the two gradient outer products), 2 flops per multiply-add.
CD1_FLOPS = 5 * 2 * N_VISIBLE * N_HIDDEN


def result(goal: str, measured: float, target: float, unit: str = "ratio", higher_is_better: bool = True,
           runs: list[float] | None = None, verdict: str | None = None, **detail: Any) -> dict[str, Any]:
    """Print and return one goal line for run_all.py.

    ``measured`` is best against best (each side's best repetition); ``runs`` are the ratios of
    each interleaved round on its own (their spread is the "range" column). ``verdict`` overrides
    PASS/FAIL (``"N/A"``: not measurable here, ``"REPORT"``: no target).
    """
    ok = measured >= target if higher_is_better else measured <= target
    row = {"goal": goal, "measured": round(float(measured), 4), "target": target, "unit": unit,
           "higher_is_better": higher_is_better, "pass": bool(ok),
           "runs": None if runs is None else [round(float(r), 4) for r in runs], "verdict": verdict,
           "detail": detail}
    print("RESULT " + json.dumps(row, default=str), flush=True)
    return row


def info(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def binary_data(n: int = N_ROWS, v: int = N_VISIBLE, seed: int = 0, density: float = 0.2) -> np.ndarray:
    """A reproducible (n, v) float32 0/1 array with some structure (row-dependent densities)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.5 * density, 1.5 * density, size=(n, 1)) * rng.uniform(0.2, 1.8, size=(1, v))
    return (rng.random((n, v)) < np.clip(p, 0, 1)).astype(np.float32)


def best_of(fns: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, float]:
    """Run each ``fn`` ``repeats`` times, interleaved; keep the shortest wall time of each.

    A function may return its own elapsed time (to exclude setup); otherwise it is timed whole.
    """
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            own = fn()
            dt = own if own is not None else time.perf_counter() - t0
            best[name] = min(best[name], dt)
    return best


def gemm_only_epoch_seconds(data: Any, n_hidden: int = N_HIDDEN, batch: int = BATCH, k: int = 1, *,
                            method: str = "cd", n_chains: int | None = None, n_replicas: int = 1,
                            epochs: int = 1) -> float:
    """``epochs`` epochs of a bare GEMM-only loop doing the products of one training method, preallocated,
    no randomness, no elementwise work; returns the seconds.

    Per batch of ``batch`` data rows the positive ``h = v W``, then the negative phase, then the
    weight statistic ``v^T h - v_m^T h_m`` (two GEMMs into one buffer):

    * ``cd``: k times ``v' = h W^T``, ``h' = v' W`` on the batch's rows;
    * ``pcd``: on ``n_chains`` persistent rows ``h = v W``, then k times ``v = h W^T``, ``h = v W``;
    * ``pt``: k sweeps of ``h = v W``, ``v = h W^T`` over ``n_replicas x n_chains`` rows, then
      ``h = v W`` on the ``n_chains`` target rows.

    The chain-side products read fixed binary states and write separate outputs: raw products fed
    back as inputs shrink to denormals or grow to inf within a few steps, and the loop would then
    time special values (bench/README.md).
    """
    import torch

    if method not in ("cd", "pcd", "pt"):
        raise ValueError(f"method {method!r}")
    with torch.no_grad():
        x = torch.as_tensor(data)
        n, v_dim = x.shape
        g = torch.Generator().manual_seed(0)
        w = 0.01 * torch.randn(v_dim, n_hidden, generator=g)
        a, b = torch.zeros(v_dim), torch.zeros(n_hidden)
        chains = batch if method == "cd" else (n_chains or batch)
        rows = chains * (n_replicas if method == "pt" else 1)
        vs = (torch.rand(rows, v_dim, generator=g) < 0.2).float()
        hs = (torch.rand(rows, n_hidden, generator=g) < 0.5).float()
        pre_h, pre_v = torch.empty(rows, n_hidden), torch.empty(rows, v_dim)
        h0, grad = torch.empty(batch, n_hidden), torch.empty(v_dim, n_hidden)
        vm, hm = vs[:chains], hs[:chains]
        t0 = time.perf_counter()
        for _ in range(epochs):
            for lo in range(0, n - batch + 1, batch):
                v0 = x[lo:lo + batch]
                torch.addmm(b, v0, w, out=h0)
                if method == "pcd":
                    torch.addmm(b, vm, w, out=pre_h)
                if method == "pt":
                    for _ in range(k):
                        torch.addmm(b, vs, w, out=pre_h)
                        torch.addmm(a, hs, w.T, out=pre_v)
                    torch.addmm(b, vm, w, out=pre_h[:chains])
                else:
                    for _ in range(k):
                        torch.addmm(a, hm, w.T, out=pre_v)
                        torch.addmm(b, vm, w, out=pre_h)
                torch.addmm(grad, v0.T, h0, beta=0.0, out=grad)
                grad.addmm_(vm.T, hm, alpha=-1.0)
        return time.perf_counter() - t0


def bare_gibbs_seconds(weight: Any, visible_bias: Any, hidden_bias: Any, n_chains: int, sweeps: int,
                       seed: int = 0, draw: str = "uniform") -> tuple[float, Any]:
    """A bare, tuned torch block-Gibbs loop: random binary start, ``sweeps`` sweeps
    (``p = sigmoid(v W + b)``, ``h = u < p``, ``p = sigmoid(h W^T + a)``, ``v = u < p``), preallocated
    buffers, in-place ops; ``draw``: ``uniform`` (``uniform_`` + ``lt``) or ``bernoulli``
    (``torch.bernoulli(out=)``). Returns (seconds, final visible states)."""
    import torch

    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        n_v, n_h = weight.shape
        t0 = time.perf_counter()
        v = torch.empty(n_chains, n_v).bernoulli_(0.5, generator=g)
        h, ph, pv = torch.empty(n_chains, n_h), torch.empty(n_chains, n_h), torch.empty(n_chains, n_v)
        uh, uv = torch.empty(n_chains, n_h), torch.empty(n_chains, n_v)
        wt = weight.T
        for _ in range(sweeps):
            torch.addmm(hidden_bias, v, weight, out=ph).sigmoid_()
            if draw == "uniform":
                torch.lt(uh.uniform_(generator=g), ph, out=h)
            else:
                torch.bernoulli(ph, generator=g, out=h)
            torch.addmm(visible_bias, h, wt, out=pv).sigmoid_()
            if draw == "uniform":
                torch.lt(uv.uniform_(generator=g), pv, out=v)
            else:
                torch.bernoulli(pv, generator=g, out=v)
        return time.perf_counter() - t0, v


def spread(values: list[float]) -> str:
    """``lo-hi`` of a list of ratios (one value: itself)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return f"{lo:.2f}" if round(lo, 2) == round(hi, 2) else f"{lo:.2f}-{hi:.2f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def service(env_extra: dict[str, str] | None = None,
            embedded_worker: bool = True) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """A real ``rbm-service serve`` (API + embedded worker process) on a free port in a temp dir."""
    tmp = Path(tempfile.mkdtemp(prefix="rbm-bench-"))
    port = free_port()
    env = dict(os.environ)
    env.update({"RBM_DATA_DIR": str(tmp), "RBM_PORT": str(port), "RBM_DEVICE": "cpu",
                "RBM_LOG_LEVEL": "WARNING", "RBM_EMBEDDED_WORKER": "true" if embedded_worker else "false"})
    env.update(env_extra or {})
    proc = subprocess.Popen([PY, "-m", "app.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"))
    url = f"http://127.0.0.1:{port}"
    import httpx

    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("service did not start:\n" + (tmp / "serve.log").read_text()[-3000:])
            time.sleep(0.1)
        yield url, proc, tmp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def upload_array(client: Any, url: str, array: np.ndarray, name: str = "bench") -> str:
    buf = io.BytesIO()
    np.save(buf, array)
    r = client.post(url + "/v1/datasets", files={"file": ("data.npy", buf.getvalue(), "application/octet-stream")},
                    data={"name": name}, timeout=120)
    r.raise_for_status()
    return str(r.json()["id"])


def machine() -> str:
    try:
        import torch

        tv = torch.__version__
    except ImportError:  # pragma: no cover
        tv = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, torch {tv}"
