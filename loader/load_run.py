"""What identifies one load: its id, its source and when it started."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Current UTC time without a zone, as the warehouses' ``timestamp`` holds it."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class LoadRun:
    """The metadata written to every row of a load and to ``raw.load_log``."""

    source_file: str
    source_path: str
    source_sha256: str
    source_size_bytes: int
    source_origin: str  # dwh.origin.ORIGIN_FILE or ORIGIN_SYNTHETIC
    load_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: datetime = field(default_factory=utc_now)

    def load_log_row(self, target: str, row_count: int) -> list[object]:
        """The values of this load's ``raw.load_log`` row, in column order."""
        return [
            self.load_id,
            target,
            self.source_file,
            self.source_path,
            self.source_sha256,
            self.source_size_bytes,
            row_count,
            self.started_at,
            utc_now(),
            self.source_origin,
            None,  # unloaded_at: current until --replace or unload withdraws it
        ]

    @property
    def staging_suffix(self) -> str:
        """A suffix unique to this load, usable in a table name."""
        return table_suffix(self.load_id)


def table_suffix(load_id: str) -> str:
    """The load id as it appears in the names of its tables."""
    return load_id.replace("-", "")
