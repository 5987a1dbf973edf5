"""Warehouse settings from the environment (dwh.settings) and profiles.yml."""

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from dwh.errors import ConfigError
from dwh.settings import (
    ENV_DEFAULTS,
    Target,
    api_postgres_settings,
    duckdb_settings,
    postgres_settings,
    resolve_target,
    serving_settings,
    serving_target,
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


# env_var('NAME') or env_var('NAME', 'default'), quoted either way.
_ENV_VAR = re.compile(r"""env_var\(\s*['"](\w+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)""")


def _env_var_calls(text: str) -> list[tuple[str, str | None]]:
    """Every env_var call of a dbt file: (name, default or None)."""
    return [(name, default) for name, default in _ENV_VAR.findall(text)]


def test_profiles_and_macros_read_the_variables_with_the_same_defaults() -> None:
    """One place for names and defaults: dwh.settings.ENV_DEFAULTS; every dbt
    file that reads one of them must give the same default."""
    files = [REPO_ROOT / "profiles.yml", *sorted((REPO_ROOT / "macros").glob("*.sql"))]
    seen = {}
    for path in files:
        for name, default in _env_var_calls(path.read_text()):
            assert name in ENV_DEFAULTS, f"{path.name} reads {name}, unknown to dwh"
            assert default == ENV_DEFAULTS[name], (path.name, name, default)
            seen[name] = default
    # profiles.yml reaches every warehouse through these.
    assert {"DBT_TARGET", "DUCKDB_PATH", "PGHOST", "PGPORT", "PGUSER"} <= set(seen)
    assert "VOUCHER_LOCK_TIMEOUT" in seen  # the build's pre-hook


def test_serving_settings_defaults_and_refusals() -> None:
    settings = serving_settings({})
    assert (settings.keep_builds, settings.lock_timeout) == (3, "10s")
    assert serving_settings({"VOUCHER_KEEP_BUILDS": "5"}).keep_builds == 5
    with pytest.raises(ConfigError, match="at least 2"):
        serving_settings({"VOUCHER_KEEP_BUILDS": "1"})
    with pytest.raises(ConfigError, match="VOUCHER_LOCK_TIMEOUT must be a duration"):
        serving_settings({"VOUCHER_LOCK_TIMEOUT": "10s; drop table x"})


def test_the_api_role_reads_the_same_database_as_the_loader() -> None:
    environ = {"PGDATABASE": "dw", "VOUCHER_API_PGUSER": "reader"}
    api = api_postgres_settings(environ)
    assert (api.database, api.user) == ("dw", "reader")
    assert api.host == postgres_settings(environ).host


def test_the_serving_warehouse_is_duckdb_or_postgres_whatever_dbt_built_on() -> None:
    assert serving_target(None, {}) is Target.DUCKDB
    assert serving_target(None, {"DBT_TARGET": "postgres"}) is Target.POSTGRES
    # A Spark build is published into the embedded default unless told.
    assert serving_target(None, {"DBT_TARGET": "spark_cluster"}) is Target.DUCKDB
    environ = {"DBT_TARGET": "spark_cluster", "SERVE_TARGET": "postgres"}
    assert serving_target(None, environ) is Target.POSTGRES
    assert serving_target("duckdb", environ) is Target.DUCKDB


def test_spark_is_not_a_serving_warehouse() -> None:
    with pytest.raises(ConfigError, match="SERVE_TARGET=spark is not a serving"):
        serving_target(None, {"SERVE_TARGET": "spark"})


def test_the_cluster_is_reached_through_its_thrift_server() -> None:
    environ = {"SPARK_THRIFT_PORT": "10017", "SPARK_CLUSTER_WAREHOUSE": "/shared/wh"}
    cluster = spark_settings(environ, Target.SPARK_CLUSTER)
    assert cluster.thrift == ("127.0.0.1", 10017)
    assert cluster.loads_dir == Path("/shared/wh/raw_loads")
    assert cluster.target is Target.SPARK_CLUSTER
    assert spark_settings(environ).thrift is None
    assert spark_settings(environ).target is Target.SPARK
