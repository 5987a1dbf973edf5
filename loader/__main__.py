"""Command line: ``python -m loader {load,generate,ensure-postgres}``.

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
from loader.load import load_file
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
        result = load_file(arguments.path, target, on_progress=progress)
    finally:
        progress.finish()
    if result.ignored_columns:
        cli.say(f"note: ignored extra column(s) {', '.join(result.ignored_columns)}")
    cli.say(
        f"loaded {result.row_count:,} rows from {result.source_file} into"
        f" {target.value} raw.vouchers in {result.seconds:.1f} s"
        f" ({result.rows_per_second:,.0f} rows/s), load_id {result.load_id}"
    )
    return 0


def _generate(arguments: argparse.Namespace) -> int:
    # Imported here: numpy is only needed to generate.
    from loader.synthetic import generate

    started = time.perf_counter()
    progress = ProgressPrinter("generated")
    try:
        generate(
            arguments.out,
            arguments.rows,
            arguments.seed,
            on_progress=lambda done: progress(done, arguments.rows),
        )
    finally:
        progress.finish()
    seconds = time.perf_counter() - started
    size_mb = arguments.out.stat().st_size / 1e6
    cli.say(
        f"wrote {arguments.rows:,} rows ({size_mb:.1f} MB) to {arguments.out}"
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
        help="replace raw.vouchers with a Parquet file, every column as text",
        description="Replace raw.vouchers with the rows of a Parquet file, atomically.",
    )
    load.add_argument("path", type=Path, metavar="PATH", help="Parquet file to load")
    load.add_argument(
        "--target",
        choices=[target.value for target in Target],
        help="warehouse to load (default: $DBT_TARGET, else duckdb)",
    )
    load.set_defaults(command=_load)

    generate = commands.add_parser(
        "generate",
        help="write synthetic vouchers with the real file's schema and dirt",
        description="Write deterministic synthetic voucher data to a Parquet file.",
    )
    generate.add_argument("--rows", type=_row_count, required=True, metavar="N")
    generate.add_argument("--seed", type=int, default=42, metavar="S")
    generate.add_argument("--out", type=Path, required=True, metavar="PATH")
    generate.set_defaults(command=_generate)

    ensure = commands.add_parser(
        "ensure-postgres",
        help="create the PostgreSQL database named by $PGDATABASE if missing",
    )
    ensure.set_defaults(command=_ensure_postgres)
    return parser


def _row_count(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of rows")
    return value


if __name__ == "__main__":
    sys.exit(main())
