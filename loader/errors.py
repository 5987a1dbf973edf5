"""Exceptions the command line turns into one-line messages instead of tracebacks.

The warehouse and settings errors are the product's own (``dwh.errors``); only
a bad input file is the loader's.
"""

from dwh.errors import ConfigError, OneLineError, WarehouseError, first_line

LoaderError = OneLineError

__all__ = ["ConfigError", "LoaderError", "SourceError", "WarehouseError", "first_line"]


class SourceError(OneLineError):
    """The input file is missing, unreadable, not Parquet or has the wrong shape."""

    exit_code = 1
