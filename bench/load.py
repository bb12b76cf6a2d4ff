"""Load bench: N concurrent httpx clients for D seconds against a real `rbm-service serve` on
127.0.0.1 (started here, SQLite, embedded worker), mixing free energy, sampling, job status and job
submission. Prints requests, errors (goal 0) and p50/p99 latency per kind, plus /healthz p50/p99
(polled every 20 ms by its own client, a separate small process unless --healthz-poller thread) and
the API process's peak RSS (VmHWM).

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--upload-mb 500] [--ais]
        [--env RBM_COMPUTE_CONCURRENCY=4 ...]

--upload-mb N also uploads an N MB float32 .npy dataset during the load (issue 15: /healthz p99
< 100 ms and API peak RSS < 1.5 GB with a 500 MB upload); --ais also runs synchronous AIS at its
limit (n_runs x n_betas = RBM_MAX_AIS_WORK) during the load.

Bounded: the clients stop after --seconds; the server is stopped at the end."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import threading
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
    p.add_argument("--upload-mb", type=float, default=0, help="also upload a dataset this big during the load")
    p.add_argument("--ais", action="store_true", help="also run AIS at RBM_MAX_AIS_WORK during the load")
    p.add_argument("--healthz-poller", choices=["process", "thread"], default="process",
                   help="poll /healthz from a separate process (default) or from a thread of this one")
    p.add_argument("--env", action="append", default=[], metavar="RBM_X=VALUE",
                   help="a setting for the server (repeatable), e.g. to compare two values in one session")
    args = p.parse_args()
    overrides = dict(kv.split("=", 1) for kv in args.env)
    data_dir = Path(tempfile.mkdtemp(prefix="rbm-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(f"sqlite:///{data_dir / 'rbm.sqlite3'}", data_dir, RBM_LOG_LEVEL="WARNING",
                      RBM_LEASE_SECONDS="60", RBM_HEARTBEAT_SECONDS="5", **overrides)
    server = ServiceProcess(["serve", "--port", str(port)], env, data_dir / "serve.log")
    try:
        wait_for(lambda: _ready(base), 240, "the server", interval=0.2)  # slow to import on a busy box
        ds, job, model = setup(base)
        lat: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, list[str]] = defaultdict(list)
        stop_at = time.monotonic() + args.seconds

        extras = []
        if args.upload_mb:  # built before the clients start: generating it would stall their event loop
            extras.append(big_upload(base, _npy_payload(args.upload_mb), lat, errors))
        if args.ais:
            extras.append(ais_at_limit(base, model, lat, errors))

        async def run() -> None:
            await asyncio.gather(*extras, *(client_loop(base, ds, job, model, stop_at, i, lat, errors)
                                            for i in range(args.clients)))

        # /healthz is polled every 20 ms by a client of its own: by default a separate small process,
        # like an orchestrator's probe, so this process's 50-client event loop cannot hold up its
        # reads (--healthz-poller thread: the earlier in-process poller, for comparison)
        if args.healthz_poller == "process":
            poller = subprocess.Popen([sys.executable, "-c", HEALTHZ_POLLER, base, str(args.seconds)],
                                      stdout=subprocess.PIPE, text=True)
        else:
            poller = threading.Thread(target=healthz_loop, args=(base, stop_at, lat, errors), daemon=True)
            poller.start()

        t0 = time.monotonic()
        asyncio.run(run())
        if args.healthz_poller == "process":
            out, _ = poller.communicate(timeout=120)
            polled = json.loads(out)
            lat["healthz"].extend(polled["latencies"])
            errors["healthz"].extend(polled["errors"])
        else:
            poller.join()
        wall = time.monotonic() - t0
        peak_rss_mb = _peak_rss_mb(server.pid)
    finally:
        try:
            server.terminate(timeout=30) if server.alive() else None
        except subprocess.TimeoutExpired:  # the numbers are in; a slow shutdown must not lose them
            print("the server did not stop within 30 s of SIGTERM; killed it", file=sys.stderr)
        server.stop()
    total = sum(len(v) for v in lat.values())
    n_err = sum(len(v) for v in errors.values())
    print(f"{args.clients} clients, {wall:.0f}s, {total} requests ({total / wall:.0f}/s), errors: {n_err}")
    print(f"{'kind':12} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in [k for k, _ in MIX] + ["healthz", "upload", "ais"]:
        if not lat.get(kind):
            continue
        ms = np.array(lat[kind]) * 1000
        print(f"{kind:12} {len(ms):6d} {len(errors[kind]):6d} {np.percentile(ms, 50):8.1f} {np.percentile(ms, 99):8.1f}")
    for kind, errs in errors.items():
        for e in errs[:3]:
            print(f"  {kind}: {e}")
    hz = np.array(lat["healthz"]) * 1000
    print(f"/healthz p99 {np.percentile(hz, 99):.1f} ms (goal < 100); API peak RSS {peak_rss_mb:.0f} MB "
          f"(goal < 1500)")
    return 0 if n_err == 0 else 1


HEALTHZ_POLLER = """
import json, sys, time
import httpx
base, seconds = sys.argv[1], float(sys.argv[2])
lat, errors = [], []
stop_at = time.monotonic() + seconds
with httpx.Client(base_url=base, timeout=60) as http:
    while time.monotonic() < stop_at:
        t = time.perf_counter()
        r = http.get("/healthz")
        lat.append(time.perf_counter() - t)
        if r.status_code != 200:
            errors.append(str(r.status_code))
        time.sleep(0.02)
print(json.dumps({"latencies": lat, "errors": errors}))
"""


def healthz_loop(base: str, stop_at: float, lat: dict, errors: dict) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            r = http.get("/healthz")
            lat["healthz"].append(time.perf_counter() - t)
            if r.status_code != 200:
                errors["healthz"].append(f"{r.status_code}")
            time.sleep(0.02)


def _npy_payload(megabytes: float) -> bytes:
    """About ``megabytes`` MB of float32 binary values as a .npy file."""
    cols = 1000
    rows = int(megabytes * 1e6 / 4 / cols)
    buf = io.BytesIO()
    np.save(buf, (np.random.default_rng(0).random((rows, cols), dtype=np.float32) < 0.5).astype(np.float32))
    return buf.getvalue()


async def big_upload(base: str, payload: bytes, lat: dict, errors: dict) -> None:
    """One dataset upload, sent while the load runs."""
    await asyncio.sleep(2)
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        t = time.perf_counter()
        r = await http.post("/v1/datasets", files={"file": ("big.npy", payload)})
        lat["upload"].append(time.perf_counter() - t)
        if r.status_code != 201:
            errors["upload"].append(f"{r.status_code} {r.text[:200]}")


async def ais_at_limit(base: str, model: str, lat: dict, errors: dict) -> None:
    """Synchronous AIS with n_runs x n_betas at RBM_MAX_AIS_WORK's default (1e7)."""
    await asyncio.sleep(1)
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        t = time.perf_counter()
        r = await http.post(f"/v1/models/{model}/partition-function",
                            json={"method": "ais", "n_runs": 1000, "n_betas": 10_000, "seed": 1})
        lat["ais"].append(time.perf_counter() - t)
        if r.status_code != 200:
            errors["ais"].append(f"{r.status_code} {r.text[:200]}")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
