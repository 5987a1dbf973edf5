"""Renders the report to one self-contained HTML file (Jinja2, autoescaped).

The page loads nothing from anywhere: styles are inline and the charts are
PNG data URIs, so the file can be mailed, archived or opened offline.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dwh.version import version_info
from report.sections import Report

TEMPLATES = Path(__file__).with_name("templates")


def render_report(report: Report) -> str:
    """The report as an HTML document."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["number"] = _number
    environment.filters["percent"] = _percent
    environment.filters["instant"] = _instant
    environment.filters["slug"] = slug
    return environment.get_template("report.html").render(
        report=report, about=version_info()
    )


def slug(value: str) -> str:
    """A name usable in an element id: 'New Zealand' -> 'new-zealand'."""
    return re.sub(r"[^a-z0-9_]+", "-", value.lower()).strip("-")


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _percent(share: float) -> str:
    return f"{share:.2%}"


def _instant(value: datetime | None) -> str:
    """Warehouse timestamps are naive UTC (see the staging models)."""
    return "unknown" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"
