"""Shared fixtures: one session-scoped backend fixture parametrised over engines.

``pytest`` runs the fast DuckDB set (no server, no attack); ``pytest -m spark``
runs the same tests on Spark in local mode; ``pytest -m cluster`` the
standalone-cluster tests; ``pytest -m integration`` the tests with a server
(PostgreSQL, S3, luigid); ``pytest -m attack`` the kill and concurrency attacks;
``pytest -m ''`` everything (CI).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


from servers import free_port, running  # noqa: E402 - free_port: for other modules

import backends  # noqa: E402
from backends import Backend  # noqa: E402

SHARED_DATA = Path(os.environ.get("UFO_SHARED_DATA", ROOT.parent / "shared" / "data" / "ufo"))

# Spark must bind to loopback and run this interpreter on its executors.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

SPARK_TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
}

_FAST_START_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
SPARK_PROCESS_CONF = {
    **SPARK_TEST_CONF,
    # A pipeline in a fresh process on a test's small input: most of its JVM's
    # time is start-up and JIT compilation, which the client compiler alone and
    # the serial collector cut by about a third (measured on 50k records, 2
    # cores). JVM options only: Spark's settings and results are unchanged.
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC " + _FAST_START_JVM,
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC " + _FAST_START_JVM,
}
"""The Spark settings of a pipeline that a test runs in a process of its own."""

BACKEND_PARAMS = [
    pytest.param("duckdb", marks=pytest.mark.duckdb, id="duckdb"),
    pytest.param("spark", marks=pytest.mark.spark, id="spark"),
]


def connect_backend(name: str) -> Backend:
    if name == "spark":
        return backends.connect("spark", master="local[2]", conf=SPARK_TEST_CONF)
    return backends.connect(name)


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The engine under test, started once for the whole session."""
    engine = connect_backend(request.param)
    yield engine
    engine.close()


SERVER_FIXTURES = frozenset({"postgres_server", "s3_server", "luigid"})
"""Fixtures that start a server: a test that uses one, directly or through another
fixture, is an ``integration`` test."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark server-backed tests ``integration`` from the fixtures they use, before
    ``-m`` selects (so the default run starts no server)."""
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def fresh_luigi_instances() -> None:
    """Each test builds its own Luigi task instances.

    Luigi caches task instances by parameter values, and a range task caches its
    required tasks on the instance: without this, a ``RangeDaily`` with the same
    parameters as one in an earlier test would hand back that test's tasks, built
    from its ``[etl]`` settings.
    """
    import luigi.task_register

    luigi.task_register.Register.clear_instance_cache()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real NUFORC files, or a skip naming the missing folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real NUFORC files not found at {SHARED_DATA} (set UFO_SHARED_DATA)")
    return SHARED_DATA


@dataclass(frozen=True)
class SparkCluster:
    url: str
    """The master URL, spark://127.0.0.1:<port>."""
    ui_url: str
    """The master's web UI; ``<ui_url>/json/`` describes workers and applications."""

    def state(self) -> dict[str, Any]:
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            return dict(json.load(response))

    def alive_workers(self) -> int:
        """How many workers the master reports ALIVE."""
        return sum(w.get("state") == "ALIVE" for w in self.state().get("workers", []))


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A real Spark standalone master and worker on 127.0.0.1, from pyspark's own
    ``bin/spark-class``; stops both afterwards."""
    import pyspark

    spark_home = os.path.dirname(pyspark.__file__)
    spark_class = os.path.join(spark_home, "bin", "spark-class")
    work = tmp_path_factory.mktemp("spark-cluster")
    port, ui_port, worker_ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "SPARK_HOME": spark_home,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_WORKER_DIR": str(work / "work"),
        "PYSPARK_PYTHON": sys.executable,
    }
    cluster = SparkCluster(url=f"spark://127.0.0.1:{port}", ui_url=f"http://127.0.0.1:{ui_port}")
    master = [spark_class, "org.apache.spark.deploy.master.Master",
              "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port)]  # fmt: skip
    worker = [spark_class, "org.apache.spark.deploy.worker.Worker", cluster.url,
              "--host", "127.0.0.1", "--webui-port", str(worker_ui_port), "--cores", "2",
              "--memory", "3g", "--work-dir", str(work / "work")]  # fmt: skip
    # Both start at once: the worker's check waits for the master too.
    with (
        running(master, log=work / "master.log", env=env, ready=lambda: True),
        running(worker, log=work / "worker.log", env=env, ready=cluster.alive_workers),
    ):
        yield cluster


# Server fixtures shared by several modules (imported last: they use free_port).
from pg_fixtures import pg, postgres_server  # noqa: E402, F401 - PostgreSQL fixtures
from s3_fixtures import s3_server  # noqa: E402, F401 - the session S3 server fixture
