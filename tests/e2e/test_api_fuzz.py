"""Schemathesis fuzzes the intake and results APIs of a running fleet (holding the Dongguan example)
from their own OpenAPI documents: no request, however odd, is answered 5xx, and every answer
conforms to the documented status codes, content types and schemas.

It acts as the administrator (every route open to it), so the fuzzing reaches the handlers rather
than stopping at 401. `positive_data_acceptance` is left out on purpose: evidence that fits the
schema is still refused when it names a project nobody registered or a time in the future — by
design, and answered 4xx naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Fleet, NatsServer, bundle_events

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("fuzz")
    nats = NatsServer(workdir / "jetstream")
    nats.start()
    fleet = Fleet(nats, workdir)
    try:
        fleet.start_all()
        project = fleet.register(DONGGUAN)
        events = bundle_events(DONGGUAN)
        for start in range(0, len(events), 2000):
            fleet.push(events[start : start + 2000])
        fleet.wait_scored(project, len(events))
        yield fleet
    finally:
        fleet.stop_all()
        nats.stop()


def fuzz(fleet: Fleet, service: str) -> tuple[int, list[str]]:
    """Every operation of the service's OpenAPI document, fuzzed; (operations, failures)."""
    document = httpx.get(fleet.url(service) + "/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    base_url, headers = fleet.url(service), dict(fleet.http.headers)
    failures: list[str] = []
    operations = 0
    requests = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ENDLESS:
            continue
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            nonlocal requests
            requests += 1
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=120)

        try:
            call()
        except Exception as exc:  # every operation is fuzzed; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    print(f"{service}: {requests} fuzzed requests over {operations} operations")  # the figure, with -s
    return operations, failures


# A server-sent event stream answers 200 and never ends: a fuzzed call could only time out. It has
# its own tests (tests/e2e/test_workbench_live.py, the 401s in tests/integration/test_http_access.py).
ENDLESS = {"/v1/live"}

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)


def test_intake_answers_any_request_without_a_5xx_and_as_documented(running: Fleet) -> None:
    operations, failures = fuzz(running, "intake")
    assert operations >= 2
    assert not failures, "\n\n".join(failures)


def test_the_results_api_answers_any_request_without_a_5xx_and_as_documented(running: Fleet) -> None:
    operations, failures = fuzz(running, "reporting")
    assert operations >= 12
    assert not failures, "\n\n".join(failures)
