"""What every command line of the product does the same way.

Human-readable progress and outcomes go to stderr, one line each; a problem the
user can fix (a OneLineError) is one line too, with its exit code, and never a
traceback; ``-v`` adds the JSON log events.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dwh.errors import OneLineError
from dwh.log_format import JsonFormatter


def run(
    program: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    interrupted: str = "nothing was changed",
) -> int:
    """Parse argv, run the chosen command (``set_defaults(command=...)``) and
    turn what a user can fix into one line and an exit code."""
    arguments = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger(program)
    root.addHandler(handler)
    root.setLevel(logging.INFO if arguments.verbose else logging.WARNING)
    try:
        return arguments.command(arguments)
    except OneLineError as error:
        say(f"{program}: error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        say(f"{program}: interrupted; {interrupted}")
        return 130


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log JSON events to stderr"
    )


def say(message: str) -> None:
    """A line for the person at the terminal (library code only logs)."""
    print(message, file=sys.stderr, flush=True)
