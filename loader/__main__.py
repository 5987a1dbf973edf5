"""Command line: ``python -m loader {load,unload,loads,generate,ensure-postgres}``.

Human-readable progress and the final summary go to stderr, as do errors: one
line, no traceback, exit code 1 for a bad input file, 2 for bad settings and 3 for
a warehouse failure.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dwh import cli
from dwh.settings import Target, postgres_settings, resolve_target
from loader.load import current_loads, load_paths, unload
from loader.progress import ProgressPrinter

PROGRAM = "loader"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    return cli.run(
        PROGRAM, _parser(), argv, interrupted="the warehouse was left as it was"
    )


def _load(arguments: argparse.Namespace) -> int:
    target = resolve_target(arguments.target)
    progress = ProgressPrinter("loaded")
    try:
        result = load_paths(
            arguments.paths, target, replace=arguments.replace, on_progress=progress
        )
    finally:
        progress.finish()
    applied = result.applied
    for skipped in applied.skipped:
        cli.say(
            f"skipped {skipped.path}: already loaded as load"
            f" {skipped.loaded_as.load_id} ({skipped.loaded_as.source_file},"
            f" same SHA-256)"
        )
    for done in applied.written:
        source = done.pending.source
        if source.ignored_columns:
            cli.say(
                f"note: {source.name}: ignored extra column(s)"
                f" {', '.join(source.ignored_columns)}"
            )
        if len(applied.written) > 1:
            cli.say(
                f"loaded {done.row_count:,} rows from {source.name},"
                f" load_id {done.pending.run.load_id}"
            )
    if applied.withdrawn:
        cli.say(
            f"withdrew {len(applied.withdrawn)} earlier load(s)"
            f" ({sum(load.row_count for load in applied.withdrawn):,} rows)"
        )
    speed = f"in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)"
    if len(applied.written) == 1:
        (done,) = applied.written
        cli.say(
            f"loaded {done.row_count:,} rows from {done.pending.source.name} into"
            f" {target.value} raw.vouchers {speed}, load_id {done.pending.run.load_id}"
        )
    elif applied.written:
        cli.say(
            f"loaded {len(applied.written)} files, {result.row_count:,} rows, into"
            f" {target.value} raw.vouchers {speed}"
        )
    elif not applied.withdrawn:
        cli.say("nothing new to load: raw is unchanged")
    return 0


def _unload(arguments: argparse.Namespace) -> int:
    target = resolve_target(arguments.target)
    withdrawn = unload(arguments.load, target)
    cli.say(
        f"unloaded load {withdrawn.load_id} ({withdrawn.source_file},"
        f" {withdrawn.row_count:,} rows) from {target.value} raw.vouchers"
    )
    return 0


def _loads(arguments: argparse.Namespace) -> int:
    target = resolve_target(arguments.target)
    loads = current_loads(target)
    for load in loads:
        print(
            f"{load.load_id}  {load.finished_at:%Y-%m-%d %H:%M:%S}"
            f"  {load.row_count:>12,}  {load.source_file}"
        )
    cli.say(
        f"{len(loads)} current load(s), {sum(load.row_count for load in loads):,}"
        f" rows in {target.value} raw.vouchers"
    )
    return 0


def _generate(arguments: argparse.Namespace) -> int:
    # Imported here: numpy is only needed to generate.
    from loader.synthetic import generate, generate_daily

    started = time.perf_counter()
    progress = ProgressPrinter("generated")
    try:
        report = lambda done: progress(done, arguments.rows)  # noqa: E731
        if arguments.days is None:
            generate(arguments.out, arguments.rows, arguments.seed, on_progress=report)
            files = [arguments.out]
        else:
            files = generate_daily(
                arguments.out,
                arguments.rows,
                arguments.seed,
                arguments.days,
                on_progress=report,
            )
    finally:
        progress.finish()
    seconds = time.perf_counter() - started
    size_mb = sum(path.stat().st_size for path in files) / 1e6
    where = (
        arguments.out
        if len(files) == 1
        else f"{len(files)} daily files in {arguments.out}"
    )
    cli.say(
        f"wrote {arguments.rows:,} rows ({size_mb:.1f} MB) to {where}"
        f" in {seconds:.1f} s (seed {arguments.seed})"
    )
    return 0


def _ensure_postgres(arguments: argparse.Namespace) -> int:
    from loader.postgres_warehouse import ensure_database

    settings = postgres_settings()
    created = ensure_database(settings)
    cli.say(
        f"{'created' if created else 'found'} database {settings.database!r}"
        f" on {settings.host}:{settings.port}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROGRAM}",
        description="Stage Parquet files into the warehouse's raw schema.",
    )
    cli.add_verbose(parser)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    load = commands.add_parser(
        "load",
        help="append Parquet files to raw.vouchers, every column as text",
        description=(
            "Append each new file to raw.vouchers as its own load, in one commit:"
            " all files or none. A file whose SHA-256 a current load has is"
            " skipped. --replace: raw becomes exactly these files."
        ),
    )
    load.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="Parquet file, folder (its *.parquet* files) or glob",
    )
    load.add_argument(
        "--replace",
        action="store_true",
        help="withdraw every current load and load exactly these files",
    )
    _add_target(load)
    load.set_defaults(command=_load)

    unload_command = commands.add_parser(
        "unload",
        help="withdraw one load from raw.vouchers",
        description=(
            "Withdraw one current load, atomically: its rows leave raw.vouchers,"
            " raw.load_log keeps its row with unloaded_at set."
        ),
    )
    unload_command.add_argument(
        "load", metavar="LOAD", help="load id, or file name of exactly one load"
    )
    _add_target(unload_command)
    unload_command.set_defaults(command=_unload)

    loads = commands.add_parser("loads", help="list the current loads (oldest first)")
    _add_target(loads)
    loads.set_defaults(command=_loads)

    generate = commands.add_parser(
        "generate",
        help="write synthetic vouchers with the real file's schema and dirt",
        description="Write deterministic synthetic voucher data to a Parquet file.",
    )
    generate.add_argument("--rows", type=_row_count, required=True, metavar="N")
    generate.add_argument("--seed", type=int, default=42, metavar="S")
    generate.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="Parquet file to write (with --days: the folder of the daily files)",
    )
    generate.add_argument(
        "--days",
        type=int,
        metavar="D",
        help="write D daily files vouchers-YYYY-MM-DD.parquet, one campaign day each",
    )
    generate.set_defaults(command=_generate)

    ensure = commands.add_parser(
        "ensure-postgres",
        help="create the PostgreSQL database named by $PGDATABASE if missing",
    )
    ensure.set_defaults(command=_ensure_postgres)
    return parser


def _add_target(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--target",
        choices=[target.value for target in Target],
        help="warehouse (default: $DBT_TARGET, else duckdb)",
    )


def _row_count(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of rows")
    return value


if __name__ == "__main__":
    sys.exit(main())
