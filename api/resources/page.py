"""GET / (and HEAD /): the lookup page, with its script and stylesheet.

Static files from api/static/ (the page, its scripts and stylesheet, the
example lookup the page can fill in and the campaign CSV template it offers
for download), read once at start-up and served from
memory. The page calls the API from the browser like any other client, so it
needs no API key of its own and sees exactly what a client would see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import falcon

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# Everything from this origin, nothing inline, nothing from elsewhere: the page
# is one HTML file, its scripts and one stylesheet. img-src allows data: for the
# empty favicon (no /favicon.ico round trip ending in a 404).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Revalidate on every load (a cheap 304 via the ETag): the files change with
# each deployment and their names carry no version.
CACHE_CONTROL = "no-cache"

# URL path -> (file in api/static/, media type)
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/csv.js": ("csv.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
    "/static/example-request.json": ("example-request.json", "application/json"),
    "/static/campaign-template.csv": (
        "campaign-template.csv",
        "text/csv; charset=utf-8",
    ),
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file's bytes, media type and strong ETag (a hash of the bytes)."""

    body: bytes
    content_type: str
    etag: str

    @classmethod
    def read(
        cls, name: str, content_type: str, directory: Path = STATIC_DIR
    ) -> StaticFile:
        body = (directory / name).read_bytes()
        return cls(body, content_type, hashlib.sha256(body).hexdigest()[:32])


class StaticFileResource:
    """Serves one StaticFile with the page's security and caching headers."""

    def __init__(self, static_file: StaticFile) -> None:
        self._file = static_file

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.etag = self._file.etag
        resp.cache_control = [CACHE_CONTROL]
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")
        if self._not_modified(req):
            resp.status = falcon.HTTP_NOT_MODIFIED  # no body, so no Content-Type
            return
        resp.content_type = self._file.content_type
        # Also for HEAD: Falcon sends the length of data and drops the body.
        resp.data = self._file.body

    on_head = on_get

    def _not_modified(self, req: falcon.Request) -> bool:
        offered = req.if_none_match
        return bool(offered) and any(
            tag == "*" or tag == self._file.etag for tag in offered
        )


def page_routes() -> dict[str, StaticFileResource]:
    """URL path -> resource, for create_app; reads the files once."""
    return {
        path: StaticFileResource(StaticFile.read(name, content_type))
        for path, (name, content_type) in PAGE_FILES.items()
    }
