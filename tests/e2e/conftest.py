"""Browser fixtures: one chromium per session, a page per test that fails on JavaScript errors and
on any request that leaves loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, skip_reason

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="session")
def browser():
    if skip_reason():
        pytest.skip(skip_reason())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def outside_requests() -> list[str]:
    """URLs beyond loopback the page asked for (aborted); a test may remove ones it accepts."""
    return []


@pytest.fixture
def page(browser, outside_requests):
    """A fresh context; requests to anything but loopback are aborted and reported, as are
    JavaScript errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    outside = outside_requests

    def guard(route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not outside, f"the page asked for something beyond loopback: {outside}"
