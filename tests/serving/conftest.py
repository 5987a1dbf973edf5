"""A warehouse with a published build, and a copy of the dbt project that a
test may plant a failing test in, for the write-audit-publish tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import falcon.testing
import pytest

from api.app import create_app
from api.config import ApiConfig
from dwh.settings import Target
from tests.conftest import BIN, REPO_ROOT, Pipeline, fresh_postgres_database

# What `dbt build` reads; tests/ holds the singular tests and their YAML.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds")
ROWS = 4000


class Project(Pipeline):
    """The pipeline over a private copy of the dbt project."""

    def __init__(self, target: str, env: dict[str, str], work_dir: Path) -> None:
        self.root = work_dir / "project"
        self.root.mkdir()
        for name in PROJECT_FILES:
            shutil.copy(REPO_ROOT / name, self.root / name)
        for name in PROJECT_FOLDERS:
            shutil.copytree(REPO_ROOT / name, self.root / name)
        shutil.copytree(
            REPO_ROOT / "tests" / "fixtures", self.root / "tests" / "fixtures"
        )
        for path in (REPO_ROOT / "tests").glob("*"):
            if path.suffix in (".sql", ".yml"):
                shutil.copy(path, self.root / "tests" / path.name)
        super().__init__(target, env, work_dir)
        self.env["DBT_PROFILES_DIR"] = str(self.root)

    def dbt_command(self, *args: str) -> tuple[str, ...]:
        return (
            str(BIN / "dbt"), "--no-version-check", *args,
            "--project-dir", str(self.root),
        )  # fmt: skip

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = self.dbt_command(*args)
        return self.run(*command) if check else self.run_unchecked(*command)

    def run_unchecked(
        self,
        *command: str,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess:
        """Run a command as a user would; the test judges its outcome."""
        return subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def serving(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """python -m serving ..., with extra environment variables."""
        return self.run_unchecked(str(BIN / "python"), "-m", "serving", *args, env=env)

    def popen_dbt(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.dbt_command(*args),
            cwd=REPO_ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def plant_test(self, name: str, sql: str) -> Path:
        path = self.root / "tests" / f"{name}.sql"
        path.write_text(sql)
        return path

    def fresh_api(self) -> falcon.testing.TestClient:
        """An API process started now: it knows only what the warehouse says."""
        config = ApiConfig.from_env({**self.env, "VOUCHER_API_REFRESH_SECONDS": "0"})
        return falcon.testing.TestClient(create_app(config))

    def served_invocation(self) -> str | None:
        ready = self.fresh_api().simulate_get("/ready")
        return (ready.json.get("build") or {}).get("invocation_id")

    def last_invocation(self) -> str:
        import json

        results = Path(self.env["DBT_TARGET_PATH"]) / "run_results.json"
        return json.loads(results.read_text())["metadata"]["invocation_id"]


@dataclass
class Published:
    project: Project
    first: str  # invocation id of the build published by the fixture


def kill_after(process: subprocess.Popen, marker: str, timeout: float = 300) -> str:
    """Read dbt's output until a line contains marker, then SIGKILL it."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=timeout)
            return "".join(seen)
    raise AssertionError(f"dbt ended before {marker!r}:\n{''.join(seen)[-3000:]}")


def _published(target: str, env: dict[str, str], work: Path) -> Published:
    project = Project(target, env, work)
    project.load(project.generate(ROWS, seed=11, name="first"))
    project.dbt("build")
    result = project.serving("publish")
    assert result.returncode == 0, result.stderr
    return Published(project, project.last_invocation())


@pytest.fixture(scope="module", params=[Target.DUCKDB.value, Target.POSTGRES.value])
def published(request, tmp_path_factory) -> Iterator[Published]:
    """A warehouse (DuckDB, then PostgreSQL) with one published build."""
    work = tmp_path_factory.mktemp(f"publish-{request.param}")
    if request.param == Target.POSTGRES.value:
        env = fresh_postgres_database("voucher_test_publish")
    else:
        env = {"DUCKDB_PATH": str(work / "warehouse.duckdb")}
    yield _published(request.param, env, work)
