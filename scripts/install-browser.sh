#!/usr/bin/env bash
# Chromium for the browser test (tests/e2e), from Debian's archive: Playwright's own
# `playwright install` downloads a browser from a CDN and is never used here.
# Safe to run again; where it cannot install (no apt-get, not root, no sudo), it says so loudly
# and the browser test skips with that reason.
set -uo pipefail
CHROMIUM=${RBM_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
  echo "installing chromium (Debian package) for the browser test ..."
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    && echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null)" && exit 0
fi
echo "!!! WARNING: could not install chromium at $CHROMIUM (needs apt-get as root); the browser test will SKIP !!!" >&2
exit 0
