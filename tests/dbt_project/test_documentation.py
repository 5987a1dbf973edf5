"""The docs site explains every node of the lineage graph.

Most of it is checked by the tools `make dbt-quality` runs: dbt-score (every
model, seed and macro described, with an owner; thresholds in pyproject's
``[tool.dbt-score]``) and dbt-coverage (every column the warehouse holds is
declared and described). The tests here check what neither looks at (the
source and the analyses), that each gate fails when it should, and that the
example queries in the model descriptions run.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import BIN, REPO_ROOT, Pipeline

PROJECT = "voucher_selection"
EXAMPLE_SQL = re.compile(r"```sql\n(.*?)```", re.DOTALL)


def dbt_env(target: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        "DUCKDB_PATH": str(target / "unused.duckdb"),
    }


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory) -> Path:
    """``manifest.json`` from ``dbt parse``: no warehouse needed."""
    target = tmp_path_factory.mktemp("dbt-target")
    subprocess.run(
        [str(BIN / "dbt"), "--no-version-check", "parse"],
        cwd=REPO_ROOT,
        env=dbt_env(target),
        check=True,
        capture_output=True,
    )
    return target / "manifest.json"


@pytest.fixture(scope="module")
def manifest(manifest_path) -> dict:
    return json.loads(manifest_path.read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Pipeline:
    """A small DuckDB build with dbt's catalog of it (``dbt docs generate``)."""
    work = tmp_path_factory.mktemp("built")
    pipeline = Pipeline.on_duckdb(work)
    pipeline.load(pipeline.generate(rows=2000, seed=3))
    pipeline.build()
    pipeline.run(str(BIN / "dbt"), "--no-version-check", "docs", "generate")
    return pipeline


def undocumented(manifest: dict) -> list[str]:
    """Sources, their tables and analyses (and their columns) without a
    description: the nodes dbt-score has no rule for."""
    missing = []
    nodes = [
        node
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]
        if node["package_name"] == PROJECT
        and node["resource_type"] in ("source", "analysis")
    ]
    for node in nodes:
        if not node["description"].strip():
            missing.append(node["unique_id"])
        if not node.get("source_description", "-").strip():
            missing.append(f"{node['unique_id']} (its source)")
        missing += [
            f"{node['unique_id']}.{name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        ]
    return missing


def test_the_source_and_every_analysis_are_described(manifest):
    assert len(manifest["sources"]) >= 1
    assert undocumented(manifest) == []


def test_the_check_notices_a_missing_description(manifest):
    broken = json.loads(json.dumps(manifest))
    source = next(iter(broken["sources"].values()))
    source["source_description"] = ""
    assert f"{source['unique_id']} (its source)" in undocumented(broken)


def test_the_docs_site_opens_on_the_project_overview(manifest):
    overview = manifest["docs"][f"doc.{PROJECT}.__overview__"]
    assert "Reading the lineage" in overview["block_contents"]


def test_one_team_owns_every_node_and_exposure(manifest):
    """The owner is set once (dbt_project.yml): models, seeds, the source and
    the exposures all name the same team, and no invented email address."""
    nodes = [
        node
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]
        if node["package_name"] == PROJECT
        and node["resource_type"] in ("model", "seed", "source")
    ]
    owners = {node["unique_id"]: node["meta"].get("owner") for node in nodes}
    exposures = manifest["exposures"].values()
    owners |= {
        exposure["unique_id"]: exposure["owner"]["name"] for exposure in exposures
    }
    assert len(owners) >= 14
    assert len(set(owners.values())) == 1, owners
    assert None not in owners.values()
    assert [exposure["owner"].get("email") for exposure in exposures] == [None] * len(
        exposures
    )


def test_dbt_score_fails_a_model_without_owner(manifest, manifest_path, tmp_path):
    """The committed thresholds bite: one model without an owner fails the
    lint, where the whole project passes."""

    def lint(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "dbt-score"), "lint", "--manifest", str(path)],
            cwd=REPO_ROOT,  # where pyproject.toml holds [tool.dbt-score]
            capture_output=True,
            text=True,
        )

    passed = lint(manifest_path)
    assert passed.returncode == 0, passed.stdout
    broken = json.loads(json.dumps(manifest))
    model = broken["nodes"]["model.voucher_selection.voucher_segment_modes"]
    model["meta"] = {}
    model["config"]["meta"] = {}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(broken))
    failed = lint(path)
    assert failed.returncode != 0
    assert "voucher_segment_modes" in failed.stdout


def test_dbt_coverage_counts_an_undeclared_column_as_undocumented(built, tmp_path):
    """dbt-coverage reads the catalog of the real relations, so a column the
    SQL produces but the YAML omits lowers its docs coverage below the 1.0
    `make dbt-quality` requires: it does what a hand-written check did."""
    target = Path(built.env["DBT_TARGET_PATH"])

    def doc_coverage(artifacts: Path) -> float:
        report = tmp_path / f"{artifacts.name}-coverage.json"
        subprocess.run(
            [
                str(BIN / "dbt-coverage"), "compute", "doc",
                "--run-artifacts-dir", str(artifacts),
                "--cov-report", str(report),
            ],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )  # fmt: skip
        return json.loads(report.read_text())["coverage"]

    assert doc_coverage(target) == 1.0
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "manifest.json").write_text((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert len(catalog["nodes"]) >= 10
    relation = catalog["nodes"]["model.voucher_selection.voucher_segment_modes"]
    relation["columns"]["undeclared_column"] = {
        "type": "INTEGER",
        "index": len(relation["columns"]) + 1,
        "name": "undeclared_column",
        "comment": None,
    }
    (planted / "catalog.json").write_text(json.dumps(catalog))
    assert doc_coverage(planted) < 1.0


def test_every_example_query_runs(built):
    """The ```sql examples in the model descriptions (dbt-score asks for
    them) run on a built warehouse and return rows."""
    manifest = json.loads(
        Path(built.env["DBT_TARGET_PATH"], "manifest.json").read_text()
    )
    examples = {
        unique_id: query
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        for query in EXAMPLE_SQL.findall(node["description"])
    }
    assert len(examples) >= 11
    failing = {}
    with duckdb.connect(built.env["DUCKDB_PATH"], read_only=True) as connection:
        for unique_id, query in examples.items():
            try:
                if not connection.execute(query).fetchall():
                    failing[unique_id] = "no rows"
            except duckdb.Error as error:
                failing[unique_id] = str(error).splitlines()[0]
    assert failing == {}
