"""Every source, model, seed, analysis, macro and column of the project has a
description, so the docs site explains every node of the lineage graph.

Reads ``manifest.json`` from ``dbt parse``: no warehouse needed.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO_ROOT

PROJECT = "voucher_selection"
DOCUMENTED = ("model", "seed", "snapshot", "analysis")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("dbt-target")
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        "DUCKDB_PATH": str(target / "unused.duckdb"),
    }
    subprocess.run(
        [str(BIN / "dbt"), "--no-version-check", "parse"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(Path(target, "manifest.json").read_text())


def undocumented(manifest: dict) -> list[str]:
    missing = []
    nodes = [
        node
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]
        if node["package_name"] == PROJECT
        and node["resource_type"] in (*DOCUMENTED, "source")
    ]
    for node in nodes:
        if not node["description"].strip():
            missing.append(node["unique_id"])
        missing += [
            f"{node['unique_id']}.{name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        ]
    missing += [
        macro["unique_id"]
        for macro in manifest["macros"].values()
        if macro["package_name"] == PROJECT and not macro["description"].strip()
    ]
    return missing


def test_every_node_and_column_is_described(manifest):
    assert undocumented(manifest) == []


def test_every_built_column_is_declared(tmp_path, duckdb_pipeline):
    """A column the SQL produces but the YAML omits has no description either:
    build a small warehouse, read dbt's catalog of the real relations and
    compare their columns with the declared ones."""
    parquet = tmp_path / "vouchers.parquet"
    duckdb_pipeline.run(
        str(BIN / "python"),
        "-m",
        "loader",
        "generate",
        "--rows",
        "2000",
        "--seed",
        "3",
        "--out",
        str(parquet),
    )
    duckdb_pipeline.load(parquet)
    duckdb_pipeline.build()
    duckdb_pipeline.run(str(BIN / "dbt"), "--no-version-check", "docs", "generate")
    target = Path(duckdb_pipeline.env["DBT_TARGET_PATH"])
    built_manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undeclared = []
    for unique_id, relation in [*catalog["nodes"].items(), *catalog["sources"].items()]:
        node = (
            built_manifest["nodes"].get(unique_id)
            or built_manifest["sources"][unique_id]
        )
        declared = {name.lower() for name in node["columns"]}
        undeclared += [
            f"{unique_id}.{name}"
            for name in relation["columns"]
            if name.lower() not in declared
        ]
    assert len(catalog["nodes"]) >= 10
    assert undeclared == []


def test_the_check_notices_a_missing_description(manifest):
    broken = json.loads(json.dumps(manifest))
    model = next(
        node
        for node in broken["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    )
    model["description"] = ""
    assert model["unique_id"] in undocumented(broken)
