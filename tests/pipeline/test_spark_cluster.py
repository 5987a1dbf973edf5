"""Apache Spark as a cluster: a standalone master, two workers and a Thrift
server (make spark-cluster), the loader and dbt-spark talking to it over
Thrift, and the build published into PostgreSQL, where the API reads it.

The cluster is started once for the module, with a Thrift port, folders and
a Hive metastore (a fresh PostgreSQL database) of its own, and stopped at the
end, also when a test fails. The master's and workers' ports are the fixed
ones of scripts/spark_cluster.py: stop a developer's cluster first
(make spark-cluster-stop).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pandas as pd
import pytest

from api.app import create_app
from api.config import ApiConfig
from tests.conftest import (
    BIN,
    REPO_ROOT,
    Pipeline,
    fresh_postgres_database,
    require_spark,
)
from tests.pipeline import oracle
from tests.pipeline.test_real_file import ALL_COUNTRIES, SEGMENT_KEY, assert_same

pytestmark = [pytest.mark.spark, pytest.mark.shared_data]

CLUSTER_SCRIPT = REPO_ROOT / "scripts" / "spark_cluster.py"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The cluster's settings, once it answers; stopped on leaving."""
    require_spark()
    home = tmp_path_factory.mktemp("spark-cluster")
    metastore = fresh_postgres_database("voucher_test_spark_metastore")
    env = {
        "SPARK_CLUSTER_DIR": str(home),
        "SPARK_CLUSTER_WAREHOUSE": str(home / "warehouse"),
        "SPARK_THRIFT_PORT": "10017",
        "SPARK_METASTORE_DB": metastore["PGDATABASE"],
    }
    command = [str(BIN / "python"), str(CLUSTER_SCRIPT)]
    environ = {**Pipeline("spark_cluster", env, home).env}
    try:
        started = subprocess.run(
            [*command, "start"], cwd=REPO_ROOT, env=environ, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        subprocess.run(
            [*command, "stop"], cwd=REPO_ROOT, env=environ, capture_output=True,
            timeout=120,
        )  # fmt: skip


@pytest.fixture(scope="module")
def published(
    cluster: dict[str, str], shared_data_file: Path, tmp_path_factory
) -> Pipeline:
    """The real file loaded through the cluster, built there for every
    country and published into a fresh PostgreSQL database: a pipeline on
    that serving database."""
    work_dir = tmp_path_factory.mktemp("spark-cluster-pipeline")
    serving = fresh_postgres_database("voucher_test_spark_serving")
    pipeline = Pipeline(
        "spark_cluster", {**cluster, **serving, "SERVE_TARGET": "postgres"}, work_dir
    )
    pipeline.load(shared_data_file)
    pipeline.build(ALL_COUNTRIES)
    pipeline.publish()
    return Pipeline("postgres", serving, work_dir)


def test_the_cluster_build_served_from_postgres_matches_the_independent_computation(
    published: Pipeline, shared_data_file: Path
) -> None:
    kept = oracle.kept_rows(shared_data_file, ALL_COUNTRIES)
    modes = published.frame("select * from serving.voucher_segment_modes")
    assert_same(modes, oracle.segment_modes(kept, ALL_COUNTRIES), SEGMENT_KEY)
    assert_same(
        published.frame("select * from serving.voucher_country_modes"),
        oracle.country_modes(kept, ALL_COUNTRIES),
        ["country_code"],
    )
    summary = published.frame("select * from serving.cleaning_summary")
    assert summary["row_count"].sum() == 285_570
    log = published.frame("select build_target, load_count from serving.publish_log")
    assert log.to_dict("records") == [{"build_target": "spark", "load_count": 1}]


def test_the_api_answers_from_the_published_spark_build(
    published: Pipeline, shared_data_file: Path
) -> None:
    kept = oracle.kept_rows(shared_data_file, ALL_COUNTRIES)
    expected = oracle.segment_modes(kept, ALL_COUNTRIES).set_index(SEGMENT_KEY)
    client = falcon.testing.TestClient(
        create_app(
            ApiConfig.from_env({**published.env, "VOUCHER_API_REFRESH_SECONDS": "0"})
        )
    )
    ready = client.simulate_get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json["warehouse"] == "postgres"
    assert ready.json["build"]["built_on"] == "spark"
    assert ready.json["build"]["source_file"] == shared_data_file.name
    for country, orders, variant in (("Peru", 8, "5-13"), ("China", 2, "0-4")):
        response = client.simulate_post(
            "/api/vouchervalue",
            json={
                "country_code": country,
                "segment_name": "frequent_segment",
                "total_orders": orders,
            },
        )
        assert response.status_code == 200, response.text
        amount = expected.loc[(country, "frequent_segment", variant), "voucher_amount"]
        assert response.json["voucher_amount"] == (
            None if pd.isna(amount) else int(amount)
        )


def test_readers_through_the_thrift_server_never_miss_raw_vouchers_during_a_load(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    """While loads swap raw.vouchers (alter view), a reader counting it in a
    loop through the Thrift server sees no failed read."""
    from dwh.settings import Target, spark_settings
    from dwh.spark import sql_over

    pipeline = Pipeline("spark_cluster", cluster, tmp_path)
    files = [
        pipeline.generate(2_000, seed=40 + day, name=f"day-{day}") for day in range(4)
    ]
    pipeline.load(files[0], replace=True)
    settings = spark_settings({**pipeline.env}, Target.SPARK_CLUSTER)
    failures: list[str] = []
    reads = 0
    stop = threading.Event()

    def read_in_a_loop() -> None:
        nonlocal reads
        with sql_over(settings) as sql:
            while not stop.is_set():
                try:
                    sql.rows("select count(*) from raw.vouchers")
                    reads += 1
                except Exception as error:  # noqa: BLE001 - every failure counts
                    failures.append(str(error).splitlines()[0])

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        for day_file in files[1:]:  # three appends, a swap each
            pipeline.load(day_file)
        pipeline.unload(files[1].name)
        pipeline.load(files[1], files[2], replace=True)
    finally:
        stop.set()
        reader.join(timeout=120)
    assert reads > 0
    assert failures == []
