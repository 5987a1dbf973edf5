"""Fixtures for the API tests: an in-memory mart and clients of the app over it."""

from __future__ import annotations

import falcon.testing
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.store import SnapshotStore
from tests.api.fake_mart import TEST_CONFIG, InMemorySource


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each operation schemathesis fuzzes a node id of its own.

    schemathesis names its items ``test[POST /api/vouchervalue]`` but gives
    them all the test function's node id; pytest-xdist (make test) schedules
    by node id, so all but one operation would silently never run.
    test_fuzz.py's last test checks that every operation was fuzzed.
    """
    from schemathesis.pytest.plugin import SchemathesisFunction

    for item in items:
        if isinstance(item, SchemathesisFunction):
            # What pytest itself computes for an item it collects (private:
            # pytest 9's structured node id).
            item._id = item.parent.id.child(item.name)


@pytest.fixture
def fake_source() -> InMemorySource:
    return InMemorySource()


@pytest.fixture
def store(fake_source: InMemorySource) -> SnapshotStore:
    store = SnapshotStore(fake_source, refresh_seconds=0)
    assert store.refresh(), "the fake mart must load"
    return store


@pytest.fixture
def make_client(store):
    """Build a TestClient for the app, with another config or store if given."""

    def make(config: ApiConfig = TEST_CONFIG, store: SnapshotStore = store):
        return falcon.testing.TestClient(create_app(config, store=store))

    return make


@pytest.fixture
def client(make_client) -> falcon.testing.TestClient:
    return make_client()
