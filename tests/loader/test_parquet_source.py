"""Validation and streaming of source files (loader.parquet_source)."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dwh.origin import ORIGIN_FILE, ORIGIN_METADATA_KEY, ORIGIN_SYNTHETIC
from loader.errors import SourceError
from loader.parquet_source import open_source, sha256_of, text_batches
from loader.raw_schema import BATCH_COLUMNS
from loader.synthetic import generate
from tests.loader.helpers import (
    SAMPLE_TEXT,
    corrupt_last_row_group,
    sample_table,
    write_parquet,
)


def test_valid_file_streams_text_and_row_numbers(sample_file: Path) -> None:
    source = open_source(sample_file)
    assert source.row_count == len(SAMPLE_TEXT)
    assert source.name == "sample.parquet"
    batches = list(text_batches(source, batch_rows=3))
    assert [batch.num_rows for batch in batches] == [3, 3, 1]
    table = pa.Table.from_batches(batches)
    assert table.column_names == list(BATCH_COLUMNS)
    assert all(table.schema.field(i).type == pa.string() for i in range(6))
    assert table.column("_source_row_number").to_pylist() == list(range(1, 8))
    assert [tuple(row.values())[:6] for row in table.to_pylist()] == SAMPLE_TEXT


def test_columns_are_found_by_name_and_extras_ignored(tmp_path: Path) -> None:
    table = sample_table()
    shuffled = table.select(list(reversed(table.column_names))).append_column(
        "extra", pa.array(range(table.num_rows))
    )
    source = open_source(write_parquet(tmp_path / "shuffled.parquet", shuffled))
    assert source.ignored_columns == ("extra",)
    rows = pa.Table.from_batches(text_batches(source)).to_pylist()
    assert [tuple(row.values())[:6] for row in rows] == SAMPLE_TEXT


def _corrupt_copy(tmp_path: Path, data: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make_file", "problem"),
    [
        (lambda tmp, good: tmp / "absent.parquet", "file not found"),
        (lambda tmp, good: _corrupt_copy(tmp, b"", "empty.parquet"), "0 bytes"),
        (
            lambda tmp, good: _corrupt_copy(tmp, b"a,b\n1,2\n", "table.csv"),
            "not a Parquet file",
        ),
        (
            lambda tmp, good: _corrupt_copy(
                tmp, good.read_bytes()[: good.stat().st_size // 2], "half.parquet"
            ),
            "truncated or corrupt",
        ),
        (
            lambda tmp, good: _corrupt_copy(tmp, good.read_bytes()[:-1], "cut.parquet"),
            "truncated or corrupt",
        ),
        (lambda tmp, good: tmp, "is a directory"),
        (
            lambda tmp, good: write_parquet(tmp / "no_rows.parquet", sample_table([])),
            "contains no rows",
        ),
        (
            lambda tmp, good: write_parquet(
                tmp / "no_orders.parquet", sample_table().drop_columns("total_orders")
            ),
            "missing required column(s) total_orders",
        ),
        (
            lambda tmp, good: write_parquet(
                tmp / "nested.parquet",
                sample_table().set_column(5, "voucher_amount", pa.array([[1.0]] * 7)),
            ),
            "'voucher_amount' has type list<",
        ),
    ],
    ids=[
        "missing",
        "zero-bytes",
        "csv",
        "truncated-half",
        "truncated-last-byte",
        "directory",
        "zero-rows",
        "missing-column",
        "nested-type",
    ],
)
def test_bad_files_are_rejected_in_one_line(
    tmp_path: Path, sample_file: Path, make_file, problem: str
) -> None:
    path = make_file(tmp_path, sample_file)
    with pytest.raises(SourceError) as caught:
        open_source(path)
    message = str(caught.value)
    assert problem in message
    assert str(path) in message
    assert "\n" not in message


def test_damage_after_the_footer_check_fails_mid_stream(tmp_path: Path) -> None:
    path = corrupt_last_row_group(tmp_path)
    source = open_source(path)  # the footer is intact, so this passes
    received = []
    with pytest.raises(SourceError) as caught:
        for batch in text_batches(source, batch_rows=500):
            received.append(batch.num_rows)
    assert sum(received) == 2000  # the two good row groups came through first
    assert "corrupt data after row 2,000" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sha256_identifies_content(tmp_path: Path, sample_file: Path) -> None:
    copy = tmp_path / "copy.parquet"
    copy.write_bytes(sample_file.read_bytes())
    assert sha256_of(copy) == sha256_of(sample_file)
    assert len(sha256_of(copy)) == 64
    copy.write_bytes(sample_file.read_bytes() + b"x")
    assert sha256_of(copy) != sha256_of(sample_file)


def test_the_generators_files_are_known_as_synthetic(
    tmp_path: Path, sample_file: Path
) -> None:
    demo = tmp_path / "demo.parquet"
    generate(demo, rows=10, seed=1)
    assert open_source(demo).origin == ORIGIN_SYNTHETIC
    assert open_source(sample_file).origin == ORIGIN_FILE
    # The same rows without the mark are a file like any other.
    plain = pq.read_table(demo).replace_schema_metadata(None)
    rewritten = write_parquet(tmp_path / "rewritten.parquet", plain)
    assert open_source(rewritten).origin == ORIGIN_FILE
    other_mark = sample_table().replace_schema_metadata({ORIGIN_METADATA_KEY: b"x"})
    marked = write_parquet(tmp_path / "marked.parquet", other_mark)
    assert open_source(marked).origin == ORIGIN_FILE
