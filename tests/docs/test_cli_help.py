"""`rbm-service --help` names every command; the `rbm` help shows no `<bool>` metavar; a normal
SIGTERM of `serve` stops its worker without a warning."""

from __future__ import annotations

import os
import re
import sqlite3
import time

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import build_parser
from app.client.cli import app as rbm_app
from tests.client.server import running_server


def test_rbm_service_help_names_every_command():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert set(commands) >= {"serve", "worker", "migrate", "gc", "keys"}
    for name in commands:
        assert re.search(rf"\b{name}\b", parser.description), f"--help's description omits {name!r}"


def test_rbm_flags_show_no_bool_metavar():
    runner = CliRunner()
    for args in (["--help"], ["train", "--help"], ["jobs", "ls", "--help"], ["models", "ls", "--help"]):
        result = runner.invoke(rbm_app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output and "BOOLEAN" not in result.output, result.output


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_sigterm_of_serve_logs_no_warning_from_the_worker(tmp_path):
    with running_server(tmp_path) as url:  # leaving it sends serve one SIGTERM
        deadline = time.monotonic() + 60
        while not httpx.get(f"{url}/readyz", timeout=5).json().get("workers"):  # the worker is up
            assert time.monotonic() < deadline, "the embedded worker never sent a heartbeat"
            time.sleep(0.2)
    # /readyz never shows pids (it is open): the worker's own heartbeat row has it
    with sqlite3.connect(tmp_path / "rbm.sqlite3") as db:
        (pid,) = db.execute("SELECT pid FROM workers ORDER BY started_at DESC LIMIT 1").fetchone()
    deadline = time.monotonic() + 30
    while _alive(pid):  # the worker writes to the same log until it exits
        assert time.monotonic() < deadline, f"worker {pid} still runs 30 s after serve stopped"
        time.sleep(0.2)
    log = (tmp_path / "serve.log").read_text()
    warnings = [line for line in log.splitlines() if " WARNING " in line and "open mode" not in line.lower()]
    assert not warnings, log
