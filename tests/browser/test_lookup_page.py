"""The lookup page in a real browser: Debian's Chromium, headless, via Playwright.

The pipeline builds a DuckDB mart from generated data (loader + dbt, as a user
would), gunicorn serves it, and Chromium uses the page as a marketer would:
choose a country, fill in the form, submit, read the answer, the problem
details and the charts. Every rendered value is compared with what the API
itself answers. A screenshot lands in build/artifacts/lookup-page.png (the
README's copy is docs/img/lookup-page.png), and each test's last view in
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
from pathlib import Path

import pytest

from tests.api.gunicorn_server import Server, start_server
from tests.conftest import BIN, REPO_ROOT, Pipeline, require

ARTIFACT = REPO_ROOT / "build" / "artifacts" / "lookup-page.png"
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


@pytest.fixture(scope="module")
def chromium() -> str:
    """Checked first, so a machine without a browser skips before the build."""
    path = chromium_path()
    require(path is not None, MISSING.format(what="Chromium is not installed"))
    require(
        importlib.util.find_spec("playwright") is not None,
        MISSING.format(what="the playwright package is not installed"),
    )
    return path


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def server(mart, tmp_path_factory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("browser-server")
    yield from start_server(work, "api.asgi:app", mart, WEB_CONCURRENCY="1")


@pytest.fixture(scope="module")
def key_server(mart, tmp_path_factory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("browser-key-server")
    yield from start_server(
        work, "api.asgi:app", mart, WEB_CONCURRENCY="1", VOUCHER_API_KEY=API_KEY
    )


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
    failing test saw.
    """
    context = browser.new_context(viewport={"width": 1200, "height": 900})
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
    shot = ARTIFACT.parent / "browser" / f"{request.node.name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    assert errors == []


def open_page(page, server: Server) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/")
    expect(page.locator("#status")).to_contain_text("Segments loaded")


def fill_lookup(page, country: str, segment: str, **fields: str) -> None:
    """Fill the form through the labels a user reads (so the labels must work)."""
    page.get_by_label("Country").select_option(country)
    page.get_by_label("Segment", exact=True).select_option(segment)
    for label in ("Total orders", "Last order", "First order", "As of"):
        page.get_by_label(label).fill(fields.get(label, ""))
    page.get_by_label("Customer id").fill(fields.get("Customer id", ""))


def api_answer(server: Server, body: dict) -> tuple[int, dict]:
    status, _, answer = server.request("POST", "/api/vouchervalue", body)
    return status, answer


def test_a_lookup_shows_the_api_answer_and_why(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(
        page, "Peru", "frequent_segment", **{"Total orders": "7", "Customer id": "c-42"}
    )
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": 7,
            "customer_id": "c-42",
        },
    )
    assert status == 200 and expected["source"] == "segment", expected
    customer = page.locator("dt", has_text="Customer").locator("+ dd")
    expect(customer).to_have_text("c-42")
    amount = page.locator("#answer-amount")
    expect(amount).to_have_attribute("data-amount", str(expected["voucher_amount"]))
    assert amount.inner_text() == f"{expected['voucher_amount']:,}"
    source = page.locator("#answer-source")
    expect(source).to_have_attribute("data-source", "segment")
    assert source.inner_text().startswith("From the segment.")
    assert "frequent_segment 5-13 in Peru" in source.inner_text()
    # The chart of the variant that answered is marked as this customer's.
    current = page.locator("figure.variant.current")
    expect(current).to_have_attribute("data-variant", "5-13")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACT), full_page=True)

    # 45 orders: above every frequent variant, so the country-wide mode.
    fill_lookup(page, "Peru", "frequent_segment", **{"Total orders": "45"})
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": 45,
        },
    )
    assert status == 200 and expected["source"] == "country_fallback", expected
    expect(source).to_have_attribute("data-source", "country_fallback")
    assert amount.get_attribute("data-amount") == str(expected["voucher_amount"])
    assert source.inner_text().startswith(
        "Country fallback. no variant of frequent_segment holds 45 total orders"
    )


def test_a_refused_lookup_shows_the_problem_at_its_field(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(
        page,
        "Latvia",
        "recency_segment",
        **{"Last order": "2019-01-01", "As of": "2018-07-01"},
    )
    page.get_by_role("button", name="Look up voucher").click()
    status, problem = api_answer(
        server,
        {
            "country_code": "Latvia",
            "segment_name": "recency_segment",
            "last_order_ts": "2019-01-01",
            "as_of": "2018-07-01",
        },
    )
    assert status == 422, problem
    [error] = problem["errors"]
    box = page.locator("#problem")
    expect(box.locator("h3")).to_have_text(f"{problem['title']} (422)")
    expect(page.locator("#problem-detail")).to_have_text(problem["detail"])
    # Focus moves to the summary, so a screen reader reads it at once.
    expect(box).to_be_focused()
    field = page.get_by_label("Last order")
    expect(field).to_have_attribute("aria-invalid", "true")
    line = page.locator("#last_order_ts-error")
    expect(line).to_be_visible()
    expect(line).to_contain_text(f"Last order {error['detail']}")
    assert "last_order_ts-error" in field.get_attribute("aria-describedby").split()
    # The summary links to the field, also from the keyboard.
    page.keyboard.press("Tab")
    expect(box.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()

    # A required field left out: the API says which, the page shows it there.
    fill_lookup(page, "Latvia", "frequent_segment")
    page.get_by_role("button", name="Look up voucher").click()
    expect(page.locator("#total_orders-error")).to_contain_text(
        "Total orders is required for frequent_segment"
    )
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#last_order_ts-error")).to_be_hidden()


def test_each_variant_chart_has_one_bar_per_amount_and_marks_the_mode(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    status, _, catalogue = server.request("GET", "/api/segments")
    assert status == 200
    for country in catalogue["countries"]:
        page.get_by_label("Country").select_option(country["country_code"])
        for segment in country["segments"]:
            for variant in segment["variants"]:
                figure = page.locator(
                    f'figure[data-segment="{segment["segment_name"]}"]'
                    f'[data-variant="{variant["segment_variant"]}"]'
                )
                expect(figure).to_have_count(1)
                amounts = [d["voucher_amount"] for d in variant["distribution"]]
                if variant["voucher_amount"] is None:
                    expect(figure.locator("svg")).to_have_count(0)
                    expect(figure).to_contain_text("country fallback")
                    continue
                bars = figure.locator("svg g.bar")
                expect(bars).to_have_count(len(amounts))
                rendered = bars.evaluate_all("bars => bars.map(b => b.dataset.amount)")
                assert [int(amount) for amount in rendered] == amounts
                mode = figure.locator("svg g.bar.mode")
                expect(mode).to_have_count(1)
                expect(mode).to_have_attribute(
                    "data-amount", str(variant["voucher_amount"])
                )
                expect(mode).to_contain_text("mode")
                label = figure.locator("svg").get_attribute("aria-label")
                assert f"{variant['voucher_amount']:,}: " in label
                assert "(most used)" in label


def test_the_form_can_be_used_from_the_keyboard(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(page, "Peru", "recency_segment", **{"Last order": "2018-05-03"})
    page.get_by_label("As of").fill("2018-07-01")
    # Tab from the last field reaches the submit button; Enter submits.
    page.get_by_label("Customer id").focus()
    submit = page.get_by_role("button", name="Look up voucher")
    for _ in range(5):
        page.keyboard.press("Tab")
        if submit.evaluate("button => button === document.activeElement"):
            break
    expect(submit).to_be_focused()
    page.keyboard.press("Enter")
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "recency_segment",
            "last_order_ts": "2018-05-03",
            "as_of": "2018-07-01",
        },
    )
    assert status == 200, expected
    expect(page.locator("#answer-amount")).to_have_attribute(
        "data-amount", str(expected["voucher_amount"])
    )
    days = page.locator("dt", has_text="Days since last order").locator("+ dd")
    expect(days).to_have_text(f"{expected['days_since_last_order']:,}")


def test_with_an_api_key_the_page_asks_for_it_and_then_works(page, key_server):
    from playwright.sync_api import expect

    page.goto(f"{key_server.url}/")
    box = page.locator("#problem")
    expect(box.locator("h3")).to_have_text("Missing or wrong API key (401)")
    expect(box).to_contain_text("enter it under “API key”")
    expect(page.locator("#key-details")).to_have_attribute("open", "")
    key = page.get_by_label("API key")
    key.fill(API_KEY)
    key.press("Tab")  # a change event: the page loads the segments with the key
    expect(page.locator("#status")).to_contain_text("Segments loaded")
    expect(box).to_have_count(0)
    fill_lookup(page, "Peru", "frequent_segment", **{"Total orders": "7"})
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        key_server,
        {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 7},
    )
    assert status == 401  # without the key, the API itself refuses
    _, _, expected = key_server.request(
        "POST",
        "/api/vouchervalue",
        {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 7},
        {"Authorization": f"Bearer {API_KEY}"},
    )
    expect(page.locator("#answer-amount")).to_have_attribute(
        "data-amount", str(expected["voucher_amount"])
    )


def test_example_customer_fills_the_form_from_the_example_file(page, server):
    from playwright.sync_api import expect

    from api.examples import EXAMPLE_REQUEST

    open_page(page, server)
    page.get_by_role("button", name="Example customer").click()
    expect(page.locator("#status")).to_contain_text("Example customer filled in")
    for field, value in EXAMPLE_REQUEST.items():
        assert page.locator(f"#{field}").input_value() == str(value), field
    page.get_by_role("button", name="Look up voucher").click()
    expect(page.locator("#status")).to_have_text("Answer ready.")
    status, expected = api_answer(server, EXAMPLE_REQUEST)
    assert status == 200, expected
    amount = page.locator("#answer-amount")
    expect(amount).to_have_attribute("data-amount", str(expected["voucher_amount"]))
