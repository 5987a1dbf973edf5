"""The contract of the ``raw`` schema: table names, columns and their DDL.

Both warehouses accept the same DDL (``text``, ``bigint``, ``timestamp``), so it is
written once here. ``timestamp`` columns hold UTC wall-clock time without a zone,
which is what dbt's cross-database macros expect on DuckDB and PostgreSQL alike.

The source columns are declared once, with the Arrow types each may have in a
source file (``ACCEPTED_TYPES``); the loader's check, its error message and the
documented table (``accepted_types_markdown``) all come from that declaration.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import pyarrow as pa

RAW_SCHEMA: Final = "raw"
VOUCHERS_TABLE: Final = "vouchers"
LOAD_LOG_TABLE: Final = "load_log"
# Staging tables are named <prefix><load id hex>[_<stream>]; anything with the
# prefix that is still around when a load starts is debris from a killed load.
STAGING_PREFIX: Final = "_vouchers_staging_"
# PostgreSQL only: the child tables of raw.vouchers that hold the current load.
LOADED_PREFIX: Final = "_vouchers_loaded_"


@dataclass(frozen=True)
class TypeFamily:
    """A named group of Arrow types that a source column may have."""

    name: str
    # The Arrow types it covers, as the documentation lists them.
    members: str
    matches: Callable[[pa.DataType], bool]


STRING: Final = TypeFamily(
    "string",
    "`string`, `large_string`, `string_view`",
    lambda data_type: (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ),
)
TIMESTAMP: Final = TypeFamily(
    "timestamp",
    "`timestamp` in any unit, with or without a zone",
    pa.types.is_timestamp,
)
DATE: Final = TypeFamily("date", "`date32`, `date64`", pa.types.is_date)
INTEGER: Final = TypeFamily(
    "integer", "`int8` ... `int64`, `uint8` ... `uint64`", pa.types.is_integer
)
FLOATING_POINT: Final = TypeFamily(
    "floating-point", "`float16`, `float32`, `float64`", pa.types.is_floating
)
DECIMAL: Final = TypeFamily(
    "decimal", "`decimal32` ... `decimal256`", pa.types.is_decimal
)

# Every column every source file must have, in the order they are stored, with the
# Arrow types accepted for it. Only types whose text (loader.text_format) the
# staging model parses are listed: an int64 of epoch milliseconds would load and
# then fail every row as unparseable, so it is refused instead of guessed at.
# Strings pass through unchanged, so they are accepted wherever staging parses
# text anyway (voucher_amount is parsed by the same rule as total_orders).
ACCEPTED_TYPES: Final[Mapping[str, tuple[TypeFamily, ...]]] = MappingProxyType(
    {
        "timestamp": (TIMESTAMP, DATE, STRING),
        "country_code": (STRING,),
        "last_order_ts": (TIMESTAMP, DATE, STRING),
        "first_order_ts": (TIMESTAMP, DATE, STRING),
        "total_orders": (STRING, INTEGER, FLOATING_POINT, DECIMAL),
        "voucher_amount": (INTEGER, FLOATING_POINT, DECIMAL, STRING),
    }
)
SOURCE_COLUMNS: Final[tuple[str, ...]] = tuple(ACCEPTED_TYPES)
ROW_NUMBER_COLUMN: Final = "_source_row_number"
# Constant for a whole load; filled by the warehouse, not shipped row by row.
LOAD_CONSTANT_COLUMNS: Final[tuple[str, ...]] = (
    "_source_file",
    "_load_id",
    "_loaded_at",
)

# Column names of the text batches a source yields (what COPY/INSERT receives).
BATCH_COLUMNS: Final[tuple[str, ...]] = (*SOURCE_COLUMNS, ROW_NUMBER_COLUMN)


def accepts(column: str, data_type: pa.DataType) -> bool:
    """Whether a source ``column`` of Arrow type ``data_type`` can be loaded.

    An all-null column (type ``null``) fits any column, and a dictionary-encoded
    column (pandas writes categoricals so) fits when its values' type does.
    """
    if pa.types.is_null(data_type):
        return True
    if pa.types.is_dictionary(data_type):
        return accepts(column, data_type.value_type)
    return any(family.matches(data_type) for family in ACCEPTED_TYPES[column])


def accepted_type_names(column: str) -> str:
    """The families accepted for ``column``, for messages: ``timestamp, date, ...``."""
    return ", ".join(family.name for family in ACCEPTED_TYPES[column])


def accepted_types_markdown() -> str:
    """The accepted types as Markdown: a table of columns, then one of families."""
    families = dict.fromkeys(
        family for kinds in ACCEPTED_TYPES.values() for family in kinds
    )
    lines = ["| Column | Accepted types |", "| --- | --- |"]
    lines += [
        f"| `{column}` | {accepted_type_names(column)} |" for column in ACCEPTED_TYPES
    ]
    lines += ["", "| Type | Arrow types |", "| --- | --- |"]
    lines += [f"| {family.name} | {family.members} |" for family in families]
    lines += [
        "",
        "Any column may also be all null (Arrow `null`), or dictionary-encoded"
        " (pandas categoricals) with values of an accepted type.",
    ]
    return "\n".join(lines)


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB and PostgreSQL (``timestamp`` is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


# raw.vouchers' load metadata columns and their DDL, after the source columns.
_METADATA_DDL: Final = {
    "_source_file": "text not null",
    "_source_row_number": "bigint not null",
    "_load_id": "text not null",
    "_loaded_at": "timestamp not null",
}
VOUCHERS_COLUMNS: Final[tuple[str, ...]] = (*SOURCE_COLUMNS, *_METADATA_DDL)


def vouchers_ddl(qualified_table: str) -> str:
    """``create table`` for a vouchers table: source columns as text + metadata."""
    columns = [f"{quote_identifier(name)} text" for name in SOURCE_COLUMNS]
    columns += [f"{name} {ddl}" for name, ddl in _METADATA_DDL.items()]
    body = ",\n    ".join(columns)
    return f"create table {qualified_table} (\n    {body}\n)"


LOAD_LOG_DDL: Final = f"""
create table if not exists {RAW_SCHEMA}.{LOAD_LOG_TABLE} (
    load_id text primary key,
    target text not null,
    source_file text not null,
    source_path text not null,
    source_sha256 text not null,
    source_size_bytes bigint not null,
    row_count bigint not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    source_origin text default 'file',
    unloaded_at timestamp
)
"""
# A load log written before these columns existed gets them (DuckDB, PostgreSQL).
LOAD_LOG_UPGRADES: Final = (
    f"alter table {RAW_SCHEMA}.{LOAD_LOG_TABLE}"
    " add column if not exists source_origin text default 'file'",
    f"alter table {RAW_SCHEMA}.{LOAD_LOG_TABLE}"
    " add column if not exists unloaded_at timestamp",
)
# The loads whose rows raw.vouchers holds (loader.plan.CurrentLoad's fields),
# oldest first. --replace and unload set unloaded_at; no log row is deleted.
CURRENT_LOADS_SQL: Final = (
    "select load_id, source_file, source_sha256, row_count, finished_at"
    f" from {RAW_SCHEMA}.{LOAD_LOG_TABLE} where unloaded_at is null"
    " order by finished_at, load_id"
)


def mark_unloaded_sql(placeholder: str) -> str:
    """``update`` of raw.load_log withdrawing one load (params: time, load id)."""
    return (
        f"update {RAW_SCHEMA}.{LOAD_LOG_TABLE} set unloaded_at = {placeholder}"
        f" where load_id = {placeholder} and unloaded_at is null"
    )
