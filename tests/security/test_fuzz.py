"""The router's REST API fuzzed by schemathesis from its published OpenAPI document: with a
valid credential (the requests get past authentication into the handlers), with none, and with
tenant B's key on A's paths. No input may produce a 5xx or an unhandled error."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.security.conftest import SecureStack

pytestmark = [pytest.mark.security, pytest.mark.timeout(900)]
EXAMPLES = int(os.environ.get("TGI_FUZZ_EXAMPLES", "60"))


def _fuzz(secure: SecureStack, headers: dict[str, str]) -> dict[str, int]:
    """Run every operation of the schema ``EXAMPLES`` times; return status counts."""
    schema = schemathesis.openapi.from_url(secure.url("/openapi.json"))
    statuses: dict[str, int] = {}
    operations = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
    assert operations
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=secure.url(""), headers=headers, timeout=30)
            key = f"{case.method.upper()} {case.path} {response.status_code}"
            statuses[key] = statuses.get(key, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        run()
    return statuses


def test_fuzzed_requests_with_a_valid_key_never_get_a_server_error(secure: SecureStack) -> None:
    statuses = _fuzz(secure, {"X-API-Key": secure.a.key})
    # the fuzzer got past authentication into the handlers, not only 401s
    assert any(" 2" in k for k in statuses), statuses
    assert any(" 422" in k for k in statuses), statuses


def test_fuzzed_requests_without_a_credential_are_refused(secure: SecureStack) -> None:
    statuses = _fuzz(secure, {})
    for key in statuses:
        _, path, status = key.split(" ")
        if path not in {"/health", "/ready", "/metrics"}:
            assert status == "401", statuses
