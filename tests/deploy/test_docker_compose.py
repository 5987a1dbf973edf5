"""The compose stack is valid and starts in the right order.

There is no Docker engine on the development machines, so the stack is
validated, not run: ``docker-compose config`` (v1, from Debian) parses and
interpolates it offline, and the result is checked for the shape we rely on.
"""

import json
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT, require


@pytest.fixture(scope="module")
def compose_config() -> dict:
    tool = shutil.which("docker-compose")
    require(tool is not None, "docker-compose is not installed")
    result = subprocess.run(
        [tool, "--file", "docker-compose.yml", "config"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "POSTGRES_PASSWORD": "secret"},
    )
    assert result.returncode == 0, result.stderr
    import yaml

    return yaml.safe_load(result.stdout)


def test_stack_has_warehouse_pipeline_and_api(compose_config):
    assert set(compose_config["services"]) == {"postgres", "pipeline", "api"}


def test_pipeline_waits_for_a_healthy_warehouse(compose_config):
    services = compose_config["services"]
    assert "healthcheck" in services["postgres"]
    pipeline_depends = services["pipeline"]["depends_on"]
    assert pipeline_depends["postgres"]["condition"] == "service_healthy"


def test_the_pipeline_runs_the_steps_of_make_pipeline_in_order(compose_config):
    command = " ".join(compose_config["services"]["pipeline"]["command"])
    steps = [
        "loader load",
        "source freshness",
        "dbt --no-version-check build",
        "serving publish",
        "serving summary",
    ]
    positions = [command.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), command
    assert command.count("&&") == len(steps) - 1, command


def test_api_starts_after_the_pipeline_succeeded(compose_config):
    api = compose_config["services"]["api"]
    assert api["depends_on"]["pipeline"]["condition"] == (
        "service_completed_successfully"
    )
    assert "healthcheck" in api


def test_services_share_one_warehouse_configuration(compose_config):
    services = compose_config["services"]
    pipeline_env = services["pipeline"]["environment"]
    api_env = services["api"]["environment"]
    for name in ("DBT_TARGET", "PGHOST", "PGDATABASE", "VOUCHER_API_PGUSER"):
        assert pipeline_env[name] == api_env[name], name
    assert pipeline_env["DBT_TARGET"] == "postgres"
    # The password is interpolated from the environment, never hard-coded.
    assert pipeline_env["PGPASSWORD"] == "secret"
    assert json.dumps(services["postgres"]["environment"]).count("secret") == 1
