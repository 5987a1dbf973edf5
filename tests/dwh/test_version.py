"""One version, written in pyproject.toml, reported everywhere it is shown."""

from __future__ import annotations

import subprocess
import tomllib

import falcon.testing
import yaml

from api.app import create_app
from api.openapi import build_openapi
from api.store import SnapshotStore
from dwh.version import VERSION, git_commit, version_info
from tests.api.fake_mart import TEST_CONFIG, InMemorySource
from tests.conftest import REPO_ROOT


def test_the_version_is_pyprojects():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == VERSION


def test_the_dbt_project_carries_the_same_version():
    # dbt wants a literal version in dbt_project.yml: this test holds it equal.
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    assert str(project["version"]) == VERSION


def test_the_commit_is_the_checkouts(monkeypatch):
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert git_commit() == head
    git_commit.cache_clear()
    monkeypatch.setenv("VOUCHER_GIT_COMMIT", "0123456789abcdef")
    try:
        assert version_info() == {"version": VERSION, "commit": "0123456789ab"}
    finally:
        git_commit.cache_clear()


def test_openapi_and_ready_report_it():
    document = build_openapi(TEST_CONFIG)
    assert document["info"]["version"] == VERSION
    store = SnapshotStore(InMemorySource(), refresh_seconds=0)
    store.refresh()
    client = falcon.testing.TestClient(create_app(TEST_CONFIG, store=store))
    ready = client.simulate_get("/ready").json
    assert (ready["version"], ready["commit"]) == (VERSION, git_commit())
