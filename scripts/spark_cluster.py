"""Start, stop and check a local Apache Spark standalone cluster.

    .venv/bin/python scripts/spark_cluster.py start|stop|status

A master, two workers (one core each) and a Spark Thrift Server
(HiveThriftServer2) running on the cluster, whose Hive metastore is a database
on the project's PostgreSQL: dbt's ``spark_cluster`` target (dbt-spark,
``method: thrift``) talks to it. Everything listens on 127.0.0.1 only.

The pyspark package is SPARK_HOME: it ships ``bin/spark-class`` and
``bin/spark-submit`` but not Spark's ``sbin/start-*.sh`` scripts, so this
script starts the daemons itself, records their pids, logs and work folders
under SPARK_CLUSTER_DIR and checks their health. Settings (dwh.settings):
SPARK_CLUSTER_DIR, SPARK_CLUSTER_WAREHOUSE, SPARK_THRIFT_HOST,
SPARK_THRIFT_PORT, SPARK_METASTORE_DB and the libpq variables (PGHOST ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from dwh.settings import postgres_settings, setting  # noqa: E402

MASTER_HOST = "127.0.0.1"
MASTER_PORT = 7077
MASTER_UI_PORT = 8090
WORKER_UI_PORTS = (8091, 8092)
WORKER_CORES = 1
WORKER_MEMORY = "1g"  # what a worker offers its executor
EXECUTOR_MEMORY = "1g"
# The JVM heaps: the master and the workers only book-keep; the Thrift server
# is the driver of every query. The launcher takes a Thrift server's heap from
# SPARK_DAEMON_MEMORY before --driver-memory, and below about 450 MB it dies.
DAEMON_MEMORY = "256m"
THRIFT_SERVER_MEMORY = "1g"
APP_NAME = "voucher-thrift-server"
# Debian's libpostgresql-jdbc-java: the metastore's JDBC driver.
POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")
CONF_SOURCE = Path(__file__).resolve().parent / "spark-conf"
STOP_GRACE_SECONDS = 20.0
PROGRESS_EVERY_SECONDS = 10.0


class ClusterError(Exception):
    """A one-line reason the cluster cannot start, stop or answer."""


@dataclass(frozen=True)
class Cluster:
    """Where the cluster keeps its files and where its Thrift server listens."""

    root: Path  # SPARK_CLUSTER_DIR, absolute
    warehouse: Path  # SPARK_CLUSTER_WAREHOUSE, absolute: every node shares it
    thrift_host: str
    thrift_port: int
    metastore_db: str

    @classmethod
    def from_environment(cls) -> Cluster:
        port = setting("SPARK_THRIFT_PORT")
        if not port.isdigit():
            raise ClusterError(f"SPARK_THRIFT_PORT must be a number, got {port!r}")
        return cls(
            root=Path(setting("SPARK_CLUSTER_DIR")).resolve(),
            warehouse=Path(setting("SPARK_CLUSTER_WAREHOUSE")).resolve(),
            thrift_host=setting("SPARK_THRIFT_HOST"),
            thrift_port=int(port),
            metastore_db=setting("SPARK_METASTORE_DB"),
        )

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def master_url(self) -> str:
        return f"spark://{MASTER_HOST}:{MASTER_PORT}"

    def pid_file(self, node: Node) -> Path:
        return self.pids / f"{node.name}.pid"

    def log_file(self, node: Node) -> Path:
        return self.logs / f"{node.name}.log"


@dataclass(frozen=True)
class Node:
    """One process of the cluster; ``marker`` is in its command line."""

    name: str
    marker: str
    ports: tuple[int, ...]


MASTER = Node(
    "master", "org.apache.spark.deploy.master.Master", (MASTER_PORT, MASTER_UI_PORT)
)
WORKERS = tuple(
    Node(f"worker-{n}", "org.apache.spark.deploy.worker.Worker", (ui_port,))
    for n, ui_port in enumerate(WORKER_UI_PORTS, start=1)
)
THRIFT_SERVER = Node(
    "thrift-server", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2", ()
)
NODES = (MASTER, *WORKERS, THRIFT_SERVER)


# --- finding Spark, Java and the JDBC driver ---------------------------------


def spark_home() -> Path:
    """The pyspark package: its jars and bin/ are a Spark distribution."""
    try:
        import pyspark
    except ImportError:
        raise ClusterError(
            "pyspark is not installed: make setup-spark (the spark extra)"
        ) from None
    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").is_file():
        raise ClusterError(f"{home} has no bin/spark-class: not a Spark install")
    return home


def java_major(home: Path) -> int | None:
    """The major version in a JDK's ``release`` file, without starting a JVM."""
    try:
        lines = (home / "release").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("JAVA_VERSION="):
            version = line.partition("=")[2].strip().strip('"')
            head = version.split(".")[0]
            return int(head) if head.isdigit() else None
    return None


def find_java17(
    java_home: str | None = None, jvm_dir: Path = Path("/usr/lib/jvm")
) -> Path:
    """JAVA_HOME if it is a Java 17, else the first Java 17 under jvm_dir.

    Spark 4 runs on 17 and 21; another JDK on the machine (a newer default
    java on PATH) must not be picked up by accident.
    """
    candidates = [Path(java_home)] if java_home else []
    if jvm_dir.is_dir():
        candidates += sorted(jvm_dir.iterdir())
    for home in candidates:
        if (home / "bin" / "java").is_file() and java_major(home) == 17:
            return home.resolve()
    raise ClusterError(
        f"no Java 17 found (JAVA_HOME, {jvm_dir}/*): Spark needs one,"
        " e.g. apt-get install openjdk-17-jre-headless"
    )


def require_pyhive() -> None:
    """dbt's Thrift client, which the health check uses too."""
    try:
        import pyhive.hive  # noqa: F401
        import thrift_sasl  # noqa: F401
    except ImportError:
        raise ClusterError(
            "PyHive is not installed: make setup-spark (the spark extra)"
        ) from None


def require_jdbc_driver() -> Path:
    if not POSTGRES_JDBC_JAR.is_file():
        raise ClusterError(
            f"the metastore's JDBC driver {POSTGRES_JDBC_JAR} is missing:"
            " apt-get install libpostgresql-jdbc-java"
        )
    return POSTGRES_JDBC_JAR


# --- configuration -----------------------------------------------------------


def metastore_properties(cluster: Cluster, environ=None) -> dict[str, str]:
    """hive-site.xml: the metastore in PostgreSQL, scratch folders in the cluster.

    DataNucleus creates the metastore's tables as it first needs them
    (autoCreateAll deadlocks on the first CREATE TABLE AS; constraints off);
    the start-up warm-up makes it create them before dbt's threads arrive.
    """
    pg = postgres_settings(environ)
    if pg.host.startswith("/"):
        raise ClusterError(
            f"PGHOST={pg.host} is a socket folder; the metastore's JDBC driver"
            " needs a TCP host such as 127.0.0.1"
        )
    tmp = cluster.root / "tmp"
    properties = {
        "javax.jdo.option.ConnectionURL": (
            f"jdbc:postgresql://{pg.host}:{pg.port}/{cluster.metastore_db}"
        ),
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": pg.user,
        "datanucleus.schema.autoCreateTables": "true",
        "datanucleus.schema.autoCreateColumns": "true",
        "datanucleus.schema.autoCreateConstraints": "false",
        "hive.metastore.schema.verification": "false",
        # Writes the schema version once, instead of a warning at every start.
        "hive.metastore.schema.verification.record.version": "true",
        "hive.exec.scratchdir": str(tmp / "hive-scratch"),
        "hive.exec.local.scratchdir": str(tmp / "hive-local"),
        # One folder per session: Hive deletes it when its session closes
        # (a shared one vanished under the next session, which then failed).
        "hive.downloaded.resources.dir": (
            str(tmp / "hive-resources") + "/${hive.session.id}_resources"
        ),
        "hive.server2.logging.operation.log.location": str(tmp / "operation-logs"),
    }
    if pg.password:
        properties["javax.jdo.option.ConnectionPassword"] = pg.password
    return properties


_SCRATCH_DIRS = (
    "hive.exec.scratchdir",
    "hive.exec.local.scratchdir",
    "hive.downloaded.resources.dir",
    "hive.server2.logging.operation.log.location",
)


def hive_site_xml(properties: dict[str, str]) -> str:
    entries = "".join(
        f"  <property>\n    <name>{escape(name)}</name>\n"
        f"    <value>{escape(value)}</value>\n  </property>\n"
        for name, value in properties.items()
    )
    return (
        '<?xml version="1.0"?>\n'
        "<!-- Written by scripts/spark_cluster.py at each start. -->\n"
        f"<configuration>\n{entries}</configuration>\n"
    )


def thrift_server_conf(cluster: Cluster) -> dict[str, str]:
    """The Thrift server's Spark settings (the driver of every dbt query)."""
    return {
        "spark.driver.host": MASTER_HOST,
        "spark.driver.bindAddress": MASTER_HOST,
        # Two executors, one per worker, each bounded.
        "spark.executor.cores": str(WORKER_CORES),
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.cores.max": str(WORKER_CORES * len(WORKERS)),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(cluster.warehouse),
        "spark.sql.catalogImplementation": "hive",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def write_conf_dir(cluster: Cluster) -> None:
    """SPARK_CONF_DIR of every node: the committed files plus hive-site.xml;
    and the folders the nodes write to (Hive lists its scratch folders and
    logs an error for each session if one is missing)."""
    properties = metastore_properties(cluster)
    scratch = [
        Path(properties[key].split("/${")[0])
        for key in properties
        if key in _SCRATCH_DIRS
    ]
    for folder in (cluster.conf, cluster.logs, cluster.pids, cluster.warehouse):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in scratch:
        folder.mkdir(parents=True, exist_ok=True)
    for source in CONF_SOURCE.iterdir():
        if source.is_file():
            shutil.copyfile(source, cluster.conf / source.name)
    hive_site = cluster.conf / "hive-site.xml"
    # It may hold PGPASSWORD: readable by the owner only.
    hive_site.touch(mode=0o600)
    hive_site.chmod(0o600)
    hive_site.write_text(hive_site_xml(properties))


def ensure_metastore_database(cluster: Cluster) -> None:
    import psycopg2
    from psycopg2 import sql

    pg = postgres_settings()
    where = f"{pg.user}@{pg.host}:{pg.port}"
    try:
        connection = psycopg2.connect(
            **pg.connect_kwargs("postgres", application_name="spark_cluster")
        )
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        raise ClusterError(
            f"PostgreSQL at {where} holds the Hive metastore but is not"
            f" reachable ({reason}): make postgres starts the local one"
        ) from None
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select 1 from pg_database where datname = %s", (cluster.metastore_db,)
            )
            if cursor.fetchone() is None:
                cursor.execute(
                    sql.SQL("create database {}").format(
                        sql.Identifier(cluster.metastore_db)
                    )
                )
                say(f"created the metastore database {cluster.metastore_db} on {where}")
    finally:
        connection.close()


# --- processes ---------------------------------------------------------------


def node_command(cluster: Cluster, node: Node, home: Path) -> list[str]:
    """How a node is started: spark-class for the daemons, spark-submit for
    the Thrift server (the driver of an application on the cluster)."""
    daemon = [str(home / "bin" / "spark-class"), node.marker, "--host", MASTER_HOST]
    if node is MASTER:
        return [
            *daemon,
            *("--port", str(MASTER_PORT), "--webui-port", str(MASTER_UI_PORT)),
        ]
    if node in WORKERS:
        return [
            *daemon,
            *("--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY),
            *("--work-dir", str(cluster.root / "work" / node.name)),
            *("--webui-port", str(node.ports[0]), cluster.master_url),
        ]
    conf = [
        item
        for key, value in thrift_server_conf(cluster).items()
        for item in ("--conf", f"{key}={value}")
    ]
    return [
        str(home / "bin" / "spark-submit"),
        "--class",
        THRIFT_SERVER.marker,
        "--name",
        APP_NAME,
        "--master",
        cluster.master_url,
        "--driver-class-path",
        str(require_jdbc_driver()),
        *conf,
        "spark-internal",
        "--hiveconf",
        f"hive.server2.thrift.port={cluster.thrift_port}",
        "--hiveconf",
        f"hive.server2.thrift.bind.host={cluster.thrift_host}",
    ]


def node_environment(cluster: Cluster, node: Node, home: Path, java: Path) -> dict:
    """This environment without its Spark variables, plus the cluster's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SPARK_", "PYSPARK_"))
    }
    env.update(
        JAVA_HOME=str(java),
        SPARK_HOME=str(home),
        SPARK_CONF_DIR=str(cluster.conf),
        SPARK_LOCAL_IP=MASTER_HOST,
        SPARK_LOCAL_DIRS=str(cluster.root / "tmp" / "spark-local"),
        SPARK_DAEMON_MEMORY=(
            THRIFT_SERVER_MEMORY if node is THRIFT_SERVER else DAEMON_MEMORY
        ),
    )
    if node is MASTER:
        # The REST submission server would listen on 6066 on every interface.
        env["SPARK_MASTER_OPTS"] = "-Dspark.master.rest.enabled=false"
    return env


def read_pid(cluster: Cluster, node: Node) -> int | None:
    try:
        return int(cluster.pid_file(node).read_text().strip())
    except (OSError, ValueError):
        return None


def is_ours(cluster: Cluster, node: Node, pid: int) -> bool:
    """The pid is alive and is this node of this cluster (not a reused pid):
    its command line names the node's class and it runs in the cluster dir."""
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(proc / "cwd")
    except OSError:
        return False
    if state in ("Z", "X"):
        return False
    has_marker = node.marker.encode() in cmdline
    if node in WORKERS:
        work_dir = str(cluster.root / "work" / node.name).encode()
        has_marker = has_marker and work_dir in cmdline
    return has_marker and cwd == str(cluster.root)


def running(cluster: Cluster) -> dict[Node, int]:
    """The nodes up, by their pid files; stale pid files are removed."""
    up = {}
    for node in NODES:
        pid = read_pid(cluster, node)
        if pid is not None and is_ours(cluster, node, pid):
            up[node] = pid
        else:
            cluster.pid_file(node).unlink(missing_ok=True)
    return up


def launch(cluster: Cluster, node: Node, home: Path, java: Path) -> subprocess.Popen:
    """Start a node in the background, its output in its log, its pid recorded."""
    log = cluster.log_file(node)
    say(f"starting the {node.name} (log {shown(log)})")
    with log.open("wb") as output:
        process = subprocess.Popen(
            node_command(cluster, node, home),
            cwd=cluster.root,
            env=node_environment(cluster, node, home, java),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own process group: stop signals it and the executors it
            # forks, and the cluster outlives this script.
            start_new_session=True,
        )
    cluster.pid_file(node).write_text(f"{process.pid}\n")
    return process


def _gone(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return True
    return state.rpartition(")")[2].split()[0] in ("Z", "X")


def _signal_group(pid: int, signum: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def stop_nodes(cluster: Cluster, up: dict[Node, int]) -> None:
    """SIGTERM the Thrift server, then the workers, then the master; SIGKILL
    whatever has not exited after the grace period."""
    stages = [
        [node for node in (THRIFT_SERVER,) if node in up],
        [node for node in WORKERS if node in up],
        [node for node in (MASTER,) if node in up],
    ]
    for stage in filter(None, stages):
        for node in stage:
            say(f"stopping the {node.name} (pid {up[node]})")
            _signal_group(up[node], signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and not all(
            _gone(up[node]) for node in stage
        ):
            time.sleep(0.2)
        for node in stage:
            if not _gone(up[node]):
                grace = f"{STOP_GRACE_SECONDS:.0f} s"
                say(f"the {node.name} ignored SIGTERM for {grace}: SIGKILL")
                _signal_group(up[node], signal.SIGKILL)
                while not _gone(up[node]):
                    time.sleep(0.1)
            cluster.pid_file(node).unlink(missing_ok=True)


# --- health ------------------------------------------------------------------


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def master_state(timeout: float = 3.0) -> dict | None:
    """The master's JSON (workers, applications), or None if it does not answer."""
    url = f"http://{MASTER_HOST}:{MASTER_UI_PORT}/json/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def alive_workers(state: dict | None) -> int:
    if not state:
        return 0
    workers = state.get("workers", [])
    return sum(1 for worker in workers if worker.get("state") == "ALIVE")


def thrift_query(
    cluster: Cluster, statements: Sequence[str], timeout: float = 60.0
) -> list[list[tuple]]:
    """Run statements through the Thrift server as dbt does (PyHive, SASL PLAIN,
    no authentication), with a socket timeout so a hung server cannot hang us."""
    require_pyhive()
    import thrift_sasl
    from pyhive import hive
    from thrift.transport import TSocket

    sock = TSocket.TSocket(cluster.thrift_host, cluster.thrift_port)
    sock.setTimeout(timeout * 1000)

    def sasl_client():
        return hive.get_installed_sasl(
            host=cluster.thrift_host,
            sasl_auth="PLAIN",
            username="spark_cluster",
            password="anonymous",
        )

    transport = thrift_sasl.TSaslClientTransport(sasl_client, "PLAIN", sock)
    connection = hive.connect(thrift_transport=transport)
    try:
        results = []
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
            results.append(cursor.fetchall() if cursor.description else [])
        cursor.close()
        return results
    finally:
        connection.close()


def thrift_answers(cluster: Cluster) -> bool:
    if not port_open(cluster.thrift_host, cluster.thrift_port):
        return False
    try:
        return thrift_query(cluster, ["select 1"], timeout=15.0) == [[(1,)]]
    except ClusterError:
        raise
    except Exception:
        return False


# The metastore's tables appear as DataNucleus first needs them; create them
# all now, one statement at a time, rather than under dbt's concurrent threads.
WARM_UP = (
    "show databases",
    "drop table if exists default.spark_cluster_warm_up",
    "create table default.spark_cluster_warm_up using parquet as select 1 as id",
    "create or replace view default.spark_cluster_warm_up_v as"
    " select id from default.spark_cluster_warm_up",
    "select count(*) from default.spark_cluster_warm_up_v",
    "drop view default.spark_cluster_warm_up_v",
    "drop table default.spark_cluster_warm_up",
)


@dataclass
class StartUp:
    """The processes started so far, and the time the whole start may take."""

    cluster: Cluster
    started: float
    deadline: float
    processes: dict[Node, subprocess.Popen] = field(default_factory=dict)

    def wait_for(self, what: str, check: Callable[[], bool], log_node: Node) -> None:
        """Poll check until it passes; fail at once if a started process exits."""
        cluster = self.cluster
        last_said = time.monotonic()
        while True:
            for node, process in self.processes.items():
                code = process.poll()
                if code is not None:
                    raise ClusterError(
                        f"the {node.name} exited during start-up (code {code}):"
                        f" read {shown(cluster.log_file(node))}"
                        f"{last_error(cluster, node)}"
                    )
            if check():
                return
            now = time.monotonic()
            if now > self.deadline:
                raise ClusterError(
                    f"gave up waiting for {what} after {now - self.started:.0f} s:"
                    f" read {shown(cluster.log_file(log_node))}"
                    f"{last_error(cluster, log_node)}"
                )
            if now - last_said >= PROGRESS_EVERY_SECONDS:
                say(f"waiting for {what} ({now - self.started:.0f} s)")
                last_said = now
            time.sleep(1.0)


def last_error(cluster: Cluster, node: Node) -> str:
    """The log's last ERROR or exception line, as a hint after its name."""
    try:
        lines = cluster.log_file(node).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if " ERROR " in line or "Exception" in line or line.startswith("Error"):
            return f" (last error: {line.strip()[:200]})"
    return ""


# --- commands ----------------------------------------------------------------


def health(cluster: Cluster, up: dict[Node, int]) -> Iterator[tuple[Node, bool, str]]:
    """(node, healthy, what is known) for every node."""
    state = master_state() if MASTER in up else None
    for node in NODES:
        if node not in up:
            yield node, False, "down"
        elif node is MASTER:
            workers = alive_workers(state)
            ok = state is not None and port_open(MASTER_HOST, MASTER_PORT)
            yield (
                node,
                ok,
                f"up (pid {up[node]}), {cluster.master_url}, UI http://"
                f"{MASTER_HOST}:{MASTER_UI_PORT}, {workers} worker(s) alive"
                if ok
                else f"running (pid {up[node]}) but not answering",
            )
        elif node in WORKERS:
            ok = alive_workers(state) >= len(WORKERS)
            yield node, ok, f"up (pid {up[node]}), UI port {node.ports[0]}"
        else:
            ok = thrift_answers(cluster)
            where = f"{cluster.thrift_host}:{cluster.thrift_port}"
            yield (
                node,
                ok,
                f"up (pid {up[node]}), answers on {where}"
                if ok
                else f"running (pid {up[node]}) but not answering on {where}",
            )


def all_healthy(cluster: Cluster, up: dict[Node, int]) -> bool:
    return len(up) == len(NODES) and all(ok for _, ok, _ in health(cluster, up))


def start(cluster: Cluster, timeout: float) -> int:
    """Start every node and wait until the cluster is healthy; idempotent."""
    home = spark_home()
    java = find_java17(os.environ.get("JAVA_HOME"))
    require_jdbc_driver()
    require_pyhive()
    up = running(cluster)
    if up and all_healthy(cluster, up):
        say(f"already up and healthy: {summary(cluster)}")
        return 0
    if up:
        names = ", ".join(node.name for node in up)
        say(f"partly up ({names}): stopping it to start afresh")
        stop_nodes(cluster, up)
    busy = [
        port
        for port in (*MASTER.ports, *WORKER_UI_PORTS)
        if port_open(MASTER_HOST, port)
    ]
    if port_open(cluster.thrift_host, cluster.thrift_port):
        busy.append(cluster.thrift_port)
    if busy:
        raise ClusterError(
            f"port(s) {', '.join(map(str, busy))} already in use by something"
            " other than this cluster: stop it first"
        )

    started = time.monotonic()
    deadline = started + timeout
    ensure_metastore_database(cluster)
    write_conf_dir(cluster)

    startup = StartUp(cluster, started, deadline)
    processes = startup.processes
    try:
        processes[MASTER] = launch(cluster, MASTER, home, java)
        startup.wait_for(
            "the master",
            lambda: port_open(MASTER_HOST, MASTER_PORT) and master_state() is not None,
            MASTER,
        )
        for worker in WORKERS:
            processes[worker] = launch(cluster, worker, home, java)
        startup.wait_for(
            f"{len(WORKERS)} workers to register",
            lambda: alive_workers(master_state()) >= len(WORKERS),
            WORKERS[-1],
        )
        processes[THRIFT_SERVER] = launch(cluster, THRIFT_SERVER, home, java)
        startup.wait_for(
            "the Thrift server to answer select 1",
            lambda: thrift_answers(cluster),
            THRIFT_SERVER,
        )
        say("creating the metastore's tables (a warm-up query on the executors)")
        try:
            thrift_query(cluster, WARM_UP, timeout=max(deadline - time.monotonic(), 10))
        except Exception as error:
            raise ClusterError(
                f"the warm-up query failed ({one_line(error)}):"
                f" read {shown(cluster.log_file(THRIFT_SERVER))}"
            ) from None
    except BaseException:
        say("start-up failed: stopping what was started")
        stop_nodes(cluster, {node: process.pid for node, process in processes.items()})
        raise
    say(f"up in {time.monotonic() - started:.0f} s: {summary(cluster)}")
    return 0


def summary(cluster: Cluster) -> str:
    return (
        f"master {cluster.master_url} (UI http://{MASTER_HOST}:{MASTER_UI_PORT}),"
        f" {len(WORKERS)} workers (UI ports"
        f" {', '.join(map(str, WORKER_UI_PORTS))}), Thrift server"
        f" {cluster.thrift_host}:{cluster.thrift_port}, metastore database"
        f" {cluster.metastore_db}, logs {shown(cluster.logs)}"
    )


def stop(cluster: Cluster) -> int:
    """Stop every node that runs; idempotent."""
    up = running(cluster)
    if not up:
        say("not running")
        return 0
    stop_nodes(cluster, up)
    say("stopped")
    return 0


def status(cluster: Cluster) -> int:
    """Print each node's state; 0 if the whole cluster is healthy, else 1."""
    up = running(cluster)
    if not up:
        say(f"not running (pid files in {shown(cluster.pids)}): make spark-cluster")
        return 1
    healthy = True
    for node, ok, text in health(cluster, up):
        healthy = healthy and ok
        print(f"  {node.name:<14}{text}")
    say("healthy" if healthy else "not healthy: make spark-cluster restarts it")
    return 0 if healthy else 1


# --- output ------------------------------------------------------------------


def say(text: str) -> None:
    print(f"spark cluster: {text}", flush=True)


def shown(path: Path) -> str:
    """A path relative to the working folder when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="seconds start waits for a healthy cluster (default 180)",
    )
    args = parser.parse_args(argv)
    try:
        cluster = Cluster.from_environment()
        if args.command == "start":
            return start(cluster, args.timeout)
        if args.command == "stop":
            return stop(cluster)
        return status(cluster)
    except ClusterError as error:
        print(f"spark cluster: error: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
