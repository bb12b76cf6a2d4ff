"""Client and CLI against a real `rbm-service serve` subprocess: the event stream is live (the
worker is another process) and the `rbm` console script is the installed one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.client import RBMClient, RBMConnectionError
from tests.client.server import free_port, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    with running_server(tmp_path_factory.mktemp("serve")) as url:
        yield url


def rbm_cli(*args: str, url: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("rbm")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from app.client.cli import app; app()"]
    return subprocess.run([*command, "--url", url, *args], capture_output=True, text=True, timeout=120)


def test_client_follows_a_live_job_to_the_end(server):
    with RBMClient(server) as rbm:
        ds = rbm.create_builtin("digits")
        job = rbm.submit_job(ds["id"], 16, epochs=4, seed=1)
        events = list(rbm.events(job["id"]))
        assert [e.data["epoch"] for e in events if e.event == "progress"] == [1, 2, 3, 4]
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert events[-1].event == "status" and events[-1].data["status"] == "succeeded"
        model_id = events[-1].data["model_id"]
        assert rbm.samples(model_id, 3, steps=10, seed=0).samples.shape == (3, 64)
        assert rbm.samples_png(model_id, 4, steps=10)[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_trains_with_watch_and_writes_samples(server, tmp_path):
    added = rbm_cli("datasets", "add", "bars-and-stripes", "--param", "n=3", url=server)
    assert added.returncode == 0, added.stderr
    ds_id = added.stdout.split()[1].rstrip(":")
    trained = rbm_cli("train", "--dataset", ds_id, "--hidden", "6", "--epochs", "3", "--watch", url=server)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "succeeded" in trained.stdout
    model_id = trained.stdout.split("model")[-1].split()[0]
    out = tmp_path / "s.npy"
    sampled = rbm_cli("sample", model_id, "-n", "5", "--steps", "10", "--npy", str(out), url=server)
    assert sampled.returncode == 0, sampled.stderr
    assert np.load(out).shape == (5, 9)
    assert model_id in rbm_cli("models", "ls", url=server).stdout


def test_unreachable_server():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RBMConnectionError):
        RBMClient(url, retries=1, backoff=0.01).health()
    failed = rbm_cli("datasets", "ls", url=url)
    assert failed.returncode == 1 and "cannot reach" in failed.stderr and "Traceback" not in failed.stderr


def test_events_arrive_while_the_job_runs(server):
    """Proof that the stream is not buffered: cancel after the first progress event, and the same
    stream then reports the cancellation of a job that would otherwise run 1,000 epochs."""
    with RBMClient(server) as rbm:
        ds = rbm.create_builtin("bars-and-stripes", {"n": 3})
        job = rbm.submit_job(ds["id"], 4, epochs=1000)
        seen = []
        for event in rbm.events(job["id"]):
            seen.append((event.event, event.data.get("status")))
            if event.event == "progress" and len([s for s in seen if s[0] == "progress"]) == 1:
                assert rbm.cancel_job(job["id"])["status"] == "cancelling"
        assert seen[-1] == ("status", "cancelled") and ("status", "cancelling") in seen
        assert rbm.job(job["id"])["progress"]["epoch"] < 1000
