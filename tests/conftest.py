"""Shared fixtures: one session-scoped backend fixture parametrised over engines.

``pytest`` runs the DuckDB set; ``pytest -m spark`` runs the same tests on Spark
in local mode; ``pytest -m cluster`` runs the standalone-cluster tests.
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A real Spark standalone master and worker on 127.0.0.1, from pyspark's own
    ``bin/spark-class``; stops both afterwards."""
    import subprocess
    import time

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
    url = f"spark://127.0.0.1:{port}"
    logs = [open(work / name, "w") for name in ("master.log", "worker.log")]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui_port),
            ],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        processes.append(
            subprocess.Popen(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    url,
                    "--host",
                    "127.0.0.1",
                    "--webui-port",
                    str(worker_ui_port),
                    "--cores",
                    "2",
                    "--memory",
                    "3g",
                    "--work-dir",
                    str(work / "work"),
                ],
                env=env,
                stdout=logs[1],
                stderr=subprocess.STDOUT,
            )
        )
        cluster = SparkCluster(url=url, ui_url=f"http://127.0.0.1:{ui_port}")
        deadline = time.monotonic() + 180
        while True:
            try:
                workers = cluster.state().get("workers", [])
                if any(w.get("state") == "ALIVE" for w in workers):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(
                    f"the Spark cluster did not come up; see {work}/master.log and worker.log"
                )
            time.sleep(1)
        yield cluster
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log_file in logs:
            log_file.close()


# Server fixtures shared by several modules (imported last: they use free_port).
from pg_fixtures import pg, postgres_server  # noqa: E402, F401 - PostgreSQL fixtures
from s3_fixtures import s3_server  # noqa: E402, F401 - the session S3 server fixture
