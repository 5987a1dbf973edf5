"""Fixtures for the API tests: an in-memory mart and clients for both app flavours."""

from __future__ import annotations

import falcon.testing
import pytest

from api.app import create_app, create_asgi_app
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


@pytest.fixture(params=["wsgi", "asgi"])
def make_client(request, store):
    """Build a TestClient for the WSGI or the ASGI app (every test runs both)."""
    factory = create_app if request.param == "wsgi" else create_asgi_app

    def make(config: ApiConfig = TEST_CONFIG, store: SnapshotStore = store):
        return falcon.testing.TestClient(factory(config, store=store))

    return make


@pytest.fixture
def client(make_client) -> falcon.testing.TestClient:
    return make_client()
