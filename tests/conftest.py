"""Fixtures: a real database per test (temp SQLite file; or a fresh PostgreSQL schema when
RBM_TEST_DATABASE_URL names a server), the app over it, and a worker on the same context."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.core.context import ServiceContext
from app.core.settings import Settings
from app.db import migrate
from app.main import create_app
from app.worker.runner import Worker

TEST_DATABASE_URL = os.environ.get("RBM_TEST_DATABASE_URL", "")


def _postgres_schema_url(base: str) -> Iterator[str]:
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # loud, never a silent pass
        pytest.skip(f"PostgreSQL at RBM_TEST_DATABASE_URL is unreachable ({type(exc).__name__}: {exc}); "
                    "start it or unset the variable to test on SQLite")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    if TEST_DATABASE_URL.startswith("postgresql"):
        yield from _postgres_schema_url(TEST_DATABASE_URL)
    else:
        yield f"sqlite:///{tmp_path / 'rbm.sqlite3'}"


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, device="cpu", heartbeat_seconds=1.0,
                    worker_poll_seconds=0.05)


@pytest.fixture
def ctx(settings) -> Iterator[ServiceContext]:
    migrate.upgrade(settings.resolved_database_url)
    context = ServiceContext.from_settings(settings)
    yield context
    context.close()


@pytest.fixture
def client(ctx) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client


@pytest.fixture
def worker(ctx) -> Worker:
    return Worker(ctx, worker_id="test-worker")


@pytest.fixture(autouse=True)
def _default_float_mode() -> Iterator[None]:
    """`serve`/`worker` switch their process to flush-to-zero; a test that runs them in-process
    must not leave that on for the tests after it (hypothesis refuses to run under it)."""
    yield
    torch.set_flush_denormal(False)


def pytest_addoption(parser) -> None:
    parser.addoption("--db-only", action="store_true",
                     help="run only tests that touch the database (the PostgreSQL pass of scripts/test.sh)")


def pytest_collection_modifyitems(config, items) -> None:
    if config.getoption("--db-only"):
        items[:] = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]


@pytest.fixture
def rbm(client, monkeypatch):
    """A Python client over the test app, also the one every `rbm` CLI command gets."""
    from app.client import RBMClient, cli

    rbm = RBMClient(http=client, retries=0)
    monkeypatch.setattr(cli, "make_client", lambda url, api_key: rbm)
    return rbm
