"""ASGI requests built by hand, for driving the app without a server."""

from __future__ import annotations


def post_scope(path: str, body_length: int) -> dict:
    """The scope of a JSON POST of body_length bytes to path, as gunicorn's
    asgi worker would pass it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:5000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(body_length).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 5000),
    }
