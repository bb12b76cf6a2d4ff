"""Shared by the browser tests: Debian's chromium driven by Playwright (never `playwright install`).
``skip_reason()`` is None where both are there; each test module skips loudly otherwise."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("RBM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # no host name resolves but loopback: all a page needs must come from our server
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]


def skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "BROWSER TEST SKIPPED: the playwright package is missing (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return (f"BROWSER TEST SKIPPED: no chromium at {CHROMIUM}: run `bash scripts/install-browser.sh` "
                "(apt-get install -y chromium); never `playwright install`")
    return None
