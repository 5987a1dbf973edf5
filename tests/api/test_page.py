"""GET / and its files: headers, caching, and an HTML page a browser can use.

The page's behaviour in a real browser is tested in tests/browser/; these tests
check what can be checked without one: the files, their headers, and that the
HTML gives every input a label and loads nothing inline.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest

from api.config import ApiConfig
from api.resources.docs import DOCS_FILES, SWAGGER_UI_FILES
from api.resources.page import CONTENT_SECURITY_POLICY, STATIC_DIR
from tests.api.fake_mart import REQUEST_FIELDS

PAGE_FILES = {
    "/": "text/html; charset=utf-8",
    "/static/app.js": "text/javascript; charset=utf-8",
    "/static/csv.js": "text/javascript; charset=utf-8",
    "/static/style.css": "text/css; charset=utf-8",
    "/static/campaign-template.csv": "text/csv; charset=utf-8",
}
# Every file served from memory with the page's headers: the page's own and
# the interactive docs' (test_docs.py checks those files' types and bytes).
STATIC_PATHS = [*PAGE_FILES, *DOCS_FILES, *SWAGGER_UI_FILES]
TEMPLATE = "/static/campaign-template.csv"


class PageParser(HTMLParser):
    """Collects the elements the checks below need."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: list[str] = []
        self.ids: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.inline_styles = 0
        self.handlers: list[str] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag in ("input", "select", "textarea"):
            self.controls.append(attributes)
        if tag == "label" and attributes.get("for"):
            self.label_for.append(attributes["for"])
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style" or "style" in attributes:
            self.inline_styles += 1
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"])
        self.handlers += [name for name in attributes if name.startswith("on")]

    def handle_endtag(self, tag) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data) -> None:
        if self._in_script:
            self.script_text += data


@pytest.fixture
def page(client) -> PageParser:
    parser = PageParser()
    parser.feed(client.simulate_get("/").text)
    return parser


@pytest.mark.parametrize(("path", "content_type"), PAGE_FILES.items())
def test_page_files_are_served_with_type_csp_and_caching(client, path, content_type):
    response = client.simulate_get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    name = "index.html" if path == "/" else path.rsplit("/", 1)[1]
    assert response.content == (STATIC_DIR / name).read_bytes()


def test_the_csp_allows_only_this_origin():
    directives = dict(
        part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";")
    )
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", STATIC_PATHS)
def test_head_gives_the_headers_of_get_without_a_body(client, path):
    get = client.simulate_get(path)
    head = client.simulate_head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    for header in ("content-type", "etag", "content-security-policy"):
        assert head.headers[header] == get.headers[header]


@pytest.mark.parametrize("path", STATIC_PATHS)
def test_a_matching_etag_is_a_304_without_a_body(client, path):
    etag = client.simulate_get(path).headers["etag"]
    for offered in (etag, f'"other", {etag}', "*"):
        response = client.simulate_get(path, headers={"If-None-Match": offered})
        assert response.status_code == 304, offered
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    stale = client.simulate_get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_the_page_needs_no_api_key_but_its_calls_do(make_client):
    client = make_client(ApiConfig(refresh_seconds=0, api_key="k"))
    for path in PAGE_FILES:
        assert client.simulate_get(path).status_code == 200
    assert client.simulate_get("/api/segments").status_code == 401


def test_only_get_and_head(client):
    response = client.simulate_post("/", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_every_control_has_a_label_and_a_unique_id(page):
    assert page.controls, "no form controls found"
    for control in page.controls:
        assert control.get("id"), control
        assert page.label_for.count(control["id"]) == 1, control
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"


def test_every_request_field_has_an_input_and_an_error_line(page):
    names = [control.get("name") for control in page.controls]
    for field in REQUEST_FIELDS:
        assert names.count(field) == 1, field
        assert f"{field}-error" in page.ids, field


def test_described_by_points_at_elements_that_exist(page):
    for control in page.controls:
        for target in (control.get("aria-describedby") or "").split():
            assert target in page.ids, (control["id"], target)


def test_nothing_inline_that_the_csp_would_block(page):
    # csv.js first: deferred scripts run in document order, and app.js uses it.
    assert page.scripts == [
        {"src": "/static/csv.js", "defer": None},
        {"src": "/static/app.js", "defer": None},
    ]
    assert page.script_text.strip() == ""
    assert page.stylesheets == ["/static/style.css"]
    assert page.inline_styles == 0
    assert page.handlers == []


def test_the_script_only_looks_up_ids_the_page_has(page):
    script = (STATIC_DIR / "app.js").read_text()
    wanted = set(re.findall(r'getElementById\("([^"]+)"\)', script))
    assert wanted, "the pattern no longer finds the look-ups"
    assert wanted <= set(page.ids), wanted - set(page.ids)
    # The fields it lists are the request's fields.
    listed = re.search(r"const FIELDS = \[(.*?)\];", script, re.S).group(1)
    assert sorted(re.findall(r'"(\w+)"', listed)) == sorted(REQUEST_FIELDS)


def test_the_openapi_document_describes_the_page(client):
    paths = client.simulate_get("/openapi.json").json["paths"]
    for path, content_type in PAGE_FILES.items():
        media_type = content_type.split(";")[0]
        for method in ("get", "head"):
            operation = paths[path][method]
            assert media_type in operation["responses"]["200"]["content"]
            assert "security" not in operation


def test_the_campaign_template_names_every_field_and_the_batch_route_takes_it(client):
    """The template the page offers: every request field as a column, and
    example rows the batch route answers (the in-memory mart covers Peru)."""
    assert f'href="{TEMPLATE}"' in client.simulate_get("/").text
    text = client.simulate_get(TEMPLATE).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(rows[0]) == sorted(REQUEST_FIELDS)
    assert 2 <= len(rows) <= 5
    # As the page sends a row: empty cells left out, whole numbers as numbers.
    customers = [
        {
            field: int(value) if field == "total_orders" else value
            for field, value in row.items()
            if value != ""
        }
        for row in rows
    ]
    response = client.simulate_post("/api/vouchervalues", json={"customers": customers})
    assert response.status_code == 200, response.text
    assert response.json["counts"]["refused"] == 0, response.json["results"]
    assert [r["answer"]["customer_id"] for r in response.json["results"]] == [
        row["customer_id"] for row in rows
    ]
