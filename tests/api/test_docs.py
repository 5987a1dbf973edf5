"""GET /docs and its files: Swagger UI from the installed package, headers, CSP.

The docs in a real browser (offline, "Try it out", "Authorize") are tested in
tests/browser/test_api_docs.py; these tests check the files, their headers and
that the page loads nothing inline and nothing from another origin. HEAD and
ETags, the same for every static file, are tested in test_page.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from api.config import ApiConfig
from api.resources.docs import DOCS_FILES, SWAGGER_UI_FILES, swagger_ui_dir
from api.resources.page import CONTENT_SECURITY_POLICY, STATIC_DIR

# URL path -> (media type, where the served bytes come from)
FILES = {
    **{
        path: (content_type, STATIC_DIR / name)
        for path, (name, content_type) in DOCS_FILES.items()
    },
    **{
        path: (content_type, swagger_ui_dir() / name)
        for path, (name, content_type) in SWAGGER_UI_FILES.items()
    },
}


class DocsPageParser(HTMLParser):
    """The page's scripts, stylesheets, links and anything inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.references: list[str] = []
        self.ids: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        self.ids += [attributes["id"]] if "id" in attributes else []
        self.references += [
            value for name, value in attrs if name in ("src", "href") and value
        ]
        if tag == "script":
            self.scripts.append(attributes)
        self._in_script = tag == "script"
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"])
        if tag == "style" or "style" in attributes:
            self.inline.append(tag)
        self.inline += [name for name in attributes if name.startswith("on")]

    def handle_endtag(self, tag) -> None:
        self._in_script = False

    def handle_data(self, data) -> None:
        if self._in_script and data.strip():
            self.inline.append("script text")


@pytest.fixture
def docs_page(client) -> DocsPageParser:
    parser = DocsPageParser()
    parser.feed(client.simulate_get("/docs").text)
    return parser


@pytest.mark.parametrize("path", FILES)
def test_docs_files_are_served_with_type_csp_and_caching(client, path):
    content_type, source = FILES[path]
    response = client.simulate_get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert response.content == source.read_bytes()


def test_swagger_ui_comes_from_the_package_and_reads_openapi_3_1(client):
    for name, _ in SWAGGER_UI_FILES.values():
        assert (swagger_ui_dir() / name).is_file(), name
        assert not (STATIC_DIR / name).exists(), f"{name} copied into api/static/"
    bundle = client.simulate_get("/docs/swagger-ui-bundle.js").text
    # Swagger UI 5 is the first major version to render OpenAPI 3.1.
    [version] = set(re.findall(r'PACKAGE_VERSION:"([0-9.]+)"', bundle))
    assert version.startswith("5."), version


def test_the_docs_and_the_document_need_no_api_key(make_client):
    client = make_client(ApiConfig(refresh_seconds=0, api_key="k"))
    for path in [*FILES, "/openapi.json"]:
        assert client.simulate_get(path).status_code == 200, path
    assert client.simulate_get("/api/segments").status_code == 401


def test_only_get_and_head(client):
    response = client.simulate_post("/docs", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_the_page_loads_its_files_from_this_origin_and_nothing_inline(docs_page):
    assert docs_page.scripts == [
        {"src": "/docs/swagger-ui-bundle.js", "defer": None},
        {"src": "/docs/docs.js", "defer": None},
    ]
    assert docs_page.stylesheets == ["/docs/swagger-ui.css"]
    assert docs_page.inline == []
    assert "swagger-ui" in docs_page.ids


def test_every_file_the_page_references_is_served(client, docs_page):
    for reference in docs_page.references:
        if reference.startswith("data:"):
            continue  # the empty favicon
        assert reference.startswith("/"), f"{reference} is not on this origin"
        assert client.simulate_get(reference).status_code == 200, reference


def test_the_script_starts_swagger_ui_on_this_documents_url():
    script = (STATIC_DIR / "docs.js").read_text()
    assert 'url: "/openapi.json"' in script
    assert 'dom_id: "#swagger-ui"' in script
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    assert "validatorUrl: null" in script
    code = [line for line in script.splitlines() if not line.lstrip().startswith("//")]
    assert not any("://" in line for line in code), "a URL of another origin"


def test_the_openapi_document_describes_the_docs(client):
    paths = client.simulate_get("/openapi.json").json["paths"]
    for path, (content_type, _) in FILES.items():
        media_type = content_type.split(";")[0]
        for method in ("get", "head"):
            operation = paths[path][method]
            assert media_type in operation["responses"]["200"]["content"]
            assert "304" in operation["responses"]
            assert operation["tags"] == ["API docs"]
            assert "security" not in operation
