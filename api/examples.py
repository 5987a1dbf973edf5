"""The example lookup: one file, api/static/example-request.json.

The OpenAPI document, the lookup page ("Example customer", which fetches the
file), the benchmark and the tests all read it from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLE_REQUEST_FILE = Path(__file__).resolve().parent / "static/example-request.json"
EXAMPLE_REQUEST: dict[str, Any] = json.loads(EXAMPLE_REQUEST_FILE.read_text())
