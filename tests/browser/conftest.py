"""Fixtures of the browser tests: Debian's Chromium, headless, via Playwright,
against gunicorn serving a real mart.

The pipeline builds a DuckDB mart from generated data (loader + dbt, as a user
would) once for the whole package (test_lookup_page.py and test_campaign.py
share it, and the servers over it), and gunicorn serves it; Chromium is
launched once per module. Each test's last view lands in
build/artifacts/browser/.

Needs the chromium package (.ci/run installs it) and the playwright package
(the dev extra; it drives the system Chromium and downloads no browser).
Without them the tests are skipped loudly, or fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest

from tests.api.gunicorn_server import Server, start_server
from tests.conftest import BIN, REPO_ROOT, Pipeline, require

ARTIFACTS = REPO_ROOT / "build" / "artifacts"
COUNTRIES = ("Latvia", "Peru")
API_KEY = "browser-test-key"
# As root in a container: no sandbox, no GPU, and nothing that phones home.
# Playwright adds --headless and a fresh, empty --user-data-dir of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "!!! {what}: the browser tests of the lookup page are SKIPPED "
    "(CI=true makes this a failure)"
)


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="package")
def chromium() -> str:
    """Checked first, so a machine without a browser skips before the build."""
    path = chromium_path()
    require(path is not None, MISSING.format(what="Chromium is not installed"))
    require(
        importlib.util.find_spec("playwright") is not None,
        MISSING.format(what="the playwright package is not installed"),
    )
    return path


@pytest.fixture(scope="package")
def mart(chromium, tmp_path_factory) -> Path:
    """A real mart: generated vouchers, loaded and built by the pipeline."""
    work = tmp_path_factory.mktemp("browser-mart")
    database = work / "voucher.duckdb"
    pipeline = Pipeline("duckdb", {"DUCKDB_PATH": str(database)}, work)
    parquet = work / "vouchers.parquet"
    generate = ["generate", "--rows", "20000", "--seed", "7", "--out", str(parquet)]
    pipeline.run(str(BIN / "python"), "-m", "loader", *generate)
    pipeline.load(parquet)
    pipeline.build(COUNTRIES)
    pipeline.publish()
    return database


@pytest.fixture(scope="package")
def server(mart, tmp_path_factory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("browser-server")
    yield from start_server(work, "api.asgi:app", mart, WEB_CONCURRENCY="1")


@pytest.fixture(scope="package")
def key_server(mart, tmp_path_factory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("browser-key-server")
    yield from start_server(
        work, "api.asgi:app", mart, WEB_CONCURRENCY="1", VOUCHER_API_KEY=API_KEY
    )


# Per module, not per package: one thread holds one sync Playwright at a time,
# and a module that takes this fixture by import gets a copy of its own.
@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; fails the test on a script error or a CSP violation.

    Each test's last view is kept in build/artifacts/browser/, to see what a
    failing test saw. Downloads are allowed (the campaign's answered file).
    """
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))

    def console(message) -> None:
        # Chromium logs every 4xx fetch as an error; the page shows those.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", console)
    yield page
    shot = ARTIFACTS / "browser" / f"{request.node.name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    assert errors == []


def open_page(page, server: Server) -> None:
    """Load the page and wait until the pickers are filled from the API."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/")
    expect(page.locator("#status")).to_contain_text("Segments loaded")


def share(part: int, whole: int) -> str:
    """A share as the page writes it (Intl percent, at most one decimal, rounded
    half away from zero from the double part / whole; "<0.1%" for a sliver)."""
    ratio = part / whole
    if 0 < ratio < 0.001:
        return "<0.1%"
    with localcontext() as context:
        context.prec = 100  # the double's exact value, times 100
        value = (Decimal(ratio) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    text = f"{value:f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"
