"""The Arrow types a source column may have (loader.raw_schema.ACCEPTED_TYPES).

A column of another type is refused in one line before the warehouse is touched:
an int64 of epoch milliseconds in ``timestamp`` used to load and then fail every
row in dbt as ``given_at_unparseable``, an empty result every check accepted.
"""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader.errors import SourceError
from loader.parquet_source import open_source, text_batches
from loader.raw_schema import SOURCE_COLUMNS, accepted_types_markdown, accepts
from loader.synthetic import generate
from tests.conftest import REPO_ROOT
from tests.loader.helpers import Warehouse, run_cli, sample_table, write_parquet

ROWS = len(sample_table())
# Written out, not derived from the declaration, so a change to it shows here.
TIMESTAMP_TYPES = "timestamp, date, string"
EPOCH_MS = [1532199561102 + row for row in range(ROWS)]


def with_column(path: Path, name: str, values: pa.Array) -> Path:
    """The sample file with column ``name`` replaced by ``values``."""
    table = sample_table()
    table = table.set_column(table.schema.get_field_index(name), name, values)
    write_parquet(path, table)
    # The file must really hold the type under test (Parquet could coerce it).
    assert pq.read_schema(path).field(name).type == values.type
    return path


def first_value_as_text(path: Path, name: str) -> str | None:
    batch = next(text_batches(open_source(path)))
    return batch.column(name)[0].as_py()


@pytest.mark.parametrize(
    ("name", "values", "shown_type", "accepted"),
    [
        ("timestamp", pa.array(EPOCH_MS, pa.int64()), "int64", TIMESTAMP_TYPES),
        (
            "first_order_ts",
            pa.array(EPOCH_MS, pa.int64()),
            "int64",
            TIMESTAMP_TYPES,
        ),
        (
            "last_order_ts",
            pa.array(EPOCH_MS, pa.duration("ms")),
            "duration[ms]",
            TIMESTAMP_TYPES,
        ),
        ("country_code", pa.array(range(ROWS), pa.int64()), "int64", "string"),
        (
            "total_orders",
            pa.array([b"4.0"] * ROWS, pa.binary()),
            "binary",
            "string, integer, floating-point, decimal",
        ),
        (
            "voucher_amount",
            pa.array([True, False] * 3 + [None], pa.bool_()),
            "bool",
            "integer, floating-point, decimal, string",
        ),
    ],
    ids=[
        "epoch-ms-timestamp",
        "epoch-ms-first-order",
        "duration-last-order",
        "int64-country",
        "binary-orders",
        "bool-amount",
    ],
)
def test_other_types_are_refused_in_one_line(
    tmp_path: Path, name: str, values: pa.Array, shown_type: str, accepted: str
) -> None:
    path = with_column(tmp_path / "bad.parquet", name, values)
    with pytest.raises(SourceError) as caught:
        open_source(path)
    assert str(caught.value) == (
        f"{path}: column {name!r} has type {shown_type}; accepted types: {accepted}"
    )


@pytest.mark.parametrize(
    ("name", "values", "text"),
    [
        (
            "timestamp",
            pa.array(
                [datetime(2018, 7, 21, 18, 59, 21, tzinfo=UTC)] * ROWS,
                pa.timestamp("us", tz="UTC"),
            ),
            "2018-07-21 18:59:21+00:00",
        ),
        (
            "last_order_ts",
            pa.array([datetime(2018, 4, 20).date()] * ROWS, pa.date32()),
            "2018-04-20",
        ),
        (
            "first_order_ts",
            pa.array(["2018-04-20"] * ROWS, pa.large_string()),
            "2018-04-20",
        ),
        (
            "country_code",
            pa.array(["Peru", "China"] * 3 + [None]).dictionary_encode(),
            "Peru",
        ),
        ("total_orders", pa.array(range(4, 4 + ROWS), pa.int32()), "4"),
        (
            "voucher_amount",
            pa.array([Decimal("2640.00")] * ROWS, pa.decimal128(10, 2)),
            "2640.00",
        ),
        ("first_order_ts", pa.nulls(ROWS), None),
    ],
    ids=[
        "zoned-timestamp-us",
        "date32",
        "large-string",
        "dictionary-string",
        "int32-orders",
        "decimal-amount",
        "all-null",
    ],
)
def test_accepted_types_load_as_text(
    tmp_path: Path, name: str, values: pa.Array, text: str | None
) -> None:
    path = with_column(tmp_path / "good.parquet", name, values)
    assert first_value_as_text(path, name) == text


def test_a_pandas_categorical_is_accepted(tmp_path: Path) -> None:
    frame = sample_table().to_pandas()
    frame["country_code"] = frame["country_code"].astype("category")
    path = tmp_path / "categorical.parquet"
    frame.to_parquet(path)
    assert pa.types.is_dictionary(pq.read_schema(path).field("country_code").type)
    assert first_value_as_text(path, "country_code") == "Peru"


@pytest.mark.parametrize("name", SOURCE_COLUMNS)
def test_an_all_null_column_fits_any_column(name: str) -> None:
    assert accepts(name, pa.null())
    assert accepts(name, pa.dictionary(pa.int32(), pa.null()))


@pytest.mark.parametrize(
    ("name", "data_type", "accepted"),
    [
        ("timestamp", pa.string_view(), True),
        ("timestamp", pa.timestamp("ns", tz="Europe/Berlin"), True),
        ("last_order_ts", pa.date64(), True),
        ("first_order_ts", pa.timestamp("s"), True),
        ("total_orders", pa.uint64(), True),
        ("total_orders", pa.float32(), True),
        ("voucher_amount", pa.string(), True),
        ("voucher_amount", pa.decimal256(40, 2), True),
        ("country_code", pa.dictionary(pa.int8(), pa.large_string()), True),
        ("timestamp", pa.float64(), False),
        ("timestamp", pa.time64("us"), False),
        # Parquet keeps only string dictionaries, but Arrow allows any.
        ("timestamp", pa.dictionary(pa.int32(), pa.int64()), False),
        ("country_code", pa.float64(), False),
        ("country_code", pa.date32(), False),
        ("total_orders", pa.bool_(), False),
        ("voucher_amount", pa.timestamp("ms"), False),
        ("voucher_amount", pa.large_binary(), False),
        ("voucher_amount", pa.list_(pa.float64()), False),
    ],
)
def test_accepts_by_type_family(
    name: str, data_type: pa.DataType, accepted: bool
) -> None:
    assert accepts(name, data_type) is accepted


def test_a_refused_type_fails_the_cli_in_one_line_and_keeps_the_previous_load(
    warehouse: Warehouse, tmp_path: Path, other_file: Path
) -> None:
    # Through the CLI as well, so the test does not depend on how targets are named.
    assert run_cli(["load", str(other_file)], warehouse.env).returncode == 0
    (previous_load_id,) = warehouse.query("select distinct _load_id from raw.vouchers")
    before = warehouse.vouchers()
    assert len(before) == 25
    epoch = with_column(
        tmp_path / "epoch.parquet", "timestamp", pa.array(EPOCH_MS, pa.int64())
    )

    result = run_cli(["load", str(epoch)], warehouse.env)

    assert result.returncode == 1
    assert result.stderr == (
        f"loader: error: {epoch}: column 'timestamp' has type int64;"
        " accepted types: timestamp, date, string\n"
    )
    assert warehouse.vouchers() == before
    assert warehouse.query("select count(*) from raw.load_log") == [(1,)]
    warehouse.assert_one_load(*previous_load_id)


@pytest.mark.shared_data
def test_the_real_file_passes(shared_data_file: Path) -> None:
    source = open_source(shared_data_file)
    assert source.row_count == 285_570


def test_a_generated_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.parquet"
    generate(path, rows=2_000, seed=5)
    assert open_source(path).row_count == 2_000


def test_the_documented_table_comes_from_the_declaration() -> None:
    lines = accepted_types_markdown().splitlines()
    rows = [line for line in lines if line.startswith("| `")]
    assert rows == [
        "| `timestamp` | timestamp, date, string |",
        "| `country_code` | string |",
        "| `last_order_ts` | timestamp, date, string |",
        "| `first_order_ts` | timestamp, date, string |",
        "| `total_orders` | string, integer, floating-point, decimal |",
        "| `voucher_amount` | integer, floating-point, decimal, string |",
    ]
    assert "| date | `date32`, `date64` |" in lines


def test_the_readme_shows_the_accepted_types_as_declared() -> None:
    """The README's table is the declaration's own rendering, not a copy."""
    readme = (REPO_ROOT / "README.md").read_text()
    start = readme.index("<!-- accepted-types:")
    start = readme.index("\n", start) + 1
    end = readme.index("<!-- /accepted-types -->")
    assert readme[start:end].strip() == accepted_types_markdown().strip()
