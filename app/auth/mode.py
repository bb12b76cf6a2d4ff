"""Open mode (no API keys, every request allowed) is safe only on a loopback address: ``serve``
asks here whether it may start and what to warn about."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_mode_check(host: str, keys_exist: bool, require_auth: bool, allow_open: bool) -> tuple[bool, str | None]:
    """(may start, message). The message is a warning when it may start, the refusal otherwise."""
    if keys_exist or require_auth:
        return True, None
    if is_loopback(host):
        return True, (f"OPEN MODE: no API key exists, so every request on {host} is allowed without "
                      "authentication. Create one with `rbm-service keys create --scope admin` to turn auth on.")
    if allow_open:
        return True, (f"OPEN MODE on non-loopback address {host} because RBM_ALLOW_OPEN=true: anyone who "
                      "reaches this port can train, query and delete. Create an API key to turn auth on.")
    return False, (f"refusing to serve on {host} with no API keys: anyone who reaches it could train, query and "
                   "delete. Create a key (`rbm-service keys create --scope admin`), bind to 127.0.0.1, or set "
                   "RBM_ALLOW_OPEN=true to accept open access.")
