"""The pipeline benchmark's split of a `dbt build` into dbt's time and the nodes'.

docs/benchmarks.md quotes these figures to tell dbt's fixed cost from the SQL,
so the split is checked on a run_results.json whose times are known.
"""

import json
from pathlib import Path

import pytest

from benchmarks.bench_pipeline import BuildSplit, Step

STARTED_AT = 1_700_000_000.0  # the build process started (Unix time)


def _iso(offset: float) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(STARTED_AT + offset, UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def _result(unique_id: str, *spans: tuple[float, float]) -> dict:
    names = ("compile", "execute")
    return {
        "unique_id": unique_id,
        "timing": [
            {"name": name, "started_at": _iso(start), "completed_at": _iso(end)}
            for name, (start, end) in zip(names, spans, strict=False)
        ],
    }


def test_a_build_is_split_into_dbts_time_and_the_nodes(tmp_path: Path) -> None:
    results = [
        _result("seed.project.segment_definitions", (3.0, 3.1), (3.1, 3.5)),
        _result("model.project.int_vouchers_validated", (3.5, 3.6), (3.6, 9.5)),
        # A second thread: overlaps the model, counted in node time, not span.
        _result("test.project.not_null_x.abc123", (3.5, 3.5), (3.5, 5.5)),
        _result("unit_test.project.int_vouchers_validated.rule", (9.5, 10.0)),
        # Skipped (an upstream node failed): no timings, no time.
        _result("model.project.voucher_segment_modes"),
    ]
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": results}))

    split = BuildSplit.of(
        Step(seconds=11.0, peak_mb=0, started_at=STARTED_AT), run_results
    )

    assert split.before_nodes == pytest.approx(3.0, abs=1e-3)
    assert split.nodes == pytest.approx(7.0, abs=1e-3)
    assert split.after_nodes == pytest.approx(1.0, abs=1e-3)
    assert split.model_seconds == pytest.approx(6.0, abs=1e-3)
    assert split.test_seconds == pytest.approx(2.0, abs=1e-3)
    assert split.other_seconds == pytest.approx(0.5 + 0.5, abs=1e-3)
    assert split.largest[0] == ("int_vouchers_validated", pytest.approx(6.0, abs=1e-3))
    assert [name for name, _ in split.largest] == [
        "int_vouchers_validated",
        "not_null_x",
        "segment_definitions",
    ]
