"""Long schemathesis run over every operation of the OpenAPI spec (the test suite runs a short one):
positive cases (valid per the schema: no 5xx and answers that match the documented schema) and,
with --negative, negative cases (invalid on purpose: no 5xx). Counts cases and failures.

    .venv/bin/python bench/schemathesis_run.py [--examples 200] [--negative]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Issue 15's goal: >= 2,000 cases with negative testing on, no 5xx, on SQLite and on PostgreSQL
(a fresh schema is made and dropped there)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings as hsettings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from app.core.context import ServiceContext  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.test_schemathesis import fuzz, operations  # noqa: E402


def fuzz_negative(app, examples: int) -> tuple[int, list[str]]:
    """Negative cases for every operation: only 'no server error' applies to invalid input."""
    ran, failures = 0, []
    for operation in operations(app):
        try:
            strategy = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        except Exception as exc:  # an operation with nothing to negate
            print(f"  (no negative cases for {operation.label}: {type(exc).__name__})")
            continue

        @given(case=strategy)
        @hsettings(max_examples=examples, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            nonlocal ran
            ran += 1
            case.call_and_validate(checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:  # no parameters and no body: nothing can be made invalid
            continue
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    return ran, failures


def _postgres_schema(base: str) -> tuple[str, callable]:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=200, help="hypothesis examples per operation and mode")
    p.add_argument("--negative", action="store_true", help="also run negative (invalid) cases")
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (a fresh schema is used); default SQLite")
    args = p.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="rbm-fuzz-"))
    url, cleanup = (None, lambda: None) if not args.database_url else _postgres_schema(args.database_url)
    settings = Settings(data_dir=data_dir, device="cpu", **({"database_url": url} if url else {}))
    migrate.upgrade(settings.resolved_database_url)
    ctx = ServiceContext.from_settings(settings)
    app = create_app(context=ctx)
    try:
        t0 = time.monotonic()
        ran, failures = fuzz(app, args.examples)
        print(f"positive: {ran} cases, failing operations: {len(failures)}; {time.monotonic() - t0:.0f}s")
        if args.negative:
            t1 = time.monotonic()
            ran_neg, neg_failures = fuzz_negative(app, args.examples)
            print(f"negative: {ran_neg} cases, operations with a 5xx: {len(neg_failures)}; "
                  f"{time.monotonic() - t1:.0f}s")
            ran, failures = ran + ran_neg, failures + neg_failures
        server_errors = sum("server error" in f.lower() or " 500" in f for f in failures)
        print(f"database: {'postgresql' if url else 'sqlite'}; cases: {ran}; failing operations: {len(failures)} "
              f"(with a 5xx: {server_errors})")
        for failure in failures:
            print("-" * 60, "\n", failure[:2000])
    finally:
        ctx.close()
        cleanup()
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
