"""Shared helpers for the loader tests: sample data, warehouses, running the CLI."""

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq

from loader import postgres_warehouse
from tests.conftest import REPO_ROOT

# One database per pytest process: concurrent runs (a developer and CI, or two
# sessions on one machine) must not drop each other's tables.
TEST_DATABASE_PREFIX = "voucher_test_loader_"
TEST_DATABASE = f"{TEST_DATABASE_PREFIX}{os.getpid()}"

VOUCHER_SCHEMA = pa.schema(
    [
        ("timestamp", pa.string()),
        ("country_code", pa.string()),
        ("last_order_ts", pa.string()),
        ("first_order_ts", pa.timestamp("ms")),
        ("total_orders", pa.string()),
        ("voucher_amount", pa.float64()),
    ]
)

# Values chosen to break a careless loader: '' next to null, CSV/COPY structural
# characters, backslashes and COPY's end-of-data marker, non-ASCII, sub-second
# and whole-second timestamps, integral and fractional doubles.
SAMPLE_ROWS = [
    ("2018-07-21 18:59:21.102761", "Peru", "2018-04-20", 1524182400000, "4.0", 2640.0),
    ("2015-05-21 18:56:29.671213", " peru ", "", 1524182400123, "", None),
    (None, None, None, None, None, None),
    ("", "", "2018-02-30", 0, "0.0", 0.1),
    ('a "quoted", value', "PERU", "line\nbreak", 1, "abc", 1e16),
    ("back\\slash \\N", "Señor\tTab", "\\.", -1500, "-3.0", -0.0),
    ("NULL", "null", "x\n\\.\ny", 4102444800999, "2.5", 13200.0),
]
# What raw.vouchers must hold for SAMPLE_ROWS (see loader.text_format).
SAMPLE_TEXT = [
    (
        "2018-07-21 18:59:21.102761",
        "Peru",
        "2018-04-20",
        "2018-04-20 00:00:00",
        "4.0",
        "2640.0",
    ),
    (
        "2015-05-21 18:56:29.671213",
        " peru ",
        "",
        "2018-04-20 00:00:00.123000",
        "",
        None,
    ),
    (None, None, None, None, None, None),
    ("", "", "2018-02-30", "1970-01-01 00:00:00", "0.0", "0.1"),
    (
        'a "quoted", value',
        "PERU",
        "line\nbreak",
        "1970-01-01 00:00:00.001000",
        "abc",
        "1e+16",
    ),
    (
        "back\\slash \\N",
        "Señor\tTab",
        "\\.",
        "1969-12-31 23:59:58.500000",
        "-3.0",
        "-0.0",
    ),
    ("NULL", "null", "x\n\\.\ny", "2100-01-01 00:00:00.999000", "2.5", "13200.0"),
]


def sample_table(rows: list[tuple] | None = None) -> pa.Table:
    """A table with the real file's schema holding ``rows`` (default SAMPLE_ROWS)."""
    rows = SAMPLE_ROWS if rows is None else rows
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(VOUCHER_SCHEMA)
    return pa.Table.from_arrays(
        [
            pa.array(list(values), field.type)
            for values, field in zip(columns, VOUCHER_SCHEMA, strict=True)
        ],
        schema=VOUCHER_SCHEMA,
    )


def write_parquet(path: Path, table: pa.Table, **options: object) -> Path:
    """Write ``table`` to ``path`` and return the path."""
    pq.write_table(table, path, **options)
    return path


def corrupt_last_row_group(tmp_path: Path, rows: int = 3000) -> Path:
    """A file whose footer is intact but whose last row group's pages are garbage."""
    table = pa.table(
        {
            "timestamp": [f"t-{i}" for i in range(rows)],
            "country_code": [f"c-{i}" for i in range(rows)],
            "last_order_ts": [f"l-{i}" for i in range(rows)],
            "first_order_ts": pa.array(range(rows), pa.timestamp("ms")),
            "total_orders": [f"{i}.0" for i in range(rows)],
            "voucher_amount": [float(i) for i in range(rows)],
        }
    )
    path = tmp_path / "corrupt_tail.parquet"
    pq.write_table(table, path, row_group_size=rows // 3, compression="snappy")
    metadata = pq.read_metadata(path)
    last = metadata.row_group(metadata.num_row_groups - 1)
    chunks = [last.column(i) for i in range(last.num_columns)]
    starts = [c.dictionary_page_offset or c.data_page_offset for c in chunks]
    start = min(starts)
    end = max(s + c.total_compressed_size for s, c in zip(starts, chunks, strict=True))
    data = bytearray(path.read_bytes())
    data[start:end] = b"\xab" * (end - start)
    path.write_bytes(bytes(data))
    return path


@dataclass
class Warehouse:
    """One target and the environment that points the loader at it."""

    target: str
    env: dict[str, str]

    def query(self, statement: str) -> list[tuple]:
        """Run a statement against this warehouse and return its rows."""
        if self.target == "duckdb":
            path = Path(self.env["DUCKDB_PATH"])
            path.parent.mkdir(parents=True, exist_ok=True)
            with duckdb.connect(str(path)) as connection:
                result = connection.execute(statement)
                return result.fetchall() if result.description else []
        connection = psycopg2.connect(
            host=self.env["PGHOST"],
            port=self.env["PGPORT"],
            user=self.env["PGUSER"],
            password=self.env["PGPASSWORD"] or None,
            dbname=self.env["PGDATABASE"],
        )
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def vouchers(self) -> list[tuple]:
        """The six source columns of raw.vouchers, in file order."""
        return self.query(
            'select "timestamp", country_code, last_order_ts, first_order_ts,'
            " total_orders, voucher_amount from raw.vouchers"
            " order by _source_row_number"
        )

    def raw_tables(self) -> list[str]:
        """Names of the tables in the raw schema."""
        rows = self.query(
            "select table_name from information_schema.tables"
            " where table_schema = 'raw'"
        )
        return sorted(name for (name,) in rows)

    def leftover_tables(self) -> list[str]:
        """Staging tables still in the raw schema (a finished load leaves none)."""
        return [name for name in self.raw_tables() if name.startswith("_vouchers_s")]

    def assert_one_load(self, load_id: str) -> None:
        """raw.vouchers holds exactly the rows of ``load_id``, stored once."""
        assert self.query("select distinct _load_id from raw.vouchers") == [(load_id,)]
        suffix = load_id.replace("-", "")
        expected = ["load_log", "vouchers"]
        if self.target == "postgres":
            # The rows live in child tables of raw.vouchers, one per COPY stream.
            streams = range(postgres_warehouse.COPY_STREAMS)
            expected += [f"_vouchers_loaded_{suffix}_{n}" for n in streams]
        assert self.raw_tables() == sorted(expected)


@dataclass
class CliResult:
    """Outcome of one ``python -m loader`` run."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(
    args: list[str],
    env: dict[str, str],
    cwd: Path = REPO_ROOT,
    timeout: float = 120,
) -> CliResult:
    """Run ``python -m loader ARGS`` (from the repository root by default)."""
    completed = subprocess.run(
        [sys.executable, "-m", "loader", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def utc_naive(value: datetime) -> datetime:
    """Strip a zone if a driver returned one."""
    return value.replace(tzinfo=None)
