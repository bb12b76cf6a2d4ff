"""Fixtures for chaos tests: a migrated database (SQLite or PostgreSQL via ``database_url``) shared
with real worker / server processes, and cleanup that never leaves a child running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.procs import ServiceProcess, service_env


@pytest.fixture
def spawn(ctx, tmp_path) -> Iterator:
    """spawn(*args, **env) starts `rbm-service *args` on the test's database and data dir."""
    started: list[ServiceProcess] = []

    def _spawn(*args: str, **env: str) -> ServiceProcess:
        n = len(started)
        proc = ServiceProcess(list(args), service_env(ctx.settings.resolved_database_url, tmp_path, **env),
                              tmp_path / f"proc{n}-{args[0]}.log")
        started.append(proc)
        return proc

    yield _spawn
    for proc in started:
        proc.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the children's logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        tmp = item.funcargs.get("tmp_path")
        if tmp is not None:
            for log in sorted(tmp.glob("proc*.log")):
                report.sections.append((f"log {log.name}", "\n".join(log.read_text(errors="replace").splitlines()[-30:])))
