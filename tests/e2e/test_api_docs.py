"""Swagger UI and ReDoc render in headless chromium that can reach nothing but loopback: the
assets come from the server, not a CDN. Asserted on what is drawn (an operation of the list, a
ReDoc heading), not on the HTML the server sends."""

from __future__ import annotations

import pytest

from tests.client.server import running_server
from tests.e2e.browser import skip_reason

if skip_reason():
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

#: Real processes or a browser, tens of seconds each: scripts/test.sh runs them; -m "not slow" skips them.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("docs")) as url:
        yield url


def test_swagger_ui_renders_operations_offline(server, page):
    page.goto(server + "/docs")
    # the operation list is drawn by swagger-ui's JavaScript from /openapi.json
    operation = page.locator("#operations-jobs-submit_job")
    expect(operation).to_be_visible(timeout=30_000)
    expect(operation.locator(".opblock-summary-path")).to_have_attribute("data-path", "/v1/jobs")
    operation.locator(".opblock-summary-control").click()  # expand: the example body is rendered
    expect(operation.locator(".body-param__example, .microlight, pre").first).to_be_visible(timeout=10_000)
    expect(page.locator(".opblock-tag[data-tag='datasets']")).to_be_visible()


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # the "API docs by Redocly" badge, hard-coded in its bundle


def test_redoc_renders_offline(server, page, outside_requests):
    page.goto(server + "/redoc")
    # an operation's heading, drawn from /openapi.json by ReDoc's JavaScript
    expect(page.get_by_role("heading", name="List sweeps, newest first").first).to_be_attached(timeout=30_000)
    page.wait_for_load_state("networkidle")
    # the only thing beyond loopback ReDoc asks for is its badge's logo (cosmetic; it shows alt text)
    assert set(outside_requests) <= {REDOC_LOGO}, outside_requests
    outside_requests.clear()
