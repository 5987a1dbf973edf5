"""GET /docs (and HEAD): Swagger UI over this deployment's /openapi.json.

The page and its initializer are ours (api/static/docs.html and docs.js, no
inline script); Swagger UI 5 (the first to read OpenAPI 3.1) comes from the
installed swagger-ui-py package: its bundle and stylesheet only, read once at
start-up and served from memory with the lookup page's headers. No CDN: the
docs work on a machine without a network, and the browser asks this origin only.

The CSP is the lookup page's, strict for styles too (no /docs-only
'unsafe-inline'): Swagger UI 5 needs no eval and no inline script, and the
inline styles it does use (the highlighting of bodies) are set through the
CSSOM, element.style, which style-src 'self' does not block; only style
attributes in markup would be, and docs.html has none. The browser test checks
that the highlighting renders with no CSP violation.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from api.resources.page import STATIC_DIR, StaticFile, StaticFileResource


def swagger_ui_dir() -> Path:
    """The static/ folder of the installed swagger-ui-py package.

    Found without importing the package: its __init__ loads Jinja2, PyYAML and
    framework handlers that render their own page, none of which is used here.
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "swagger-ui-py is not installed (a dependency in pyproject.toml)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "static"


_HTML = "text/html; charset=utf-8"
_SCRIPT = "text/javascript; charset=utf-8"
_STYLESHEET = "text/css; charset=utf-8"

# URL path -> (file, media type): our page and initializer in api/static/ ...
DOCS_FILES = {
    "/docs": ("docs.html", _HTML),
    "/docs/docs.js": ("docs.js", _SCRIPT),
}
# ... and the two files of Swagger UI they need, from the package (the
# standalone preset and its top bar, which loads any URL typed in, are left out).
SWAGGER_UI_FILES = {
    "/docs/swagger-ui-bundle.js": ("swagger-ui-bundle.js", _SCRIPT),
    "/docs/swagger-ui.css": ("swagger-ui.css", _STYLESHEET),
}


def docs_routes() -> dict[str, StaticFileResource]:
    """URL path -> resource, for create_app; reads the files once."""
    folders = ((DOCS_FILES, STATIC_DIR), (SWAGGER_UI_FILES, swagger_ui_dir()))
    return {
        path: StaticFileResource(StaticFile.read(name, content_type, folder))
        for files, folder in folders
        for path, (name, content_type) in files.items()
    }
