#!/usr/bin/env bash
# Set up, then run the whole suite on SQLite, then the database tests again on PostgreSQL.
#   RBM_TEST_DATABASE_URL  PostgreSQL for the second pass
#                          (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
#   Extra arguments go to pytest (both passes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh  # Debian's chromium for tests/e2e (skips loudly where it cannot)
export PYTHONUNBUFFERED=1
echo "== lint and types: ruff check, mypy (the job contract) =="
.venv/bin/ruff check app tests bench scripts migrations
.venv/bin/mypy
echo "== pass 1: everything, SQLite =="
env -u RBM_TEST_DATABASE_URL .venv/bin/python -m pytest --durations=30 "$@"  # the slowest, for the 25-minute aim
PG_URL=${RBM_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
echo "== pass 2: database tests on PostgreSQL ($PG_URL) =="
# Unreachable server: those tests skip with the reason printed (-rs), never pass silently.
RBM_TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest --db-only -rs "$@"
