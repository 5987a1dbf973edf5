"""scripts/spark_cluster.py without starting a cluster (no JVM here).

Starting the cluster takes about a minute and 2 GB; these check what must hold
before that: a cluster that is down is reported as down, a pid file is never
trusted blindly, Java 17 is chosen over another JDK, and the metastore's
settings come from the environment.
"""

import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "spark_cluster.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("spark_cluster", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


spark_cluster = _load_script()


def _run(command: str, cluster_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARK_CLUSTER_DIR": str(cluster_dir)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), command],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_of_a_cluster_that_is_down_fails_and_says_how_to_start(tmp_path):
    result = _run("status", tmp_path / "spark")
    assert result.returncode == 1
    assert "not running" in result.stdout
    assert "make spark-cluster" in result.stdout


def test_stop_when_nothing_runs_succeeds(tmp_path):
    result = _run("stop", tmp_path / "spark")
    assert result.returncode == 0, result.stderr
    assert "not running" in result.stdout


def test_a_pid_file_naming_another_process_is_stale_and_never_signalled(tmp_path):
    """The pid was reused by something else (here: this test): stop removes
    the pid file and leaves the process alone."""
    cluster_dir = tmp_path / "spark"
    (cluster_dir / "pids").mkdir(parents=True)
    pid_file = cluster_dir / "pids" / "master.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    result = _run("stop", cluster_dir)
    assert result.returncode == 0, result.stderr
    assert "not running" in result.stdout
    assert not pid_file.exists()


def _jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_java_17_is_chosen_over_another_jdk(tmp_path):
    newer = _jdk(tmp_path, "a-jdk-25", "25.0.1")
    java17 = _jdk(tmp_path, "java-17-openjdk", "17.0.15")
    assert spark_cluster.find_java17(str(newer), tmp_path) == java17
    assert spark_cluster.find_java17(str(java17), tmp_path) == java17


def test_no_java_17_is_a_one_line_error(tmp_path):
    _jdk(tmp_path, "a-jdk-25", "25.0.1")
    with pytest.raises(spark_cluster.ClusterError, match="no Java 17 found"):
        spark_cluster.find_java17(None, tmp_path)


def test_the_metastore_is_the_database_the_environment_names(tmp_path):
    cluster = spark_cluster.Cluster(
        root=tmp_path,
        warehouse=tmp_path / "warehouse",
        thrift_host="127.0.0.1",
        thrift_port=10000,
        metastore_db="spark_metastore",
    )
    environ = {"PGHOST": "db", "PGPORT": "6543", "PGUSER": "me", "PGPASSWORD": "a<&b"}
    xml = spark_cluster.hive_site_xml(
        spark_cluster.metastore_properties(cluster, environ)
    )
    properties = {
        entry.findtext("name"): entry.findtext("value")
        for entry in ElementTree.fromstring(xml).iter("property")
    }
    url = properties["javax.jdo.option.ConnectionURL"]
    assert url == "jdbc:postgresql://db:6543/spark_metastore"
    assert properties["javax.jdo.option.ConnectionUserName"] == "me"
    assert properties["javax.jdo.option.ConnectionPassword"] == "a<&b"
    # Created table by table: creating them all at once deadlocks.
    assert properties["datanucleus.schema.autoCreateTables"] == "true"
    assert "datanucleus.schema.autoCreateAll" not in properties
