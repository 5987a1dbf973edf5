"""Fixtures for the API tests: an in-memory mart and clients of the app over it."""

from __future__ import annotations

import falcon.testing
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.store import SnapshotStore
from tests.api.fake_mart import TEST_CONFIG, InMemorySource


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
