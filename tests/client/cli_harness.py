"""The `rbm` CLI in-process against the test app: one runner for every CLI test (the ``rbm``
fixture, the client the commands get, is in tests/conftest.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from app.client import cli

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    """Run ``rbm ARGS`` (wide terminal, so tables are not cut) and return its output."""
    result = runner.invoke(cli.app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == code, (result.output, result.exception)
    return result.output
