"""Validate a Parquet file and stream it as batches of canonical text.

Validation reads only the footer, so a bad file is rejected before the warehouse is
touched. Streaming reads one record batch at a time, so memory stays bounded by the
batch and row-group size, never by the file.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dwh.origin import ORIGIN_FILE, ORIGIN_METADATA_KEY, ORIGIN_SYNTHETIC
from loader.errors import SourceError, first_line
from loader.raw_schema import (
    ROW_NUMBER_COLUMN,
    SOURCE_COLUMNS,
    accepted_type_names,
    accepts,
)
from loader.text_format import to_text

DEFAULT_BATCH_ROWS: Final = 131_072
# What text_batches yields: every source column as text, then the row number.
TEXT_BATCH_SCHEMA: Final = pa.schema(
    [(name, pa.string()) for name in SOURCE_COLUMNS] + [(ROW_NUMBER_COLUMN, pa.int64())]
)
_PARQUET_MAGIC: Final = b"PAR1"


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file that passed validation."""

    path: Path
    row_count: int
    size_bytes: int
    # Columns beyond the required ones; they are not loaded.
    ignored_columns: tuple[str, ...]
    origin: str = ORIGIN_FILE  # ORIGIN_SYNTHETIC: the generator wrote it

    @property
    def name(self) -> str:
        """The file name, as stored in ``_source_file``."""
        return self.path.name


def open_source(path: Path) -> ParquetSource:
    """Check that ``path`` is a non-empty Parquet file with the required columns.

    Each of them must have one of the Arrow types ``raw_schema.ACCEPTED_TYPES``
    lists for it. Raises ``SourceError`` with a one-line message naming the file
    otherwise.
    """
    size = _file_size(path)
    _check_magic(path)
    try:
        metadata = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise SourceError(
            f"{path}: truncated or corrupt Parquet file ({first_line(error)})"
        ) from None
    _check_columns(path, schema)
    if metadata.num_rows == 0:
        raise SourceError(f"{path}: file contains no rows")
    return ParquetSource(
        path=path,
        row_count=metadata.num_rows,
        size_bytes=size,
        ignored_columns=tuple(
            name for name in schema.names if name not in SOURCE_COLUMNS
        ),
        origin=_origin(schema),
    )


def _origin(schema: pa.Schema) -> str:
    marked = (schema.metadata or {}).get(ORIGIN_METADATA_KEY)
    return ORIGIN_SYNTHETIC if marked == ORIGIN_SYNTHETIC.encode() else ORIGIN_FILE


def text_batches(
    source: ParquetSource, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yield the required columns as text, plus the 1-based ``_source_row_number``.

    A file that turns out to be corrupt part way raises ``SourceError`` after the
    batches before the damage have been yielded.
    """
    rows_read = 0
    try:
        with pq.ParquetFile(source.path) as parquet:
            for batch in parquet.iter_batches(
                batch_size=batch_rows, columns=list(SOURCE_COLUMNS)
            ):
                row_numbers = pa.array(
                    np.arange(rows_read + 1, rows_read + batch.num_rows + 1)
                )
                columns = [to_text(batch.column(name)) for name in SOURCE_COLUMNS]
                rows_read += batch.num_rows
                yield pa.RecordBatch.from_arrays(
                    [*columns, row_numbers], schema=TEXT_BATCH_SCHEMA
                )
    except (pa.ArrowException, OSError) as error:
        raise SourceError(
            f"{source.path}: corrupt data after row {rows_read:,} ({first_line(error)})"
        ) from None
    if rows_read != source.row_count:
        raise SourceError(
            f"{source.path}: footer promises {source.row_count:,} rows"
            f" but the file holds {rows_read:,}"
        )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes, for the load log."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _file_size(path: Path) -> int:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read file ({error.strerror})") from None
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a Parquet file")
    if stat.st_size == 0:
        raise SourceError(f"{path}: file is empty (0 bytes)")
    return stat.st_size


def _check_magic(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_PARQUET_MAGIC))
    except OSError as error:
        raise SourceError(f"{path}: cannot read file ({error.strerror})") from None
    if head != _PARQUET_MAGIC:
        raise SourceError(f"{path}: not a Parquet file (it does not start with PAR1)")


def _check_columns(path: Path, schema: pa.Schema) -> None:
    missing = [name for name in SOURCE_COLUMNS if name not in schema.names]
    if missing:
        raise SourceError(
            f"{path}: missing required column(s) {', '.join(missing)}"
            f" (file has: {', '.join(schema.names) or 'no columns'})"
        )
    for name in SOURCE_COLUMNS:
        if len(schema.get_all_field_indices(name)) > 1:
            raise SourceError(f"{path}: column {name!r} appears more than once")
        data_type = schema.field(name).type
        if not accepts(name, data_type):
            raise SourceError(
                f"{path}: column {name!r} has type {data_type};"
                f" accepted types: {accepted_type_names(name)}"
            )
