"""python -m report [--out PATH] [--target duckdb|postgres]

Reads the published build (schema serving, what the API serves) of the
serving warehouse, chosen as the API's is (dwh.reader.serving_target), and
writes one self-contained HTML report, plus the recency histogram of the
first country as a PNG beside it for the README.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dwh.errors import WarehouseError
from dwh.reader import reader_for
from dwh.settings import Target
from report.html import render_report
from report.marts import read_marts
from report.sections import build_report

DEFAULT_OUT = Path("build/report/index.html")
# The figure the README shows, written beside the report under a stable name.
README_FIGURE = ("recency_segment", "recency.png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m report",
        description="Write the data-quality and exploration report of the build"
        " the API serves.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"HTML file to write (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--target",
        choices=[Target.DUCKDB.value, Target.POSTGRES.value],
        help="warehouse to read (default: $SERVE_TARGET, else $DBT_TARGET if"
        " duckdb or postgres, else duckdb)",
    )
    args = parser.parse_args(argv)

    try:
        reader = reader_for(target=args.target, application_name="voucher-report")
        report = build_report(read_marts(reader))
    except WarehouseError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    _write(args.out, render_report(report).encode("utf-8"))
    written = [args.out]
    segment, file_name = README_FIGURE
    if report.countries:
        histogram = report.histogram(report.countries[0].country_code, segment)
        if histogram is not None:
            _write(args.out.with_name(file_name), histogram.image.png)
            written.append(args.out.with_name(file_name))

    size = args.out.stat().st_size / 1e6
    print(
        f"wrote {' and '.join(map(str, written))} ({size:.1f} MB) from "
        f"{report.source}, build of {report.summary.built_at}"
    )
    return 0


def _write(path: Path, content: bytes) -> None:
    """Replace `path` whole, so a reader never sees a half-written file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


if __name__ == "__main__":
    sys.exit(main())
