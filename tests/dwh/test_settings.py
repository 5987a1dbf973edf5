"""Warehouse settings from the environment (dwh.settings) and profiles.yml."""

from pathlib import Path

import jinja2
import pytest
import yaml

from loader.errors import ConfigError
from dwh.settings import (
    Target,
    duckdb_settings,
    postgres_settings,
    resolve_target,
    spark_settings,
)
from tests.conftest import REPO_ROOT


def test_target_defaults_to_duckdb() -> None:
    assert resolve_target(None, {}) is Target.DUCKDB


def test_target_from_dbt_target_and_overridden_by_option() -> None:
    assert resolve_target(None, {"DBT_TARGET": "postgres"}) is Target.POSTGRES
    assert resolve_target("duckdb", {"DBT_TARGET": "postgres"}) is Target.DUCKDB


def test_unknown_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown target 'oracle'"):
        resolve_target(None, {"DBT_TARGET": "oracle"})


def test_duckdb_path_default_and_override() -> None:
    assert duckdb_settings({}).path == Path("warehouse/voucher.duckdb")
    assert duckdb_settings({"DUCKDB_PATH": "/x/y.duckdb"}).path == Path("/x/y.duckdb")


def test_postgres_defaults_match_profiles_yml() -> None:
    settings = postgres_settings({})
    assert (settings.host, settings.port, settings.user) == (
        "127.0.0.1",
        5432,
        "postgres",
    )
    assert (settings.password, settings.database) == ("", "voucher")
    assert "password" not in settings.connect_kwargs()


def test_postgres_from_libpq_variables() -> None:
    settings = postgres_settings(
        {
            "PGHOST": "db",
            "PGPORT": "6543",
            "PGUSER": "me",
            "PGPASSWORD": "secret",
            "PGDATABASE": "dw",
        }
    )
    kwargs = settings.connect_kwargs()
    assert kwargs["host"] == "db" and kwargs["port"] == 6543
    assert kwargs["user"] == "me" and kwargs["password"] == "secret"
    assert kwargs["dbname"] == "dw"
    assert settings.connect_kwargs("postgres")["dbname"] == "postgres"
    assert "secret" not in settings.describe()


def test_bad_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PGPORT must be a number"):
        postgres_settings({"PGPORT": "five"})


@pytest.mark.parametrize("environ", [{}, {"SPARK_WAREHOUSE": "/data/spark"}])
def test_the_loader_opens_spark_as_dbt_does(environ) -> None:
    """profiles.yml's Spark session settings and the loader's are the same, so
    both reach one metastore and one folder of tables."""
    profile = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text())
    declared = profile["voucher_selection"]["outputs"]["spark"]
    templates = jinja2.Environment()
    templates.globals["env_var"] = lambda name, default="": environ.get(name, default)
    rendered = {
        key: templates.from_string(str(value)).render()
        for key, value in declared["server_side_parameters"].items()
    }
    assert rendered == spark_settings(environ).session_config()
