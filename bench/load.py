"""Load bench: N concurrent httpx clients for D seconds against a real `rbm-service serve` on
127.0.0.1 (started here, SQLite, embedded worker), mixing free energy, sampling, job status and job
submission. Prints requests, errors (goal 0) and p50/p99 latency per kind.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60]

Bounded: the clients stop after --seconds; the server is stopped at the end."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos.procs import ServiceProcess, free_port, service_env, wait_for  # noqa: E402

MIX = [("free_energy", 0.4), ("samples", 0.2), ("job_status", 0.3), ("submit", 0.1)]


def setup(base: str) -> tuple[str, str, str]:
    """A dataset, a trained model and a job to poll."""
    ds = httpx.post(f"{base}/v1/datasets/builtin", json={"builtin": "digits"}, timeout=60).json()["id"]
    job = httpx.post(f"{base}/v1/jobs", json={"dataset_id": ds, "model": {"n_hidden": 16},
                                              "training": {"epochs": 3}}, timeout=60).json()["id"]
    model = wait_for(lambda: httpx.get(f"{base}/v1/jobs/{job}", timeout=10).json()["model_id"], 120, "training")
    return ds, job, model


async def client_loop(base: str, ds: str, job: str, model: str, stop_at: float, seed: int,
                      lat: dict[str, list[float]], errors: dict[str, list[str]]) -> None:
    rng = random.Random(seed)
    vectors = (np.random.default_rng(seed).random((10, 64)) < 0.5).astype(int).tolist()
    kinds, weights = zip(*MIX)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            t = time.perf_counter()
            try:
                if kind == "free_energy":
                    r = await http.post(f"/v1/models/{model}/free-energy", json={"data": vectors})
                elif kind == "samples":
                    r = await http.post(f"/v1/models/{model}/samples", json={"n_samples": 4, "steps": 50})
                elif kind == "job_status":
                    r = await http.get(f"/v1/jobs/{job}")
                else:
                    r = await http.post("/v1/jobs", json={"dataset_id": ds, "model": {"n_hidden": 4},
                                                          "training": {"epochs": 1}})
                ok = r.status_code < 300
                detail = f"{r.status_code} {r.text[:120]}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            lat[kind].append(time.perf_counter() - t)
            if not ok:
                errors[kind].append(detail)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    args = p.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="rbm-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(f"sqlite:///{data_dir / 'rbm.sqlite3'}", data_dir, RBM_LOG_LEVEL="WARNING",
                      RBM_LEASE_SECONDS="60", RBM_HEARTBEAT_SECONDS="5")
    server = ServiceProcess(["serve", "--port", str(port)], env, data_dir / "serve.log")
    try:
        wait_for(lambda: _ready(base), 60, "the server", interval=0.2)
        ds, job, model = setup(base)
        lat: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, list[str]] = defaultdict(list)
        stop_at = time.monotonic() + args.seconds

        async def run() -> None:
            await asyncio.gather(*(client_loop(base, ds, job, model, stop_at, i, lat, errors)
                                   for i in range(args.clients)))

        t0 = time.monotonic()
        asyncio.run(run())
        wall = time.monotonic() - t0
    finally:
        server.terminate(timeout=30) if server.alive() else None
        server.stop()
    total = sum(len(v) for v in lat.values())
    n_err = sum(len(v) for v in errors.values())
    print(f"{args.clients} clients, {wall:.0f}s, {total} requests ({total / wall:.0f}/s), errors: {n_err}")
    print(f"{'kind':12} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, _ in MIX:
        ms = np.array(lat[kind]) * 1000
        print(f"{kind:12} {len(ms):6d} {len(errors[kind]):6d} {np.percentile(ms, 50):8.1f} {np.percentile(ms, 99):8.1f}")
    for kind, errs in errors.items():
        for e in errs[:3]:
            print(f"  {kind}: {e}")
    return 0 if n_err == 0 else 1


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
