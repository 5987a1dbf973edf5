"""The API docs (GET /docs) in a real browser, with the network blocked.

Debian's Chromium, headless via Playwright, loads Swagger UI from gunicorn over
the browser tests' shared mart (conftest.py). Every request is recorded and
any for another host is aborted, so the tests prove the docs need nothing
from elsewhere: no CDN, no validator badge, no font. They read the
operations, run the example lookup with "Try it out" and, with
VOUCHER_API_KEY set, call a protected route through "Authorize". A script
error, a console error or a CSP violation fails the test. Each test's last
view lands in build/artifacts/browser/.

Chromium, Playwright and the servers come from conftest.py's fixtures
(skipped when missing, failing under CI=true).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from api.examples import EXAMPLE_REQUEST
from tests.api.gunicorn_server import Server
from tests.browser.conftest import API_KEY, ARTIFACTS

# What loading /docs may fetch: the page, its three files and the document.
PAGE_LOAD = {
    "/docs",
    "/docs/swagger-ui.css",
    "/docs/swagger-ui-bundle.js",
    "/docs/docs.js",
    "/openapi.json",
}
# Recorded in the page itself, from the standard event, besides what Chromium
# writes to the console about a refusal.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@dataclass
class Tab:
    """A page of Chromium, with every URL it asked for and every error it saw."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open_docs(self, server: Server) -> None:
        from playwright.sync_api import expect

        self.page.goto(f"{server.url}/docs")
        expect(self.page.locator(".opblock").first).to_be_visible()

    def elsewhere(self, server: Server) -> list[str]:
        """The URLs asked for that are not on the server's origin."""
        return [url for url in self.requests if not url.startswith(f"{server.url}/")]

    def csp_violations(self) -> list[str]:
        """Since the page was loaded (an error page of Chromium has none)."""
        return self.page.evaluate("window.cspViolations || []")

    def operation(self, operation_id: str):
        """An operation, expanded (Swagger UI's ids: operations-<tag>-<id>)."""
        from playwright.sync_api import expect

        operation = self.page.locator(f"#operations-default-{operation_id}")
        operation.locator(".opblock-summary").click()
        expect(operation.get_by_role("button", name="Try it out")).to_be_visible()
        return operation


@pytest.fixture
def tab(browser, request) -> Iterator[Tab]:
    """A fresh page that cannot reach past this machine; fails the test on a
    script error, a console error or a CSP violation."""
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    tab = Tab(page)

    def only_this_machine(route) -> None:
        tab.requests.append(route.request.url)
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort("internetdisconnected")

    context.route("**/*", only_this_machine)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: tab.errors.append(f"script error: {error}"))

    def console(message) -> None:
        # Chromium logs every 4xx fetch as an error; Swagger UI shows those.
        if message.type == "error" and "Failed to load resource" not in message.text:
            tab.errors.append(f"console: {message.text}")

    page.on("console", console)
    yield tab
    shot = ARTIFACTS / "browser" / f"{request.node.name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    violations = tab.csp_violations()
    context.close()
    assert tab.errors == []
    assert violations == []


def test_the_docs_list_every_operation_and_load_nothing_from_elsewhere(tab, server):
    from playwright.sync_api import expect

    tab.open_docs(server)
    _, _, document = server.request("GET", "/openapi.json")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    blocks = tab.page.locator(".opblock")
    expect(blocks).to_have_count(len(documented))
    listed = blocks.evaluate_all(
        """blocks => blocks.map(block => [
             block.querySelector(".opblock-summary-method").textContent,
             block.querySelector(".opblock-summary-path").dataset.path])"""
    )
    assert {tuple(pair) for pair in listed} == documented
    assert {"/api/vouchervalue", "/api/segments"} <= {path for _, path in listed}
    expect(tab.page.locator(".info .title")).to_contain_text(document["info"]["title"])
    # Swagger UI 5, the first to render OpenAPI 3.1; no key needed to read.
    version = tab.page.evaluate("window.versions.swaggerUI.version")
    assert version.startswith("5."), version
    expect(tab.page.locator(".btn.authorize")).to_have_count(0)
    # Nothing but this origin, and only the files the page needs.
    assert tab.elsewhere(server) == []
    assert {urlsplit(url).path for url in tab.requests} == PAGE_LOAD


def test_try_it_out_runs_the_example_lookup(tab, server):
    from playwright.sync_api import expect

    tab.open_docs(server)
    lookup = tab.operation("voucherValue")
    lookup.get_by_role("button", name="Try it out").click()
    with tab.page.expect_response(f"{server.url}/api/vouchervalue") as sent:
        lookup.get_by_role("button", name="Execute").click()
    assert sent.value.request.post_data_json == EXAMPLE_REQUEST
    status, _, expected = server.request("POST", "/api/vouchervalue", EXAMPLE_REQUEST)
    assert status == sent.value.status == 200, expected

    live = lookup.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    body = live.locator(".highlight-code pre").first
    shown = json.loads(body.inner_text())
    for key in ("country_code", "segment_variant", "voucher_amount", "source"):
        assert shown[key] == expected[key], key
    # The highlighting is set through style properties (the CSSOM), which
    # style-src 'self' allows: the strict CSP still renders it.
    assert body.get_attribute("style"), "no highlighting style"
    background = body.evaluate("pre => getComputedStyle(pre).backgroundColor")
    assert background == "rgb(51, 51, 51)", background
    assert tab.elsewhere(server) == []


def test_authorize_sends_the_api_key_as_a_bearer_token(tab, key_server):
    from playwright.sync_api import expect

    tab.open_docs(key_server)
    segments = tab.operation("segments")
    segments.get_by_role("button", name="Try it out").click()
    execute = segments.get_by_role("button", name="Execute")
    execute.click()
    status = segments.locator(".live-responses-table .response .response-col_status")
    expect(status).to_have_text("401")

    tab.page.locator(".auth-wrapper .btn.authorize").click()
    dialog = tab.page.locator(".modal-ux")
    expect(dialog).to_contain_text("(http, Bearer)")
    dialog.locator("input").fill(API_KEY)
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close", exact=True).click()
    with tab.page.expect_request(f"{key_server.url}/api/segments") as sent:
        execute.click()
    assert sent.value.headers["authorization"] == f"Bearer {API_KEY}"
    expect(status).to_have_text("200")
    shown = json.loads(segments.locator(".highlight-code pre").first.inner_text())
    _, _, expected = key_server.request(
        "GET", "/api/segments", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert shown == expected
    assert tab.elsewhere(key_server) == []


def test_the_guards_catch_what_they_guard(tab, server):
    """The checks above would notice: another host is aborted and recorded, and
    the CSP's refusals are seen."""
    from playwright.sync_api import Error

    tab.open_docs(server)
    refused = tab.page.evaluate(
        """() => fetch("https://example.com/").then(() => "fetched", () => "refused")"""
    )
    assert refused == "refused"
    assert tab.csp_violations() == ["connect-src https://example.com/"]
    tab.page.evaluate("window.cspViolations.length = 0")
    tab.errors.clear()  # Chromium also logs the refusal to the console

    with pytest.raises(Error, match="ERR_INTERNET_DISCONNECTED"):
        tab.page.goto("https://example.com/")
    assert tab.requests[-1] == "https://example.com/"
