"""Benchmark ``dbt build`` (all models and tests) on synthetic data.

Generates the file once per size (cached under ``build/bench/``), loads it into
a throw-away DuckDB file, a dedicated PostgreSQL database
(``voucher_bench_pipeline``) and, with ``--targets ... spark``, a throw-away
local Spark warehouse, then times ``dbt build`` end to end as the
Makefile runs it, and prints one table row per warehouse and size.

    .venv/bin/python benchmarks/bench_pipeline.py [--rows 1000000 ...]
    .venv/bin/python benchmarks/bench_pipeline.py --targets spark
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "build" / "bench"
BIN = Path(sys.executable).parent
DATABASE = "voucher_bench_pipeline"


def run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def cached_source(rows: int) -> Path:
    path = BENCH_DIR / f"pipeline-{rows}.parquet"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        generate = ["-m", "loader", "generate", "--rows", str(rows), "--seed", "1"]
        run([str(BIN / "python"), *generate, "--out", str(path)], dict(os.environ))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--targets", nargs="+", default=["duckdb", "postgres"])
    arguments = parser.parse_args()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'target':<10}{'rows':>12}{'load s':>10}{'dbt build s':>14}{'rows/s':>12}")
    for rows in arguments.rows:
        source = cached_source(rows)
        for target in arguments.targets:
            env = {
                **os.environ,
                "DBT_TARGET": target,
                "DO_NOT_TRACK": "1",
                "DBT_PROFILES_DIR": str(REPO_ROOT),
                "DUCKDB_PATH": str(BENCH_DIR / "pipeline.duckdb"),
                "PGDATABASE": DATABASE,
                "SPARK_WAREHOUSE": str(BENCH_DIR / "spark"),
                "DBT_TARGET_PATH": str(BENCH_DIR / "target"),
                "DBT_LOG_PATH": str(BENCH_DIR / "logs"),
            }
            load = run([str(BIN / "python"), "-m", "loader", "load", str(source)], env)
            build = run([str(BIN / "dbt"), "--no-version-check", "build"], env)
            print(
                f"{target:<10}{rows:>12,}{load:>10.1f}{build:>14.1f}"
                f"{rows / build:>12,.0f}"
            )
    (BENCH_DIR / "pipeline.duckdb").unlink(missing_ok=True)
    shutil.rmtree(BENCH_DIR / "spark", ignore_errors=True)


if __name__ == "__main__":
    main()
