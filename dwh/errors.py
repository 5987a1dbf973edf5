"""Errors that reach a person as one line, with the exit code a command uses."""


class OneLineError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code = 1


class WarehouseError(OneLineError):
    """The warehouse is unreachable or refused a statement."""

    exit_code = 3


class ConfigError(OneLineError):
    """An environment variable or option has a value the product cannot use."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, for one-line error reports."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
