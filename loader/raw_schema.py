"""The contract of the ``raw`` schema: table names, columns and their DDL.

Both warehouses accept the same DDL (``text``, ``bigint``, ``timestamp``), so it is
written once here. ``timestamp`` columns hold UTC wall-clock time without a zone,
which is what dbt's cross-database macros expect on DuckDB and PostgreSQL alike.
"""

from typing import Final

RAW_SCHEMA: Final = "raw"
VOUCHERS_TABLE: Final = "vouchers"
LOAD_LOG_TABLE: Final = "load_log"
# Staging tables are named <prefix><load id hex>[_<stream>]; anything with the
# prefix that is still around when a load starts is debris from a killed load.
STAGING_PREFIX: Final = "_vouchers_staging_"
# PostgreSQL only: the child tables of raw.vouchers that hold the current load.
LOADED_PREFIX: Final = "_vouchers_loaded_"

# Columns every source file must have, in the order they are stored.
SOURCE_COLUMNS: Final[tuple[str, ...]] = (
    "timestamp",
    "country_code",
    "last_order_ts",
    "first_order_ts",
    "total_orders",
    "voucher_amount",
)
ROW_NUMBER_COLUMN: Final = "_source_row_number"
# Constant for a whole load; filled by the warehouse, not shipped row by row.
LOAD_CONSTANT_COLUMNS: Final[tuple[str, ...]] = (
    "_source_file",
    "_load_id",
    "_loaded_at",
)

# Column names of the text batches a source yields (what COPY/INSERT receives).
BATCH_COLUMNS: Final[tuple[str, ...]] = (*SOURCE_COLUMNS, ROW_NUMBER_COLUMN)


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB and PostgreSQL (``timestamp`` is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


def vouchers_ddl(qualified_table: str) -> str:
    """``create table`` for a vouchers table: source columns as text + metadata."""
    columns = [f"{quote_identifier(name)} text" for name in SOURCE_COLUMNS]
    columns += [
        "_source_file text not null",
        "_source_row_number bigint not null",
        "_load_id text not null",
        "_loaded_at timestamp not null",
    ]
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
    finished_at timestamp not null
)
"""
