"""Estimation jobs on a 784x500 model, as a user meets them (issue 12's done-when):

    .venv/bin/python bench/jobs/estimate_job.py [--watch-seconds 20]

1. default synchronous AIS (100 runs x 10,000 betas) -> the 413 and its message;
2. the same as an estimate job: progress events while it runs, then cancel, and how long the
   cancel took to land;
3. a 100 x 1,000 estimate job to the end, then the synchronous call with the same parameters
   (answered from the cache) and its latency.
The model is random (weights ~ N(0, 0.01), like an early MNIST model): the point is the job
machinery, not the number."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import save as save_numpy

from app.core.context import ServiceContext
from app.core.settings import Settings
from app.db import migrate
from app.main import create_app
from app.worker.runner import Worker


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--watch-seconds", type=float, default=20.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=tmp, device="cpu", worker_poll_seconds=0.05, heartbeat_seconds=1.0)
    migrate.upgrade(settings.resolved_database_url)
    ctx = ServiceContext.from_settings(settings)
    rng = np.random.default_rng(0)
    blob = save_numpy({"weight": (0.01 * rng.standard_normal((784, 500))).astype(np.float32),
                       "visible_bias": (-2 + 0.1 * rng.standard_normal(784)).astype(np.float32),
                       "hidden_bias": np.zeros(500, np.float32)}, metadata={"visible_type": "bernoulli"})
    worker = Worker(ctx, worker_id="bench-worker")
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    with TestClient(create_app(context=ctx)) as client:
        model = client.post("/v1/models", files={"file": ("m.safetensors", blob)}, data={"name": "784x500"}).json()
        r = client.post(f"/v1/models/{model['id']}/partition-function", json={"method": "ais"})
        print(f"1. synchronous default AIS: HTTP {r.status_code}: {r.json()['error']['message']}")

        job = client.post("/v1/jobs", json={"kind": "estimate", "model_id": model["id"],
                                            "estimate": {"partition_function": {"method": "ais"}}}).json()
        started = time.perf_counter()
        while time.perf_counter() - started < args.watch_seconds:
            time.sleep(1.0)
        seen = client.get(f"/v1/jobs/{job['id']}").json()
        events = seen["metrics"]
        rate = (events[-1]["betas_done"] / (time.perf_counter() - started)) if events else 0.0
        print(f"2. estimate job after {args.watch_seconds:.0f} s: status {seen['status']}, "
              f"{seen['progress']['step']} % ({len(events)} progress events, "
              f"{events[-1]['betas_done'] if events else 0} of {events[-1]['betas_total'] if events else '?'} "
              f"betas, ~{rate:.0f} betas/s over both directions)")
        asked = time.perf_counter()
        client.post(f"/v1/jobs/{job['id']}/cancel")
        final = client.get(f"/v1/jobs/{job['id']}", params={"wait": 60}).json()
        print(f"   cancel -> {final['status']} in {time.perf_counter() - asked:.2f} s")

        pf = {"method": "ais", "n_runs": 100, "n_betas": 1000, "seed": 0}
        job = client.post("/v1/jobs", json={"kind": "estimate", "model_id": model["id"],
                                            "estimate": {"partition_function": pf}}).json()
        done = client.get(f"/v1/jobs/{job['id']}", params={"wait": 60}).json()
        while done["status"] not in ("succeeded", "failed", "cancelled"):
            done = client.get(f"/v1/jobs/{job['id']}", params={"wait": 60}).json()
        res = done["result"]
        print(f"3. 100 x 1,000 job: {done['status']}: log Z {res['log_z']:.3f} +- {res['log_z_std']:.3f} "
              f"(forward only: an uploaded model has no training data for reverse AIS) in {res['seconds']:.1f} s")
        asked = time.perf_counter()
        z = client.post(f"/v1/models/{model['id']}/partition-function", json=pf).json()
        print(f"   synchronous call after it: cached={z['cached']} in {1000 * (time.perf_counter() - asked):.0f} ms")
    worker.stop_event.set()
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
