"""Exceptions the command line turns into one-line messages instead of tracebacks."""


class LoaderError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code = 1


class SourceError(LoaderError):
    """The input file is missing, unreadable, not Parquet or has the wrong shape."""

    exit_code = 1


class WarehouseError(LoaderError):
    """The warehouse is unreachable or refused a statement."""

    exit_code = 3


class ConfigError(LoaderError):
    """An environment variable or option has a value the loader cannot use."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, for one-line error reports."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
