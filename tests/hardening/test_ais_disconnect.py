"""Issue 15 item 2: synchronous AIS stops when its client disconnects (it used to compute on for
minutes). Real `serve`: a client asks for a long AIS and hangs up after a second; the server logs
one line saying it stopped, and answers the next request at once."""

from __future__ import annotations

import time

import httpx
import pytest
import torch
from safetensors.torch import save as save_tensors

from tests.chaos.procs import free_port, wait_for


@pytest.mark.slow
def test_ais_stops_when_the_client_hangs_up(spawn, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", "--port", str(port), RBM_EMBEDDED_WORKER="false", RBM_LOG_LEVEL="INFO",
                   RBM_SYNC_MAX_SECONDS="100000", RBM_API_THREADS="1")
    wait_for(lambda: _ok(base), 240, "serve to be ready", interval=0.2)
    g = torch.Generator().manual_seed(0)
    weights = save_tensors({"weight": torch.randn(300, 300, generator=g) * 0.05, "visible_bias": torch.zeros(300),
                            "hidden_bias": torch.zeros(300)}, metadata={"visible_type": "bernoulli"})
    model = httpx.post(f"{base}/v1/models", files={"file": ("m.safetensors", weights)}, timeout=60).json()["id"]
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base}/v1/models/{model}/partition-function",
                   json={"method": "ais", "n_runs": 1000, "n_betas": 10_000, "seed": 1}, timeout=1.5)
    wait_for(lambda: "stopping the computation" in server.log_path.read_text(), 60,
             "the server to notice the hang-up", interval=0.2)
    noticed = time.monotonic() - started
    assert noticed < 30, f"AIS ran {noticed:.0f}s after its client left"
    log = server.log_path.read_text()
    assert "Traceback" not in log
    t = time.perf_counter()
    r = httpx.post(f"{base}/v1/models/{model}/partition-function",
                   json={"method": "ais", "n_runs": 10, "n_betas": 100, "seed": 2}, timeout=60)
    assert r.status_code == 200 and time.perf_counter() - t < 20


def _ok(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
