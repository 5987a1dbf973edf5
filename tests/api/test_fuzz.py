"""Schemathesis against /openapi.json: no 5xx, every response as documented.

Positive and negative cases are generated from the document itself; each one
is sent to the in-process app (over the in-memory mart) and checked by
schemathesis' default checks: no server error, status codes, content types,
headers and bodies as documented, schema-invalid input rejected with a 4xx
(all but positive_data_acceptance, see below).
The last test counts the cases, so the suite proves >= 1,000 were run.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from api.store import SnapshotStore
from tests.api.fake_mart import TEST_CONFIG, InMemorySource

MIN_CASES = 1000
CASES: list[tuple[str, int]] = []


def _app():
    store = SnapshotStore(InMemorySource(), refresh_seconds=0)
    store.refresh()
    return create_app(TEST_CONFIG, store=store)


schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    _app(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20250101,  # reproducible in CI; change it to explore
            "generation": {"mode": "all", "max-examples": 1000},
            "checks": {
                # A schema-valid body can still be refused with 422 for rules
                # JSON Schema cannot state (a last order after the reference
                # time, 2024-02-30, last before first), as the document says.
                "positive_data_acceptance": {"enabled": False},
            },
        }
    ),
)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_response_conforms_and_nothing_is_5xx(case):
    response = case.call_and_validate()
    assert response.status_code < 500, response.text
    CASES.append((case.operation.label, response.status_code))


def test_enough_cases_were_generated():
    """Runs after the fuzzing above (pytest keeps file order), in the same
    process (make test's pytest-xdist sends a file whole to one)."""
    lookups = [status for label, status in CASES if "vouchervalue" in label]
    assert len(CASES) >= MIN_CASES, f"only {len(CASES)} cases"
    operations = {result.ok().label for result in schema.get_all_operations()}
    fuzzed = {label for label, _ in CASES}
    assert fuzzed == operations, f"never fuzzed: {sorted(operations - fuzzed)}"
    print(f"{len(CASES)} cases; lookup statuses: {Counter(lookups)}")
    # Both valid and invalid bodies reached the lookup route.
    assert 200 in lookups and 422 in lookups, sorted(set(lookups))
