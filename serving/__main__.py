"""Command line: ``python -m serving {publish,rollback,history,summary}``.

One line per outcome on stderr; errors are one line too, exit code 1 when the
build is not publishable (or there is nothing to roll back to), 2 for bad
settings, 3 when the warehouse fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dwh import cli
from dwh.reader import reader_for
from dwh.settings import (
    SERVING_TARGETS,
    resolve_target,
    serving_settings,
    serving_target,
)
from serving.audit import audit_build
from serving.publish import history, publish, rollback
from serving.summary import read_summary, render

PROGRAM = "serving"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    return cli.run(PROGRAM, _parser(), argv)


def _publish(arguments: argparse.Namespace) -> int:
    settings = serving_settings()
    build = audit_build(arguments.target_path or settings.dbt_target_path)
    target = serving_target(arguments.target)
    # A build dbt ran on Spark (DBT_TARGET) is published into the serving
    # warehouse; any other is published where it was built.
    dbt_target = resolve_target()
    built_on = dbt_target if dbt_target not in SERVING_TARGETS else target
    result = publish(build, target, settings, built_on=built_on)
    if not result.changed:
        cli.say(
            f"build {result.invocation_id} is already published as"
            f" #{result.publish_id}; nothing changed"
        )
        return 0
    rows = ", ".join(f"{name} {count:,}" for name, count in result.row_counts.items())
    cli.say(
        f"published build {result.invocation_id} as #{result.publish_id} into"
        f" {target.value} serving ({rows})"
    )
    return 0


def _rollback(arguments: argparse.Namespace) -> int:
    target = serving_target(arguments.target)
    result = rollback(target, serving_settings())
    cli.say(
        f"rolled back: {target.value} serving now serves #{result.publish_id}"
        f" (build {result.invocation_id})"
    )
    return 0


def _history(arguments: argparse.Namespace) -> int:
    entries = history(serving_target(arguments.target), serving_settings())
    if not entries:
        cli.say("nothing published yet")
    for entry in entries:
        state = (
            "current"
            if entry["current"]
            else "rolled back"
            if entry["rolled_back_at"]
            else "discarded"
            if entry["discarded_at"]
            else "kept"
        )
        when = "%Y-%m-%d %H:%M:%S"
        print(
            f"#{entry['publish_id']:<4} {state:<11}"
            f" built {entry['built_at']:{when}}"
            f" published {entry['published_at']:{when}}"
            f" {entry['invocation_id']} {entry['source_file']}"
        )
    return 0


def _summary(arguments: argparse.Namespace) -> int:
    print(render(read_summary(reader_for(target=arguments.target))))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROGRAM}",
        description="Publish a dbt build that passed, or roll back to an earlier one.",
    )
    cli.add_verbose(parser)
    targets = [target.value for target in SERVING_TARGETS]
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--target",
        choices=targets,
        help=(
            "serving warehouse (default: $SERVE_TARGET, else $DBT_TARGET when it"
            " is duckdb or postgres, else duckdb)"
        ),
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    publish_command = commands.add_parser(
        "publish",
        parents=[common],
        help="publish the last dbt build if every node passed",
        description=(
            "Audit target/run_results.json and, if every node of a full dbt build"
            " passed, make that build what the API serves, atomically."
        ),
    )
    publish_command.add_argument(
        "--target-path",
        type=Path,
        help="dbt's artifacts folder (default: $DBT_TARGET_PATH, else target)",
    )
    publish_command.set_defaults(command=_publish)
    commands.add_parser(
        "rollback",
        parents=[common],
        help="serve the build published before the current one",
    ).set_defaults(command=_rollback)
    commands.add_parser(
        "history", parents=[common], help="list the published builds, newest first"
    ).set_defaults(command=_history)
    commands.add_parser(
        "summary",
        parents=[common],
        help="what the published build says: rows kept, the answer per variant",
    ).set_defaults(command=_summary)
    return parser


if __name__ == "__main__":
    sys.exit(main())
