"""Long schemathesis run over every operation of the OpenAPI spec (the test suite runs a short one):
counts cases, server errors (5xx) and response-schema mismatches.

    .venv/bin/python bench/schemathesis_run.py [--examples 200]"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.context import ServiceContext  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.test_schemathesis import fuzz  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--examples", type=int, default=200, help="hypothesis examples per operation")
    args = p.parse_args()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="rbm-fuzz-")), device="cpu")
    migrate.upgrade(settings.resolved_database_url)
    ctx = ServiceContext.from_settings(settings)
    t0 = time.monotonic()
    ran, failures = fuzz(create_app(context=ctx), args.examples)
    server_errors = sum("server error" in f.lower() or " 500" in f for f in failures)
    print(f"cases: {ran}; failing operations: {len(failures)} (with a 5xx: {server_errors}); "
          f"{time.monotonic() - t0:.0f}s")
    for failure in failures:
        print("-" * 60, "\n", failure[:2000])
    ctx.close()
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
