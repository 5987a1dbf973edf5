"""A growing raw history: append, skip what is loaded, replace, withdraw one load.

Every test runs once per warehouse (the ``warehouse`` fixture is parametrized).
"""

from pathlib import Path

import pytest

from dwh.settings import Target
from loader.errors import SourceError
from loader.load import current_loads, load_paths, unload
from tests.loader.helpers import (
    SAMPLE_TEXT,
    Warehouse,
    corrupt_last_row_group,
    run_cli,
    sample_table,
    write_parquet,
)


def _files(folder: Path, count: int) -> list[Path]:
    """``count`` distinct valid files in ``folder`` (day-1 ... day-N)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for day in range(1, count + 1):
        rows = [
            (f"2018-06-0{day} 10:00:00", "Peru", "2018-05-01", 0, f"{i}.0", 2640.0)
            for i in range(day * 3)
        ]
        files.append(write_parquet(folder / f"day-{day}.parquet", sample_table(rows)))
    return files


def _rows_per_file(warehouse: Warehouse) -> dict[str, int]:
    rows = warehouse.query(
        "select _source_file, count(*) from raw.vouchers group by _source_file"
    )
    return dict(rows)


def test_each_file_is_appended_as_its_own_load(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, two = _files(tmp_path / "in", 2)
    target = Target(warehouse.target)
    first = load_paths([one], target)
    second = load_paths([two], target)

    assert _rows_per_file(warehouse) == {"day-1.parquet": 3, "day-2.parquet": 6}
    loads = current_loads(target, warehouse.env)
    assert [load.load_id for load in loads] == [first.load_id, second.load_id]
    assert [load.row_count for load in loads] == [3, 6]
    assert warehouse.query("select count(distinct _load_id) from raw.vouchers") == [
        (2,)
    ]


def test_a_folder_and_a_glob_load_every_parquet_file_once(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    _files(folder, 3)
    (folder / "notes.txt").write_text("not a data file\n")
    result = load_paths(
        [folder, str(folder / "day-*.parquet")], Target(warehouse.target)
    )
    assert len(result.load_ids) == 3
    assert _rows_per_file(warehouse) == {
        "day-1.parquet": 3,
        "day-2.parquet": 6,
        "day-3.parquet": 9,
    }


def test_a_file_already_loaded_is_skipped_in_one_line(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, two = _files(tmp_path / "in", 2)
    first = load_paths([one], Target(warehouse.target))
    copy = tmp_path / "renamed-copy.parquet"
    copy.write_bytes(one.read_bytes())

    # The same folder again, and the same bytes under another name.
    result = run_cli(["load", str(one.parent), str(copy)], warehouse.env)

    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert skipped == [
        f"skipped {one}: already loaded as load {first.load_id}"
        " (day-1.parquet, same SHA-256)",
        f"skipped {copy}: already loaded as load {first.load_id}"
        " (day-1.parquet, same SHA-256)",
    ]
    assert _rows_per_file(warehouse) == {"day-1.parquet": 3, "day-2.parquet": 6}
    again = run_cli(["load", str(one.parent)], warehouse.env)
    assert again.returncode == 0
    assert "nothing new to load: raw is unchanged" in again.stderr
    assert warehouse.query("select count(*) from raw.load_log") == [(2,)]


def test_replace_makes_raw_exactly_these_files_and_logs_what_it_withdrew(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, two, three = _files(tmp_path / "in", 3)
    target = Target(warehouse.target)
    old = load_paths([one, two], target)
    new = load_paths([two, three], target, replace=True)

    assert _rows_per_file(warehouse) == {"day-2.parquet": 6, "day-3.parquet": 9}
    assert [load.load_id for load in current_loads(target, warehouse.env)] == (
        new.load_ids
    )
    withdrawn = warehouse.query(
        "select load_id from raw.load_log where unloaded_at is not null"
    )
    assert sorted(row[0] for row in withdrawn) == sorted(old.load_ids)


def test_unload_withdraws_exactly_one_load_by_id_or_file_name(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, two, three = _files(tmp_path / "in", 3)
    target = Target(warehouse.target)
    loaded = load_paths([one, two, three], target)

    by_id = unload(loaded.load_ids[1], target, warehouse.env)
    assert by_id.source_file == "day-2.parquet"
    result = run_cli(["unload", "day-3.parquet"], warehouse.env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"unloaded load {loaded.load_ids[2]} (day-3.parquet, 9 rows)"
        f" from {warehouse.target} raw.vouchers\n"
    )

    assert _rows_per_file(warehouse) == {"day-1.parquet": 3}
    log = warehouse.query(
        "select source_file, unloaded_at is null from raw.load_log order by source_file"
    )
    assert log == [
        ("day-1.parquet", True),
        ("day-2.parquet", False),
        ("day-3.parquet", False),
    ]
    # Withdrawn, the file is not "already loaded": it can come back.
    back = load_paths([two], target)
    assert back.row_count == 6
    assert _rows_per_file(warehouse) == {"day-1.parquet": 3, "day-2.parquet": 6}


def test_unloading_what_is_not_loaded_fails_in_one_line(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    (one,) = _files(tmp_path / "in", 1)
    load_paths([one], Target(warehouse.target))
    result = run_cli(["unload", "day-9.parquet"], warehouse.env)
    assert result.returncode == 1
    assert result.stderr == (
        "loader: error: day-9.parquet: no current load has this load id or file"
        " name (python -m loader loads lists them)\n"
    )
    assert _rows_per_file(warehouse) == {"day-1.parquet": 3}


def test_a_file_name_of_two_loads_must_be_unloaded_by_id(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    (one,) = _files(tmp_path / "a", 1)
    (tmp_path / "b").mkdir()
    other = write_parquet(tmp_path / "b" / "day-1.parquet", sample_table())
    target = Target(warehouse.target)
    loaded = load_paths([one], target).load_ids + load_paths([other], target).load_ids
    with pytest.raises(SourceError, match="2 current loads have this file name"):
        unload("day-1.parquet", target, warehouse.env)
    assert warehouse.query("select count(*) from raw.vouchers") == [
        (3 + len(SAMPLE_TEXT),)
    ]
    unload(loaded[0], target, warehouse.env)
    assert warehouse.vouchers() == SAMPLE_TEXT


def test_a_broken_file_among_three_loads_none_of_them_and_names_it(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, two = _files(tmp_path / "in", 2)
    target = Target(warehouse.target)
    before = load_paths([one], target)
    three, four = _files(tmp_path / "next", 2)[0], tmp_path / "next" / "day-2.parquet"
    three.write_bytes(b"")  # found before anything is written
    result = run_cli(["load", str(two), str(three), str(four)], warehouse.env)
    assert result.returncode == 1
    assert result.stderr == f"loader: error: {three}: file is empty (0 bytes)\n"

    # Damage found only while reading: the files before it are rolled back too.
    corrupt = corrupt_last_row_group(tmp_path / "next")
    result = run_cli(["load", str(two), str(corrupt), str(four)], warehouse.env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"loader: error: {corrupt}: corrupt data")

    assert [load.load_id for load in current_loads(target, warehouse.env)] == [
        before.load_id
    ]
    assert _rows_per_file(warehouse) == {"day-1.parquet": 3}
    assert warehouse.leftover_tables() == []


def test_loads_lists_the_current_loads(warehouse: Warehouse, tmp_path: Path) -> None:
    one, two = _files(tmp_path / "in", 2)
    loaded = load_paths([one, two], Target(warehouse.target))
    result = run_cli(["loads"], warehouse.env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == loaded.load_ids
    assert [line.split()[-1] for line in lines] == ["day-1.parquet", "day-2.parquet"]
    assert result.stderr == (
        f"2 current load(s), 9 rows in {warehouse.target} raw.vouchers\n"
    )


def test_progress_counts_only_the_files_written(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    one, _ = _files(tmp_path / "in", 2)
    target = Target(warehouse.target)
    load_paths([one], target)
    calls: list[tuple[int, int]] = []
    load_paths([one.parent], target, on_progress=lambda *done: calls.append(done))
    # day-1 is skipped: the progress runs to day-2's 6 rows out of 6.
    assert calls and calls[-1] == (6, 6)
