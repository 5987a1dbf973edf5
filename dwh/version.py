"""The product's one version number, from pyproject.toml, and the git commit.

pyproject.toml is the only place the version is written (dbt_project.yml
must carry a literal one; a test holds it equal). From a source checkout the
version is read from pyproject.toml itself, so an editable install never
reports a stale one; an installed wheel without the source reports its own
metadata. The commit is VOUCHER_GIT_COMMIT (the Docker image is built
without .git: pass `--build-arg GIT_COMMIT=...`), else `git rev-parse` of the
checkout, else unknown (None).
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import tomllib
from functools import cache
from pathlib import Path

DISTRIBUTION = "voucher-selection"
REPO = Path(__file__).resolve().parents[1]


def _version() -> str:
    pyproject = REPO / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text())["project"]
        if project.get("name") == DISTRIBUTION:
            return project["version"]
    return importlib.metadata.version(DISTRIBUTION)


VERSION = _version()


@cache
def git_commit() -> str | None:
    """The commit this code is at (12 hex digits), or None if unknown."""
    commit = os.environ.get("VOUCHER_GIT_COMMIT", "").strip()
    if commit:
        return commit[:12]
    if not (REPO / ".git").exists():
        return None
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def version_info() -> dict[str, str | None]:
    """{"version": ..., "commit": ...}, as the API, the report and logs show it."""
    return {"version": VERSION, "commit": git_commit()}
