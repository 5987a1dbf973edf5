"""Benchmark ``python -m loader load`` into PostgreSQL and DuckDB.

Generates a synthetic file once (cached under ``build/bench/``), loads it into a
throw-away DuckDB file and a dedicated PostgreSQL database (``voucher_bench``)
several times, and prints the best and median wall-clock time per target with
the machine it ran on. The load is timed end to end as a user sees it:
validation, checksum, connecting, COPY/INSERT and commit.

    .venv/bin/python benchmarks/bench_load.py [--rows 1000000] [--repeat 3]
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import duckdb
import psycopg2

from dwh.settings import Target, postgres_settings
from loader.load import load_paths
from loader.synthetic import generate

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "build" / "bench"
BENCH_DATABASE = "voucher_bench"


def main() -> None:
    arguments = _parser().parse_args()
    source = _cached_source(arguments.rows, arguments.seed)
    environ = {
        **os.environ,
        "DUCKDB_PATH": str(BENCH_DIR / "bench.duckdb"),
        "PGDATABASE": BENCH_DATABASE,
    }
    print(_machine(environ))
    size_mb = source.stat().st_size / 1e6
    print(f"source: {source.relative_to(REPO_ROOT)} ({size_mb:.1f} MB)")
    print()
    header = ("target", "rows", "best s", "median s", "rows/s best", "rows/s median")
    print("{:<10} {:>11} {:>8} {:>9} {:>12} {:>14}".format(*header))
    for target in arguments.targets:
        seconds = []
        for _ in range(arguments.repeat):
            started = time.perf_counter()
            result = load_paths([source], Target(target), environ=environ, replace=True)
            seconds.append(time.perf_counter() - started)
        best, median = min(seconds), statistics.median(seconds)
        print(
            f"{target:<10} {result.row_count:>11,} {best:>8.2f} {median:>9.2f}"
            f" {result.row_count / best:>12,.0f} {result.row_count / median:>14,.0f}"
        )
    _remove_warehouses(environ)


def _remove_warehouses(environ: dict[str, str]) -> None:
    """Drop what the runs loaded; only the generated source file stays cached."""
    for path in BENCH_DIR.glob("bench.duckdb*"):
        path.unlink()
    settings = postgres_settings(environ)
    try:
        connection = psycopg2.connect(**settings.connect_kwargs("postgres"))
    except psycopg2.Error:
        return
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"drop database if exists {BENCH_DATABASE}")
    connection.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["postgres", "duckdb"],
        choices=["postgres", "duckdb"],
    )
    return parser


def _cached_source(rows: int, seed: int) -> Path:
    path = BENCH_DIR / f"vouchers_{rows}_seed{seed}.parquet"
    if not path.exists():
        print(f"generating {rows:,} rows into {path} ...", file=sys.stderr)
        generate(path, rows, seed)
    return path


def _machine(environ: dict[str, str]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    settings = postgres_settings(environ)
    try:
        connection = psycopg2.connect(**settings.connect_kwargs("postgres"))
        postgres = connection.server_version
        connection.close()
        postgres_text = f"PostgreSQL {postgres // 10000}.{postgres % 10000}"
    except psycopg2.Error:
        postgres_text = "PostgreSQL unreachable"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, load average {load}\n"
        f"software: Python {platform.python_version()}, {postgres_text},"
        f" DuckDB {duckdb.__version__}"
    )


if __name__ == "__main__":
    main()
