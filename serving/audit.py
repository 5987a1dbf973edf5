"""Audit: is the build dbt left in its target folder one we may publish?

Only a `dbt build` in which every node of the project ran and passed
(models, seeds, snapshots, data tests and unit tests; a test that only warns
passes) is publishable. The verdict comes from dbt's own artifacts,
``run_results.json`` and ``manifest.json`` of the same invocation. What gets
published is read from the manifest too: the nodes the project's exposures
depend on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dwh.errors import OneLineError

# The exposure that is the API: its nodes are the only ones its role may read.
API_EXPOSURE = "voucher_api"
# What dbt build runs, per manifest section and resource type.
BUILT_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot", "test"})
PASSED = frozenset({"success", "pass", "warn"})
# Hooks and exposures, which build nothing, report no-op.
PASSED_NO_OP = PASSED | {"no-op"}
_NO_OP_NODES = ("operation.", "exposure.")
_SHOWN = 3  # node names quoted in a refusal, so the line stays one line


class NotPublishable(OneLineError):
    """The build (or the warehouse's state) must not be published; says why."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class PublishedRelation:
    """A table dbt built that the serving schema holds a copy of."""

    name: str  # the table's name, in the build schema and in serving
    build_schema: str
    for_api: bool  # the API's role may read it


@dataclass(frozen=True, slots=True)
class AuditedBuild:
    """A build that passed the audit, with what the publish log records."""

    invocation_id: str
    dbt_version: str
    adapter_type: str
    finished_at: datetime
    vars: dict[str, Any]
    passed: dict[str, int]  # resource type -> nodes that passed
    warnings: int
    relations: tuple[PublishedRelation, ...]


def audit_build(target_path: Path) -> AuditedBuild:
    """Read the artifacts in ``target_path``; raise NotPublishable unless every
    node of a full `dbt build` passed."""
    results = _artifact(target_path / "run_results.json")
    manifest = _artifact(target_path / "manifest.json")
    invocation = results["metadata"]["invocation_id"]
    if manifest["metadata"].get("invocation_id") != invocation:
        raise NotPublishable(
            f"{target_path}/run_results.json and manifest.json come from"
            " different dbt invocations: run `dbt build` again"
        )
    args = results.get("args", {})
    command = args.get("which")
    if command != "build":
        raise NotPublishable(
            f"the last dbt command in {target_path} was `dbt {command}`, not"
            " `dbt build`: only a full build is published"
        )
    if args.get("empty"):
        raise NotPublishable("the last build ran with --empty: nothing to publish")

    statuses = {result["unique_id"]: result["status"] for result in results["results"]}
    failed = [
        (status == "skipped", f"{unique_id} ({status})")
        for unique_id, status in statuses.items()
        if status
        not in (PASSED_NO_OP if unique_id.startswith(_NO_OP_NODES) else PASSED)
    ]
    # The causes first: a skipped node only follows from another's failure.
    failed = [text for _, text in sorted(failed, key=lambda item: item[0])]
    if failed:
        raise NotPublishable(
            f"{len(failed)} of {len(statuses)} nodes of build {invocation} did not"
            f" pass: {_some(failed)}"
        )
    expected = _built_nodes(manifest)
    missing = sorted(set(expected) - set(statuses))
    if missing:
        raise NotPublishable(
            f"build {invocation} was partial: {len(missing)} of {len(expected)}"
            f" nodes did not run ({_some(missing)}); only a full `dbt build` is"
            " published"
        )
    passed = Counter(expected[unique_id] for unique_id in expected)
    return AuditedBuild(
        invocation_id=invocation,
        dbt_version=results["metadata"].get("dbt_version", ""),
        adapter_type=manifest["metadata"].get("adapter_type", ""),
        finished_at=datetime.fromisoformat(results["metadata"]["generated_at"]),
        vars=dict(args.get("vars") or {}),
        passed=dict(sorted(passed.items())),
        warnings=sum(status == "warn" for status in statuses.values()),
        relations=_published_relations(manifest),
    )


def _artifact(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NotPublishable(f"no {path}: run `dbt build` first") from None
    except (OSError, ValueError) as error:
        raise NotPublishable(f"cannot read {path}: {error}") from None


def _built_nodes(manifest: dict[str, Any]) -> dict[str, str]:
    """Every node `dbt build` runs: unique id -> resource type."""
    nodes = {
        unique_id: node["resource_type"]
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in BUILT_RESOURCE_TYPES
        and node.get("config", {}).get("enabled", True)
        and node.get("config", {}).get("materialized") != "ephemeral"
    }
    nodes.update(
        {unique_id: "unit_test" for unique_id in manifest.get("unit_tests", {})}
    )
    return nodes


def _published_relations(manifest: dict[str, Any]) -> tuple[PublishedRelation, ...]:
    """The nodes the exposures depend on, the API's marked, in name order."""
    for_api: dict[str, bool] = {}
    for exposure in manifest.get("exposures", {}).values():
        is_api = exposure["name"] == API_EXPOSURE
        for unique_id in exposure["depends_on"]["nodes"]:
            for_api[unique_id] = for_api.get(unique_id, False) or is_api
    if not any(for_api.values()):
        raise NotPublishable(
            f"the project declares no exposure {API_EXPOSURE!r}: nothing to serve"
        )
    relations = []
    for unique_id, is_api in for_api.items():
        node = manifest["nodes"][unique_id]
        relations.append(
            PublishedRelation(
                name=node.get("alias") or node["name"],
                build_schema=node["schema"],
                for_api=is_api,
            )
        )
    return tuple(sorted(relations, key=lambda relation: relation.name))


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
