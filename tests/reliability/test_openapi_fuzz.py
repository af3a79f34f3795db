"""Schemathesis against the OpenAPI of the reference services and of the REST gateway, both in
process (ASGI, no socket); the gateway talks to the real dev server, where a real worker runs the
campaigns the fuzzer creates.

Every operation gets generated requests, schema-valid and schema-violating; no answer may be a
5xx, and every answer of the reference services must be documented: its status code, content
type, headers and body schema (for the gateway, see GATEWAY_CHECKS). PUT/PATCH /admin/faults are
fuzzed too, so the fault config is put back to "no faults" after each case.
Examples per operation: 15 by default, 100 with RELIABILITY_SCALE=full.

Checks left out, on purpose (see docs/reliability.md, "OpenAPI fuzzing"):
- positive_data_acceptance: custom validators (unique channels, keyword length, retry interval
  order, fault rates adding up to 1 at most) are not expressible in JSON Schema, so some
  schema-valid bodies get a documented 422;
- negative_data_rejection: pydantic's lax mode coerces, e.g. `false` -> 0.0 for a number;
- unsupported_method: Starlette's 405 lists only the first matching route's method in `Allow`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.stack import DevStack
from reference_services import FaultConfig, create_app
from reference_services.settings import ReferenceSettings
from rest_gateway.app import create_app as create_gateway
from rest_gateway.settings import GatewaySettings
from tests.reliability.support import FULL, WorkerProcess, new_queue

APP = create_app(ReferenceSettings(log_level="WARNING"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


FUZZ = settings(
    max_examples=100 if FULL else 15,
    derandomize=not FULL,  # CI: the same cases every run; full: new ones each time
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_reference_services_answer_as_documented(case: schemathesis.Case[Any]) -> None:
    try:
        case.call_and_validate(checks=CHECKS)
    finally:
        APP.state.services.faults.replace(FaultConfig())


def test_the_fuzzed_schema_covers_every_service() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {"/v1/publisher/publications", "/admin/faults", "/admin/effects"} <= paths


# The gateway connects to Temporal lazily (in schemathesis' event loop thread), through Temporal's
# envconfig as in production; `gateway_stack` points that at the shared stack first.
GATEWAY_QUEUE = new_queue("gateway-fuzz")
GATEWAY = create_gateway(GatewaySettings(query_timeout_seconds=5), task_queue=GATEWAY_QUEUE)
gateway_schema = schemathesis.openapi.from_asgi("/openapi.json", GATEWAY)


@pytest.fixture(scope="module")
def gateway_stack(stack: DevStack) -> Iterator[None]:
    worker = WorkerProcess(stack, "worker-gateway", GATEWAY_QUEUE)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TEMPORAL_ADDRESS", stack.config.temporal_address)
        env.setenv("TEMPORAL_NAMESPACE", "default")
        worker.start()
        try:
            yield
        finally:
            worker.stop()


# Not yet for the gateway: status_code_conformance and response_schema_conformance. Known
# findings (docs/reliability.md): a body that is not JSON gets an undocumented 400, and an invalid
# campaign reference gets a 422 with {"error", "detail"}, where the schema documents FastAPI's
# HTTPValidationError for 422. Add them to the list once the gateway documents both.
GATEWAY_CHECKS = [not_a_server_error, content_type_conformance, response_headers_conformance]


@pytest.mark.integration
@gateway_schema.parametrize()
@FUZZ
def test_the_rest_gateway_never_answers_with_a_server_error(
    case: schemathesis.Case[Any], gateway_stack: None
) -> None:
    case.call_and_validate(checks=GATEWAY_CHECKS)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
