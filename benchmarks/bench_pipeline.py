"""The pipeline against a pandas script and one DuckDB query, side by side.

On the same generated file (cached under ``build/bench/``), per size:

(a) the pipeline as users run it: ``python -m loader load``, ``dbt build``,
    ``python -m serving publish``, on each warehouse (a throw-away DuckDB file,
    the PostgreSQL database ``voucher_bench_pipeline``; ``--targets ... spark``
    a throw-away local Spark warehouse, ``spark_cluster`` the running cluster
    of ``make spark-cluster``, its databases dropped first; a Spark build is
    published into the throw-away DuckDB file);
(b) the pandas oracle (tests/pipeline/oracle.py), applying the same rules;
(c) one hand-written DuckDB query over the Parquet file
    (benchmarks/reference_duckdb.py).

Each step runs as its own process, so its peak memory (max RSS, from wait4)
is its own. It checks that (a), (b) and (c) give the same modes and counts,
and prints the times, rows/s, peak memory and the ratios (a)/(c) and
(b)/(a) (targets: DuckDB at 10M rows (a) <= 3x (c) and (b)/(a) >= 1.5;
PostgreSQL <= 2.5x DuckDB's pipeline). Each build's time is split, from its
run_results.json, into dbt's own (before the first node, after the last)
and the nodes'. The 1,000-row run is the pipeline's fixed cost: what it
takes whatever the data.

    .venv/bin/python benchmarks/bench_pipeline.py        # 1,000, 1M and 10M
    .venv/bin/python benchmarks/bench_pipeline.py --rows 1000000 --targets duckdb
    .venv/bin/python benchmarks/bench_pipeline.py --append 10000000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "build" / "bench"
BIN = Path(sys.executable).parent
DATABASE = "voucher_bench_pipeline"
COUNTRIES = ("Peru",)
# One answer row: country, segment, variant, amount, its count, the variant's
# vouchers; country-wide rows have segment and variant None.
SEGMENT_COLUMNS = (
    "country_code",
    "segment_name",
    "segment_variant",
    "voucher_amount",
    "voucher_amount_count",
    "segment_voucher_count",
)
COUNTRY_COLUMNS = (
    "country_code",
    "voucher_amount",
    "voucher_amount_count",
    "country_voucher_count",
)


@dataclass
class Step:
    seconds: float
    peak_mb: float
    output: str = ""
    started_at: float = 0.0  # Unix time the process was started


def run(command: list[str], env: dict[str, str]) -> Step:
    """Run a command to completion: wall time, its own peak RSS, its stdout."""
    started_at = time.time()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=errors,
            text=True,
        )  # fmt: skip
        output = process.stdout.read()
        # wait4, not wait: it also gives the child's own resource usage.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read()[-3000:]}")
    return Step(seconds, usage.ru_maxrss / 1024, output, started_at)


def cached_source(rows: int, seed: int = 1) -> Path:
    path = BENCH_DIR / f"pipeline-{rows}{'' if seed == 1 else f'-seed{seed}'}.parquet"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        generate = [
            "-m",
            "loader",
            "generate",
            "--rows",
            str(rows),
            "--seed",
            str(seed),
        ]
        run([str(BIN / "python"), *generate, "--out", str(path)], dict(os.environ))
    return path


def pipeline_env(target: str) -> dict[str, str]:
    countries = json.dumps({"countries": list(COUNTRIES)})
    return {
        **os.environ,
        "DBT_TARGET": target,
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DUCKDB_PATH": str(BENCH_DIR / "pipeline.duckdb"),
        "PGDATABASE": DATABASE,
        "SPARK_WAREHOUSE": str(BENCH_DIR / "spark"),
        # One target folder per warehouse, so that dbt parses the project
        # only when it changed, as for a user who runs the pipeline again.
        "DBT_TARGET_PATH": str(BENCH_DIR / f"target-{target}"),
        "DBT_LOG_PATH": str(BENCH_DIR / "logs"),
        "BENCH_DBT_VARS": countries,
    }


def run_pipeline(
    target: str, source: Path, fresh: bool = True, *build_flags: str
) -> tuple[dict[str, Step], dict]:
    """Load (appending), build, publish; on a fresh warehouse unless told."""
    env = pipeline_env(target)
    if fresh:
        fresh_warehouse(target, env)
    dbt = [str(BIN / "dbt"), "--no-version-check"]
    steps = {
        "load": run([str(BIN / "python"), "-m", "loader", "load", str(source)], env),
        "build": run(
            [*dbt, "build", *build_flags, "--vars", env["BENCH_DBT_VARS"]], env
        ),
        "publish": run([str(BIN / "python"), "-m", "serving", "publish"], env),
    }
    return steps, published_answers(target, env)


@dataclass(frozen=True)
class BuildSplit:
    """Where one `dbt build`'s wall time went, from its run_results.json.

    dbt's own time is what passes before its first node starts (start-up,
    reading the project, connecting) and after its last one ends; the rest
    is the nodes, on the profile's threads. Node time is each node's compile
    and execute, summed by kind.
    """

    before_nodes: float
    nodes: float
    after_nodes: float
    model_seconds: float
    test_seconds: float
    other_seconds: float
    largest: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, build: Step, run_results: Path) -> BuildSplit:
        results = json.loads(run_results.read_text())["results"]
        first, last = float("inf"), float("-inf")
        by_kind = {"model": 0.0, "test": 0.0, "other": 0.0}
        node_seconds = {}
        for result in results:
            spans = [
                (_unix(timing["started_at"]), _unix(timing["completed_at"]))
                for timing in result["timing"]
            ]
            # A node dbt skipped has no timings at all.
            first = min((first, *(start for start, _ in spans)))
            last = max((last, *(end for _, end in spans)))
            seconds = sum(end - start for start, end in spans)
            # <kind>.<project>.<name>[.<hash>]; a unit test's name comes
            # after its model's: unit_test.<project>.<model>.<name>.
            parts = result["unique_id"].split(".")
            kind = parts[0]
            by_kind[kind if kind in ("model", "test") else "other"] += seconds
            node_seconds[parts[3] if kind == "unit_test" else parts[2]] = seconds
        largest = sorted(node_seconds.items(), key=lambda item: -item[1])[:3]
        return cls(
            before_nodes=first - build.started_at,
            nodes=last - first,
            after_nodes=build.started_at + build.seconds - last,
            model_seconds=by_kind["model"],
            test_seconds=by_kind["test"],
            other_seconds=by_kind["other"],
            largest=tuple(largest),
        )

    def describe(self) -> str:
        largest = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.largest)
        return (
            f"dbt before its first node {self.before_nodes:.1f} s, nodes"
            f" {self.nodes:.1f} s, dbt after the last {self.after_nodes:.1f} s;"
            f" node time: models {self.model_seconds:.1f} s, tests"
            f" {self.test_seconds:.1f} s, seeds and unit tests"
            f" {self.other_seconds:.1f} s; largest: {largest}"
        )


def _unix(iso: str) -> float:
    """run_results.json's timestamps (UTC, ISO 8601 with a Z) as Unix time."""
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso.replace("Z", "")).replace(tzinfo=UTC).timestamp()


def fresh_warehouse(target: str, env: dict[str, str]) -> None:
    if target == "postgres":
        _fresh_database(env)
    if target == "spark_cluster":
        _fresh_cluster_databases(env)
    (BENCH_DIR / "pipeline.duckdb").unlink(missing_ok=True)
    shutil.rmtree(BENCH_DIR / "spark", ignore_errors=True)


def _fresh_cluster_databases(env: dict[str, str]) -> None:
    """Drop what the loader and dbt wrote on the running cluster (make
    spark-cluster), and the loads' files."""
    from dwh.settings import Target, spark_settings
    from dwh.spark import sql_over

    settings = spark_settings(env, Target.SPARK_CLUSTER)
    with sql_over(settings) as sql:
        for database in ("raw", "staging", "intermediate", "marts", "audit"):
            sql.rows(f"drop database if exists {database} cascade")
    shutil.rmtree(settings.loads_dir, ignore_errors=True)


def append_benchmark(targets: list[str], history: int, new: int) -> None:
    """Appending `new` rows to a `history`-row warehouse (load, incremental
    build, publish) against the same pipeline on `new` rows from scratch,
    and a --full-refresh of the whole history after the append."""
    print(
        f"\nappend {new:,} rows to {history:,}: load + build + publish, seconds"
        f"\n{'target':<9} {'from scratch':>12} {'append':>8} {'ratio':>6}"
        f" {'full refresh':>13}"
    )
    base, extra = cached_source(history), cached_source(new, seed=2)
    for target in targets:
        scratch, _ = run_pipeline(target, extra)
        run_pipeline(target, base)
        appended, _ = run_pipeline(target, extra, False)
        env = pipeline_env(target)
        dbt = [str(BIN / "dbt"), "--no-version-check", "build", "--full-refresh"]
        full = run([*dbt, "--vars", env["BENCH_DBT_VARS"]], env).seconds
        full += run([str(BIN / "python"), "-m", "serving", "publish"], env).seconds
        scratch_s = sum(step.seconds for step in scratch.values())
        append_s = sum(step.seconds for step in appended.values())
        print(
            f"{target:<9} {scratch_s:12.1f} {append_s:8.1f}"
            f" {append_s / scratch_s:6.2f} {full:13.1f}   (target ratio <= 1.5;"
            f" append: load {appended['load'].seconds:.1f},"
            f" build {appended['build'].seconds:.1f})"
        )


def published_answers(target: str, env: dict[str, str]) -> dict:
    """The published modes, as the API reads them (schema serving)."""
    from dwh.reader import reader_for

    queries = [
        f"select {', '.join(SEGMENT_COLUMNS)} from {{}}.voucher_segment_modes",
        f"select {', '.join(COUNTRY_COLUMNS)} from {{}}.voucher_country_modes",
    ]
    # The serving warehouse: a Spark build is published into DuckDB here.
    reader = reader_for(environ=env)
    segment, country = reader.query_all([q.format("serving") for q in queries])
    return normalised(
        [dict(zip(SEGMENT_COLUMNS, row, strict=True)) for row in segment],
        [dict(zip(COUNTRY_COLUMNS, row, strict=True)) for row in country],
    )


def normalised(segment_modes: list[dict], country_modes: list[dict]) -> dict:
    """Comparable answers: variants without history dropped (the mart keeps
    them with a null amount, the references have no row), numbers as ints."""

    def row(values: dict, columns: tuple[str, ...]) -> list:
        return [
            int(values[c]) if isinstance(values[c], (int, float)) else values[c]
            for c in columns
        ]

    return {
        "segment_modes": sorted(
            row(r, SEGMENT_COLUMNS)
            for r in segment_modes
            if r["voucher_amount"] is not None
            and r["voucher_amount"] == r["voucher_amount"]
        ),
        "country_modes": sorted(row(r, COUNTRY_COLUMNS) for r in country_modes),
    }


def reference(kind: str, source: Path) -> tuple[Step, dict]:
    """(b) or (c) in its own process; its answers from its stdout."""
    step = run(
        [sys.executable, __file__, "--child", kind, str(source)], dict(os.environ)
    )
    return step, json.loads(step.output)


def child(kind: str, source: Path) -> None:
    """Print the answers of reference `kind` (pandas or duckdb) as JSON."""
    sys.path.insert(0, str(REPO_ROOT))
    if kind == "pandas":
        from tests.pipeline import oracle

        kept = oracle.kept_rows(source, COUNTRIES)
        segment = oracle.segment_modes(kept, COUNTRIES).to_dict("records")
        country = oracle.country_modes(kept, COUNTRIES).to_dict("records")
    else:
        from benchmarks.reference_duckdb import answers

        result = answers(source, COUNTRIES)
        segment, country = result["segment_modes"], result["country_modes"]
    print(json.dumps(normalised(segment, country)))


def _fresh_database(env: dict[str, str]) -> None:
    import psycopg2

    from dwh.settings import postgres_settings

    settings = postgres_settings(env)
    connection = psycopg2.connect(**settings.connect_kwargs("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"drop database if exists {DATABASE} with (force)")
        cursor.execute(f"create database {DATABASE}")
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000, 1_000_000, 10_000_000]
    )
    parser.add_argument("--targets", nargs="+", default=["duckdb", "postgres"])
    parser.add_argument(
        "--append",
        type=int,
        nargs=2,
        metavar=("HISTORY", "NEW"),
        help="only the append benchmark: NEW rows onto HISTORY rows",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    if args.append:
        print(machine_summary())
        append_benchmark(args.targets, *args.append)
        fresh_warehouse("duckdb", pipeline_env("duckdb"))
        return 0

    print(machine_summary())
    print(
        f"{'rows':>11} {'what':<18} {'load s':>7} {'build s':>8} {'publish s':>9}"
        f" {'total s':>8} {'rows/s':>10} {'peak MB':>8}  answers"
    )
    all_equal = True
    for target in args.targets:
        # Untimed: dbt parses the project once per target folder, so every
        # timed build below reads the saved manifest, as a repeated run does.
        env = pipeline_env(target)
        run([str(BIN / "dbt"), "--no-version-check", "parse", "--vars",
             env["BENCH_DBT_VARS"]], env)  # fmt: skip
    for rows in args.rows:
        source = cached_source(rows)
        query, query_answers = reference("duckdb", source)
        script, script_answers = reference("pandas", source)
        totals: dict[str, float] = {}
        lines = [("(c) one DuckDB query", None, query, query_answers)]
        lines.append(("(b) pandas script", None, script, script_answers))
        splits: dict[str, BuildSplit] = {}
        for target in args.targets:
            steps, answers = run_pipeline(target, source)
            target_path = Path(pipeline_env(target)["DBT_TARGET_PATH"])
            splits[target] = BuildSplit.of(
                steps["build"], target_path / "run_results.json"
            )
            total = Step(
                sum(s.seconds for s in steps.values()),
                max(s.peak_mb for s in steps.values()),
            )
            totals[target] = total.seconds
            lines.append((f"(a) pipeline {target}", steps, total, answers))
        for label, steps, total, answers in lines:
            same = answers == query_answers
            all_equal &= same
            parts = (
                [f"{steps[name].seconds:7.1f}" for name in ("load", "build")]
                + [f"{steps['publish'].seconds:9.1f}"]
                if steps
                else [f"{'':>7}", f"{'':>8}", f"{'':>9}"]
            )
            print(
                f"{rows:>11,} {label:<18} {' '.join(parts)} {total.seconds:8.1f}"
                f" {rows / total.seconds:>10,.0f} {total.peak_mb:8.0f}"
                f"  {'same as (c)' if same else 'DIFFERENT'}"
            )
        for target, split in splits.items():
            print(f"{rows:>11,} build {target}: {split.describe()}")
        if "duckdb" in totals:
            print(
                f"{rows:>11,} ratios: (a) duckdb / (c)"
                f" {totals['duckdb'] / query.seconds:.1f}"
                f" (target <= 3 at 10M); (b) / (a) duckdb"
                f" {script.seconds / totals['duckdb']:.2f} (target >= 1.5)"
            )
            if "postgres" in totals:
                print(
                    f"{rows:>11,} ratios: (a) postgres / (a) duckdb"
                    f" {totals['postgres'] / totals['duckdb']:.1f}"
                    " (target <= 2.5 at 10M, <= 2 at 1M)"
                )
    (BENCH_DIR / "pipeline.duckdb").unlink(missing_ok=True)
    shutil.rmtree(BENCH_DIR / "spark", ignore_errors=True)
    if not all_equal:
        print("the answers differ: the figures compare different work")
        return 1
    return 0


def machine_summary() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()};"
        f" countries {', '.join(COUNTRIES)}"
    )


if __name__ == "__main__":
    sys.exit(main())
