"""Schemathesis against the live server's OpenAPI document: whatever the input that
fits (or nearly fits) the schema, the API never answers with a 5xx. Run as the
admin (the deepest code paths) and as a customer contact, on each database.

Schemathesis's pytest plugin does not load under this pytest; its Python API
drives Hypothesis here directly, operation by operation."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api_server import start, stop

FRIDAY = datetime(2026, 11, 27, 16, 45, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(scope="module")
def live(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), FRIDAY)
    yield server
    stop(uv, thread, server)


@pytest.mark.parametrize(
    "who, examples", [("admin", int(os.environ.get("UNISUPPORT_FUZZ_EXAMPLES", "25"))), ("contoso_contact", 10)]
)
def test_no_input_makes_a_server_error(live, who, examples):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    headers = {"Authorization": f"Bearer {live.tokens[who]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    server_errors: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def probe(case):
            response = case.call(headers=headers)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
                )

        probe()
    assert server_errors == []
