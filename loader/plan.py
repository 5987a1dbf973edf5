"""What one loader invocation will do, decided the same way on every warehouse.

``python -m loader load PATH...`` turns its paths into files (``source_files``),
validates each and hashes it before any warehouse is touched (``plan_loads``),
and then, inside the warehouse's own lock or transaction, drops the files whose
SHA-256 a current load already has (``LoadPlan.to_write``). ``unload`` finds the
one current load a selector names (``choose_unload``).

A load is *current* while its rows are in ``raw.vouchers``: its ``raw.load_log``
row has no ``unloaded_at``. ``--replace`` and ``unload`` set ``unloaded_at``;
nothing is ever deleted from the log.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from loader.errors import SourceError
from loader.load_run import LoadRun
from loader.parquet_source import ParquetSource, open_source, sha256_of, text_batches

# What a folder contributes: every Parquet file in it, gzip'd ones included.
FOLDER_PATTERN = "*.parquet*"


@dataclass(frozen=True)
class CurrentLoad:
    """A load whose rows raw.vouchers holds (its raw.load_log row)."""

    load_id: str
    source_file: str
    source_sha256: str
    row_count: int
    finished_at: datetime


@dataclass(frozen=True)
class PendingLoad:
    """A validated file, not yet written."""

    source: ParquetSource
    run: LoadRun

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The file's rows as text batches (read when the warehouse asks)."""
        return text_batches(self.source)


@dataclass(frozen=True)
class SkippedFile:
    """A file whose content a current load already holds."""

    path: Path
    loaded_as: CurrentLoad


@dataclass(frozen=True)
class LoadPlan:
    """The files of one invocation, in order, and whether they replace raw."""

    files: tuple[PendingLoad, ...]
    replace: bool
    # Told which files to_write chose (e.g. to size a progress bar).
    on_chosen: Callable[[list[PendingLoad]], None] | None = field(
        default=None, compare=False
    )

    def to_write(
        self, current: Iterable[CurrentLoad]
    ) -> tuple[list[PendingLoad], list[SkippedFile]]:
        """The files to write given the current loads, and those skipped.

        With ``replace`` every file is written (raw becomes exactly them) except
        a repeat of an earlier file of this invocation; otherwise a file whose
        SHA-256 a current load has is skipped.
        """
        known = {} if self.replace else {load.source_sha256: load for load in current}
        write: list[PendingLoad] = []
        skipped: list[SkippedFile] = []
        for pending in self.files:
            sha = pending.run.source_sha256
            if sha in known:
                skipped.append(SkippedFile(pending.source.path, known[sha]))
                continue
            known[sha] = CurrentLoad(
                pending.run.load_id,
                pending.source.name,
                sha,
                pending.source.row_count,
                pending.run.started_at,
            )
            write.append(pending)
        if self.on_chosen is not None:
            self.on_chosen(write)
        return write, skipped


def source_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files named by ``paths`` (files, folders, globs), in order, each once.

    A folder contributes its ``*.parquet*`` files and a glob its matches, both
    sorted by name; a path that names nothing is a ``SourceError``.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if glob.has_magic(text) and not path.exists():
            matches = sorted(Path(match) for match in glob.glob(text, recursive=True))
            matches = [match for match in matches if match.is_file()]
            if not matches:
                raise SourceError(f"{text}: no file matches this pattern")
        elif path.is_dir():
            matches = sorted(p for p in path.glob(FOLDER_PATTERN) if p.is_file())
            if not matches:
                raise SourceError(f"{path}: folder holds no {FOLDER_PATTERN} file")
        else:
            matches = [path]
        for match in matches:
            found.setdefault(match.resolve() if match.exists() else match, None)
    if not found:
        raise SourceError("no file to load")
    return list(found)


def plan_loads(
    paths: Sequence[str | Path],
    replace: bool,
    on_chosen: Callable[[list[PendingLoad]], None] | None = None,
) -> LoadPlan:
    """Validate and hash every file first: one bad file stops them all."""
    pending = []
    for path in source_files(paths):
        source = open_source(path)
        run = LoadRun(
            source_file=source.name,
            source_path=str(path.resolve()),
            source_sha256=sha256_of(path),
            source_size_bytes=source.size_bytes,
            source_origin=source.origin,
        )
        pending.append(PendingLoad(source, run))
    return LoadPlan(tuple(pending), replace, on_chosen)


def choose_unload(current: Sequence[CurrentLoad], selector: str) -> CurrentLoad:
    """The current load ``selector`` names: its load id, or its file name when
    exactly one current load has that name."""
    by_id = [load for load in current if load.load_id == selector]
    if by_id:
        return by_id[0]
    by_name = [load for load in current if load.source_file == selector]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        ids = ", ".join(load.load_id for load in by_name)
        raise SourceError(
            f"{selector}: {len(by_name)} current loads have this file name"
            f" (load ids {ids}); unload one by its load id"
        )
    raise SourceError(
        f"{selector}: no current load has this load id or file name"
        " (python -m loader loads lists them)"
    )


@dataclass(frozen=True)
class Written:
    """A file written as a new load."""

    pending: PendingLoad
    row_count: int


@dataclass(frozen=True)
class Applied:
    """What one invocation changed in raw, all of it in one commit."""

    written: list[Written]
    skipped: list[SkippedFile]
    # Loads --replace or unload withdrew.
    withdrawn: list[CurrentLoad]


# How a warehouse reads a pending load: load.py wraps it to report progress.
BatchesOf = Callable[[PendingLoad], Iterable[pa.RecordBatch]]
