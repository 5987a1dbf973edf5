"""Fixtures shared by every test suite: where things are, and real warehouses.

The pipeline fixtures run the product the way a user does (``python -m loader``
then ``dbt build``) against a throw-away DuckDB file or PostgreSQL database.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_FILE = REPO_ROOT.parent / "shared" / "data" / "data.parquet.gzip"
BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() == "true"

# The JVMs pyspark starts for the tests (the loader, dbt's session method,
# the readers; spark-submit reads SPARK_SUBMIT_OPTS) live for seconds to
# minutes, on tiny data: the C1 compiler alone and the serial collector spend
# about 40 % less CPU on a load and a build than the JVM's defaults (88 s
# against 126-150 s, measured side by side), and make test's two cores are
# busy throughout. C1 alone also shrinks the JVM's default code cache from
# 240 MB to 48 MB, which dbt's long-lived session JVM filled in one CI run
# ("Out of space in CodeCache for method handle intrinsic" mid-build), so the
# cache keeps its usual size. The cluster's nodes keep the defaults: scripts/
# spark_cluster.py starts them without the caller's SPARK_* variables.
os.environ.setdefault(
    "SPARK_SUBMIT_OPTS",
    "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m",
)


def require(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing, but fail under CI, where it never is."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data_file() -> Path:
    """The real challenge file from ../shared (never copied into the repo)."""
    require(SHARED_DATA_FILE.is_file(), f"{SHARED_DATA_FILE} is missing")
    return SHARED_DATA_FILE


def postgres_env(database: str) -> dict[str, str]:
    """libpq variables for a test database on the local server."""
    return {
        "PGHOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PGPORT": os.environ.get("PGPORT", "5432"),
        "PGUSER": os.environ.get("PGUSER", "postgres"),
        "PGPASSWORD": os.environ.get("PGPASSWORD", ""),
        "PGDATABASE": database,
    }


def postgres_connection(env: Mapping[str, str], *, admin: bool = False):
    """A psycopg2 connection to env's database (``postgres`` with autocommit
    when ``admin``, for creating and dropping databases)."""
    import psycopg2

    connection = psycopg2.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"] or None,
        dbname="postgres" if admin else env["PGDATABASE"],
        connect_timeout=3,
    )
    connection.autocommit = admin
    return connection


def postgres_reachable() -> bool:
    import psycopg2

    try:
        postgres_connection(postgres_env("postgres"), admin=True).close()
    except psycopg2.OperationalError:
        return False
    return True


def worker_suffixed(name: str) -> str:
    """``name``, made unique per pytest-xdist worker (``make test`` runs two)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def fresh_postgres_database(name: str) -> dict[str, str]:
    """Drop and create database ``name`` (this worker's own); return the env
    that points at it."""
    require(postgres_reachable(), "PostgreSQL is not reachable on PGHOST:PGPORT")
    name = worker_suffixed(name)
    env = postgres_env(name)
    connection = postgres_connection(env, admin=True)
    with connection.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}" with (force)')
        cursor.execute(f'create database "{name}"')
    connection.close()
    return env


# Prints each Spark query's rows as one line of pandas JSON (Pipeline.frames
# on Spark): one JVM for all of them.
_SPARK_FRAME = """
import sys
from dwh.settings import spark_settings
from dwh.spark import session_over
with session_over(spark_settings()) as spark:
    for query in sys.argv[1:]:
        print(spark.sql(query).toPandas().to_json(orient="split", index=False))
"""


class Pipeline:
    """Runs the loader and dbt against one warehouse, as the Makefile does."""

    def __init__(self, target: str, env: Mapping[str, str], work_dir: Path):
        self.target = target
        self.work_dir = work_dir
        self.env = {
            **os.environ,
            **env,
            "DBT_TARGET": target,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PROFILES_DIR": str(REPO_ROOT),
            # Separate artifacts so concurrent pipelines never share target/.
            "DBT_TARGET_PATH": str(work_dir / "target"),
            "DBT_LOG_PATH": str(work_dir / "logs"),
        }

    def run(
        self, *command: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    @classmethod
    def on_duckdb(cls, work_dir: Path) -> Pipeline:
        """A pipeline writing to a fresh DuckDB file in work_dir."""
        return cls(
            "duckdb", {"DUCKDB_PATH": str(work_dir / "warehouse.duckdb")}, work_dir
        )

    def generate(self, rows: int, seed: int, name: str = "vouchers") -> Path:
        """`python -m loader generate` into the work dir (once per name)."""
        path = self.work_dir / f"{name}.parquet"
        if not path.exists():
            self.run(
                str(BIN / "python"), "-m", "loader", "generate",
                "--rows", str(rows), "--seed", str(seed), "--out", str(path),
            )  # fmt: skip
        return path

    def load(self, *parquet: Path, replace: bool = False) -> str:
        """`python -m loader load` (appending, or --replace); its stderr."""
        flags = ["--replace"] if replace else []
        paths = [str(path) for path in parquet]
        command = [str(BIN / "python"), "-m", "loader", "load", *flags, *paths]
        return self.run(*command).stderr

    def unload(self, load: str) -> None:
        self.run(str(BIN / "python"), "-m", "loader", "unload", load)

    def frame(self, query: str) -> pd.DataFrame:
        """The rows of a query on this pipeline's warehouse."""
        return self.frames([query])[0]

    def frames(self, queries: Sequence[str]) -> list[pd.DataFrame]:
        """The rows of several queries (on Spark, in one process)."""
        import pandas as pd

        if self.target == "spark":
            # In a process of its own: a session in this one would keep the
            # embedded metastore locked against the next loader or dbt run.
            output = self.run(str(BIN / "python"), "-c", _SPARK_FRAME, *queries).stdout
            return [
                pd.read_json(io.StringIO(line), orient="split")
                for line in output.splitlines()
                if line.startswith("{")
            ]
        return [self._frame(query) for query in queries]

    def _frame(self, query: str) -> pd.DataFrame:
        import pandas as pd

        if self.target == "duckdb":
            import duckdb

            with duckdb.connect(self.env["DUCKDB_PATH"], read_only=True) as con:
                return con.sql(query).df()
        with postgres_connection(self.env) as con, con.cursor() as cursor:
            cursor.execute(query)
            names = [column.name for column in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    def publish(self) -> subprocess.CompletedProcess[str]:
        """Publish the last build (python -m serving publish)."""
        return self.run(str(BIN / "python"), "-m", "serving", "publish")

    def build(
        self,
        countries: Sequence[str] = ("Peru",),
        check: bool = True,
        flags: Sequence[str] = (),
        **dbt_vars: object,
    ) -> subprocess.CompletedProcess[str]:
        """dbt build for these countries, with any other dbt flags and vars
        given (by default failing the test unless the build passes)."""
        return self.run(
            str(BIN / "dbt"),
            "--no-version-check",
            "build",
            *flags,
            "--vars",
            json.dumps({"countries": list(countries), **dbt_vars}),
            check=check,
        )


@pytest.fixture
def duckdb_pipeline(tmp_path: Path) -> Pipeline:
    """A pipeline writing to a fresh DuckDB file under tmp_path."""
    return Pipeline.on_duckdb(tmp_path)


def spark_available() -> bool:
    """dbt-spark's session method needs pyspark and a Java runtime."""
    import importlib.util
    import shutil

    return (
        shutil.which("java") is not None
        and importlib.util.find_spec("pyspark") is not None
        and importlib.util.find_spec("dbt.adapters.spark") is not None
    )


def require_spark() -> None:
    require(
        spark_available(),
        "Spark is not installed: pip install -e '.[spark]' and a Java runtime",
    )


def spark_rows(env: Mapping[str, str], statement: str) -> list[tuple]:
    """The rows of a statement run in Spark, as tuples."""
    from dwh.settings import spark_settings
    from dwh.spark import session_over

    with session_over(spark_settings(env)) as spark:
        return [tuple(row) for row in spark.sql(statement).collect()]


@pytest.fixture
def spark_pipeline(tmp_path: Path) -> Pipeline:
    """A pipeline writing to a fresh local Spark warehouse under tmp_path."""
    require_spark()
    return Pipeline("spark", {"SPARK_WAREHOUSE": str(tmp_path / "spark")}, tmp_path)


@pytest.fixture
def postgres_pipeline(tmp_path: Path) -> Pipeline:
    """A pipeline writing to a freshly created PostgreSQL database."""
    return Pipeline("postgres", fresh_postgres_database("voucher_test_e2e"), tmp_path)
