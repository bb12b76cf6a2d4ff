"""Property-based API testing from the OpenAPI spec (schemathesis): whatever a client sends, the
server answers with no 5xx and with a body that matches the documented response schema.
Bounded (EXAMPLES per operation, about 300 cases in all) so it stays under a minute and a half;
bench/schemathesis_run.py runs the long version. (schemathesis' own pytest plugin does not run
under pytest 9, so each operation's strategy is driven by hypothesis directly.)"""

from __future__ import annotations

from collections.abc import Iterator

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.main import create_app

EXAMPLES = 10
CHECKS = [not_a_server_error, response_schema_conformance]


def operations(app) -> Iterator:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        yield result.ok()


def fuzz(app, examples: int) -> tuple[int, list[str]]:
    """Run every operation's strategy; returns (cases run, failures as text)."""
    ran, failures = 0, []
    for operation in operations(app):

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            nonlocal ran
            ran += 1
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    return ran, failures


def test_api_conforms_to_its_schema(ctx):
    ran, failures = fuzz(create_app(context=ctx), EXAMPLES)
    assert not failures, "\n\n".join(failures)
    assert ran >= 100


def test_the_fuzzer_would_catch_a_500(ctx):
    """The harness itself: an operation that crashes must be reported."""
    app = create_app(context=ctx)

    @app.get("/v1/boom", response_model=dict)
    def boom() -> dict:
        raise RuntimeError("bug")

    ran, failures = fuzz(app, 2)
    assert ran > 0 and any("/v1/boom" in f for f in failures)
