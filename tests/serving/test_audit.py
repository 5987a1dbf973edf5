"""The audit of dbt's artifacts: what counts as a build in which every node
passed, on hand-made run_results.json and manifest.json (no warehouse)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.audit import NotPublishable, audit_build

INVOCATION = "11111111-2222-3333-4444-555555555555"
NODES = {
    "model.p.stg": {"resource_type": "model", "name": "stg", "schema": "staging"},
    "model.p.modes": {"resource_type": "model", "name": "modes", "schema": "marts"},
    "model.p.report": {"resource_type": "model", "name": "report", "schema": "marts"},
    "model.p.eph": {
        "resource_type": "model",
        "name": "eph",
        "schema": "x",
        "config": {"materialized": "ephemeral"},
    },
    "seed.p.bounds": {"resource_type": "seed", "name": "bounds", "schema": "marts"},
    "test.p.not_null": {"resource_type": "test", "name": "nn", "schema": "t"},
    "analysis.p.look": {"resource_type": "analysis", "name": "look", "schema": "a"},
}
PASSING = {
    "model.p.stg": "success",
    "model.p.modes": "success",
    "model.p.report": "success",
    "seed.p.bounds": "success",
    "test.p.not_null": "pass",
    "unit_test.p.modes.ties": "pass",
    "operation.p.on-run-start.0": "success",
    "exposure.p.voucher_api": "no-op",
}


def write(
    folder: Path,
    statuses: dict[str, str] = PASSING,
    which: str = "build",
    manifest_invocation: str = INVOCATION,
    **args,
) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "invocation_id": INVOCATION,
                    "dbt_version": "1.11.16",
                    "generated_at": "2026-12-01T10:00:00.000000Z",
                },
                "args": {"which": which, "vars": {"countries": ["Peru"]}, **args},
                "results": [
                    {"unique_id": unique_id, "status": status}
                    for unique_id, status in statuses.items()
                ],
            }
        )
    )
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "invocation_id": manifest_invocation,
                    "adapter_type": "duckdb",
                },
                "nodes": NODES,
                "unit_tests": {"unit_test.p.modes.ties": {}},
                "exposures": {
                    "exposure.p.voucher_api": {
                        "name": "voucher_api",
                        "depends_on": {"nodes": ["model.p.modes"]},
                    },
                    "exposure.p.report": {
                        "name": "data_quality_report",
                        "depends_on": {"nodes": ["model.p.modes", "model.p.report"]},
                    },
                },
            }
        )
    )
    return folder


def test_a_full_passing_build_is_publishable(tmp_path):
    build = audit_build(write(tmp_path / "t"))
    assert build.invocation_id == INVOCATION
    assert build.passed == {"model": 3, "seed": 1, "test": 1, "unit_test": 1}
    assert build.warnings == 0
    assert build.vars == {"countries": ["Peru"]}
    # What the exposures depend on, the API's marked: only those it may read.
    assert [(r.name, r.build_schema, r.for_api) for r in build.relations] == [
        ("modes", "marts", True),
        ("report", "marts", False),
    ]


def test_a_warning_is_allowed_and_counted(tmp_path):
    build = audit_build(write(tmp_path / "t", {**PASSING, "test.p.not_null": "warn"}))
    assert build.warnings == 1


@pytest.mark.parametrize(
    ("unique_id", "status"),
    [
        ("test.p.not_null", "fail"),
        ("test.p.not_null", "error"),
        ("model.p.modes", "error"),
        ("model.p.report", "skipped"),
        ("seed.p.bounds", "error"),
        ("unit_test.p.modes.ties", "fail"),
        ("model.p.stg", "no-op"),
        ("operation.p.on-run-start.0", "error"),
    ],
)
def test_any_node_that_did_not_pass_refuses_the_build(tmp_path, unique_id, status):
    folder = write(tmp_path / "t", {**PASSING, unique_id: status})
    with pytest.raises(
        NotPublishable, match=rf"did not pass: {unique_id} \({status}\)"
    ):
        audit_build(folder)


@pytest.mark.parametrize(
    "missing", ["model.p.report", "seed.p.bounds", "unit_test.p.modes.ties"]
)
def test_a_build_of_some_nodes_is_partial(tmp_path, missing):
    statuses = {k: v for k, v in PASSING.items() if k != missing}
    with pytest.raises(NotPublishable, match=rf"partial: 1 of 6 nodes .*{missing}"):
        audit_build(write(tmp_path / "t", statuses))


@pytest.mark.parametrize("which", ["run", "test", "seed", "compile", "docs"])
def test_only_dbt_build_is_publishable(tmp_path, which):
    with pytest.raises(NotPublishable, match=rf"`dbt {which}`, not `dbt build`"):
        audit_build(write(tmp_path / "t", which=which))


def test_an_empty_build_is_not_publishable(tmp_path):
    with pytest.raises(NotPublishable, match="--empty"):
        audit_build(write(tmp_path / "t", empty=True))


def test_artifacts_of_two_invocations_are_refused(tmp_path):
    with pytest.raises(NotPublishable, match="different dbt invocations"):
        audit_build(write(tmp_path / "t", manifest_invocation="another"))


def test_no_artifacts_say_what_to_run(tmp_path):
    with pytest.raises(NotPublishable, match="run `dbt build` first"):
        audit_build(tmp_path)


def test_a_corrupt_artifact_is_one_line(tmp_path):
    folder = write(tmp_path / "t")
    (folder / "run_results.json").write_text('{"metadata": ')
    with pytest.raises(NotPublishable) as raised:
        audit_build(folder)
    assert "\n" not in str(raised.value)
