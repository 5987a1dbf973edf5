"""Loading the real shared data file into DuckDB."""

import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.loader.helpers import run_cli

REAL_ROWS = 285_570


@pytest.mark.shared_data
def test_real_file_loads_completely_and_unchanged(
    tmp_path: Path, shared_data_file: Path
) -> None:
    real_file = shared_data_file
    database = tmp_path / "real.duckdb"
    env = {**os.environ, "DBT_TARGET": "duckdb", "DUCKDB_PATH": str(database)}

    result = run_cli(["load", str(real_file)], env)

    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(database), read_only=True) as connection:
        loaded = connection.execute(
            'select "timestamp", country_code, last_order_ts, first_order_ts,'
            " total_orders, voucher_amount from raw.vouchers"
            " order by _source_row_number"
        ).fetchall()
        (source_file,) = connection.execute(
            "select distinct _source_file from raw.vouchers"
        ).fetchone()
    assert len(loaded) == REAL_ROWS
    assert source_file == "data.parquet.gzip"

    # Compare with the file as pyarrow reads it, rendered independently of the
    # loader: strings as they are, timestamps by str(), doubles by repr().
    source = pq.read_table(real_file).to_pylist()
    expected = [
        (
            row["timestamp"],
            row["country_code"],
            row["last_order_ts"],
            None if row["first_order_ts"] is None else str(row["first_order_ts"]),
            row["total_orders"],
            None if row["voucher_amount"] is None else repr(row["voucher_amount"]),
        )
        for row in source
    ]
    assert loaded == expected
    assert sum(1 for row in loaded if row[4] == "") == 22_845
    assert sum(1 for row in loaded if row[5] is None) == 1_731
