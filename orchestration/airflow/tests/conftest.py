"""Settings for the Airflow tests: everything under build/airflow/ of the product.

Run by `make airflow-test`, through ``orchestration/airflow/airflow.sh run pytest``
with the Airflow virtualenv's pytest (the product's suite never collects this
folder: its testpaths are ``tests``). The environment is set here, before
anything imports Airflow, and inherited by every ``airflow`` subprocess: a fresh
SQLite metadata database, its own DuckDB warehouse and dbt target folder (so it
never touches what `make run` or `make test` built), the demo data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

PROJECT_DIR = Path(
    os.environ.get("VOUCHER_PROJECT_DIR") or Path(__file__).resolve().parents[3]
)
WORK = PROJECT_DIR / "build" / "airflow"
DATA = PROJECT_DIR / "build" / "demo"

if "AIRFLOW__CORE__DAGS_FOLDER" not in os.environ:
    raise pytest.UsageError(
        "run these tests through `make airflow-test`"
        " (orchestration/airflow/airflow.sh run pytest ...)"
    )
os.environ.update(
    {
        "AIRFLOW_HOME": str(WORK / "home"),
        "DBT_TARGET": "duckdb",
        "DUCKDB_PATH": str(WORK / "voucher.duckdb"),
        "DBT_TARGET_PATH": str(WORK / "target"),
        "DBT_LOG_PATH": str(WORK / "logs"),
        "VOUCHER_DATA": str(DATA),
        # One retry, a second apart: retries are exercised, the test stays short.
        "VOUCHER_DBT_RETRIES": "1",
        "VOUCHER_RETRY_DELAY_SECONDS": "1",
        # `make test` runs these tests beside pytest: on that loaded machine,
        # parsing the DAG file (cosmos lists the dbt project) can take longer
        # than Airflow's default 30 s, which then reports the DAG as missing.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
    }
)
os.environ.pop("VOUCHER_DBT_VARS", None)


@pytest.fixture(scope="session", autouse=True)
def airflow_database() -> None:
    """A fresh warehouse and a migrated SQLite metadata database, once."""
    if not DATA.exists():
        pytest.fail(f"no demo data at {DATA}: run `make demo-data`")
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "home").mkdir(parents=True)
    run(["airflow", "db", "migrate"], check=True)


def run(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    log: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with the test settings (plus ``env``), output captured
    (and kept in build/airflow/``log``, to read after a failure)."""
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if log:
        (WORK / log).write_text(result.stdout + result.stderr)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{_tail(result)}")
    return result


def _tail(result: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def published_builds() -> list[str]:
    """`python -m serving history` of the test warehouse: one line per build."""
    if not Path(os.environ["DUCKDB_PATH"]).exists():
        return []  # nothing loaded, so nothing published
    result = run([str(PROJECT_DIR / ".venv/bin/python"), "-m", "serving", "history"])
    assert result.returncode == 0, _tail(result)
    return [line for line in result.stdout.splitlines() if line.startswith("#")]
