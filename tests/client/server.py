"""A real `rbm-service serve` (API + embedded worker) in a subprocess on a free loopback port, for
tests that need the whole thing: separate processes, real HTTP, a real event stream."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("rbm-service")
    return [str(script), "serve"] if script.exists() else [sys.executable, "-m", "app.cli", "serve"]


@contextmanager
def running_server(data_dir: Path, startup_seconds: float = 90.0, **env: str) -> Iterator[str]:
    """Yields the base URL once /readyz answers; the server's log is in data_dir/serve.log."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RBM_")}
    environ.update({"RBM_DATA_DIR": str(data_dir), "RBM_HOST": "127.0.0.1", "RBM_PORT": str(port), "RBM_DEVICE": "cpu",
                    "RBM_WORKER_POLL_SECONDS": "0.1", "RBM_SSE_POLL_SECONDS": "0.1", "RBM_LOG_LEVEL": "WARNING", **env})
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(serve_command(), env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"rbm-service serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rbm-service serve not ready after {startup_seconds}s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()  # serve stops its embedded worker on the way out
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
