"""Shared fixtures: one session-scoped backend fixture parametrised over engines.

``pytest`` runs the fast DuckDB set (no server, no attack); ``pytest -m spark``
runs the same tests on Spark in local mode; ``pytest -m connect`` over Spark
Connect on a Spark Connect server the tests start from pyspark's jars;
``pytest -m sail`` over Spark Connect on Sail; ``pytest -m cluster`` the
standalone-cluster tests; ``pytest -m integration`` the tests with a server
(PostgreSQL, S3, luigid); ``pytest -m attack`` the kill and concurrency attacks;
``pytest -m ''`` everything (what CI runs). Tests run on one pytest-xdist worker
per core (``-n auto`` in ``pyproject.toml``; ``-n 0`` runs them in this process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


import jvm_archive  # noqa: E402
import servers  # noqa: E402
from servers import free_port, running  # noqa: E402 - free_port: for other modules

import backends  # noqa: E402
from backends import Backend  # noqa: E402

SHARED_DATA = Path(os.environ.get("UFO_SHARED_DATA", ROOT.parent / "shared" / "data" / "ufo"))

# Spark must bind to loopback and run this interpreter on its executors.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

TEST_JVM_OPTIONS = jvm_archive.JVM_OPTIONS
"""The JVM options of every Spark JVM the tests start (drivers, executors, Spark
Connect servers, standalone daemons). A test's data is small: most of a JVM's CPU
goes to start-up and JIT compilation, which the client compiler alone and the
serial collector cut by about a third (measured: the Spark parity set of
``test_transforms.py`` 89 to 57 CPU seconds, the same wall time). JVM options
only: Spark's settings and results are unchanged; production keeps the JVM's
defaults (``docker/spark/spark-defaults.conf``)."""

TEST_JVM_CONF = {
    "spark.driver.extraJavaOptions": jvm_archive.DRIVER_OPTIONS,
    "spark.executor.extraJavaOptions": TEST_JVM_OPTIONS,
}
"""The JVM options of the tests' Spark applications: :data:`TEST_JVM_OPTIONS`,
and for drivers the class-data archive of ``tests/jvm_archive.py`` too."""

SPARK_TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
    **TEST_JVM_CONF,
}
"""The Spark settings of the tests' engines."""

JVM_MARKERS = ("spark", "connect", "cluster")
"""The markers of the tests that start a Spark JVM: when one is collected, the
drivers' class-data archive gets built (``tests/jvm_archive.py``)."""


_ARCHIVE_BUILDER = pytest.StashKey[subprocess.Popen[bytes] | None]()
"""The archive's builder this process started, if any."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the drivers' class-data archive in the background when a collected
    test starts a Spark JVM and the archive does not exist yet."""
    if any(item.get_closest_marker(m) for item in session.items for m in JVM_MARKERS):
        session.config.stash[_ARCHIVE_BUILDER] = jvm_archive.start_build()


def pytest_sessionfinish(session: pytest.Session) -> None:
    jvm_archive.finish_build(session.config.stash.get(_ARCHIVE_BUILDER, None))


BACKEND_PARAMS = [
    pytest.param("duckdb", marks=pytest.mark.duckdb, id="duckdb"),
    pytest.param("spark", marks=pytest.mark.spark, id="spark"),
    pytest.param("connect", marks=pytest.mark.connect, id="connect"),
    pytest.param("sail", marks=pytest.mark.sail, id="sail"),
]
"""The engines the parity set runs on: ``connect`` and ``sail`` are the Spark
backend over Spark Connect, on a Spark Connect server and on Sail."""

CONNECT_SERVERS = {"connect": "spark_connect_server", "sail": "sail_server"}
"""The server fixture behind each Spark Connect parameter of ``backend``."""


def connect_backend(name: str, remote: str | None = None) -> Backend:
    """Start the engine of a ``backend`` parameter; ``remote``: its server's URL."""
    if name == "spark":
        return backends.connect("spark", master="local[2]", conf=SPARK_TEST_CONF)
    if name in CONNECT_SERVERS:
        return backends.connect("spark", remote=remote, conf=CONNECT_TEST_CONF)
    return backends.connect(name)


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The engine under test, started once for the whole session."""
    remote = None
    if request.param in CONNECT_SERVERS:
        remote = request.getfixturevalue(CONNECT_SERVERS[request.param])
    engine = connect_backend(request.param, remote)
    yield engine
    engine.close()


def on(backend: Backend | str, *engines: str) -> bool:
    """Whether ``backend`` (or a ``backend`` parameter's id) is one of ``engines``:
    ``duckdb``, ``spark`` (classic), ``connect`` (Spark Connect server) or
    ``sail``."""
    if isinstance(backend, str):
        return backend in engines
    if backend.name != "spark":
        return backend.name in engines
    remote = getattr(backend, "remote", None)
    if remote is None:
        return "spark" in engines
    return any(remote == _SERVER_URLS.get(engine) for engine in engines)


_SERVER_URLS: dict[str, str] = {}
"""The URL of each Spark Connect server started, by ``backend`` parameter."""


CONNECT_TEST_CONF = {"spark.sql.shuffle.partitions": "4"}
"""What the tests' Spark Connect clients set (runtime settings only)."""


def connect_server_conf() -> dict[str, str]:
    """The settings a Spark Connect server starts with: the engine's defaults
    (``docker/spark/spark-defaults.conf``: UTC, ANSI, ...; static ones can only be
    given at the start) and the tests' own."""
    from backends._spark import read_defaults

    return {**read_defaults(), **SPARK_TEST_CONF}


@pytest.fixture(scope="session")
def spark_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Spark Connect server (``local[2]``) on 127.0.0.1, started from
    pyspark's own ``bin/spark-submit`` (:func:`servers.spark_connect_server`);
    its URL ``sc://127.0.0.1:<port>``."""
    work = tmp_path_factory.mktemp("spark-connect")
    port = free_port()
    conf = {
        **connect_server_conf(),
        # Progress reaches the client's handler every 0.2 s, not every 2 s.
        "spark.connect.progress.reportInterval": "200ms",
    }
    command, env = servers.spark_connect_server(port, work, conf, name="ufo-etl-tests")
    with running(command, log=work / "server.log", env=env, ready=lambda: servers.grpc_ready(port)):
        url = f"sc://127.0.0.1:{port}"
        _SERVER_URLS["connect"] = url
        yield url


@pytest.fixture(scope="session")
def sail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Sail server (:func:`servers.sail_server`) on 127.0.0.1; its URL
    ``sc://127.0.0.1:<port>``."""
    work = tmp_path_factory.mktemp("sail")
    port = free_port()
    command, env = servers.sail_server(port, work)
    with running(command, log=work / "server.log", env=env, ready=lambda: servers.grpc_ready(port)):
        url = f"sc://127.0.0.1:{port}"
        _SERVER_URLS["sail"] = url
        yield url


SAIL_GAPS: dict[str, tuple[type[BaseException], str]] = {}
"""Where Sail differs from Spark: each test (node id, ``*`` globs allowed) becomes a
strict xfail that names the exception it raises and why. A gap fixed in Sail makes
its test XPASS, which fails the run. Empty: the one gap the parity set found
(Sail typed a CASE of decimal literals with a DOUBLE null as DECIMAL) is
handled in ``backends/_spark_rules.py``, which writes float literals as
doubles."""

CLASSIC_ONLY: dict[str, str] = {
    "tests/test_reliability_crash.py::*": (
        "kills classic Spark drivers and workers (python -m luigi --spark-master "
        "local[2], standalone workers): no Spark Connect counterpart"
    ),
}
"""Tests whose code is classic-Spark-only: excluded from the ``connect`` and
``sail`` parameters, with the reason shown by ``-ra``."""


def _gap_of(nodeid: str, gaps: dict[str, Any]) -> Any:
    """The entry of ``gaps`` whose pattern matches ``nodeid`` (``*``: any text;
    brackets are literal, as in parameter ids)."""
    import re

    for pattern, gap in gaps.items():
        if re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), nodeid):
            return gap
    return None


SERVER_FIXTURES = frozenset({"postgres_server", "s3_server", "luigid"})
"""Fixtures that start a server: a test that uses one, directly or through another
fixture, is an ``integration`` test."""


WORKER_GROUPS = {
    "connect": r"\[connect[\]-]|::test_\w*connect_server",
    "sail": r"\[sail[\]-]",
    "cluster": r"^tests/test_cluster\.py::",
    "benchmarks": r"^tests/test_benchmarks\.py::",
}
"""Tests that run on one pytest-xdist worker (with ``--dist loadgroup``), by node
id: those of the Spark Connect server, of Sail (the ``backend`` parameter's id,
or the test's name) and of the standalone cluster share that server, so one
worker starts it once; those of ``test_benchmarks.py`` share module fixtures
that run the benchmark harness (100 s for the Spark one), which every worker
would run again. The first pattern that matches names the group. (pytest-xdist's own ``xdist_group``
marker does not group on pytest 9.2: it renames ``Item._nodeid``, which pytest
no longer reads.)"""


def worker_group(nodeid: str) -> str | None:
    """The :data:`WORKER_GROUPS` group of a test, or None (any worker)."""
    import re

    return next((name for name, rule in WORKER_GROUPS.items() if re.search(rule, nodeid)), None)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadgroup``: xdist's scheduling by scope, a scope being a
    :func:`worker_group` or else the test alone; the largest groups go first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid) or nodeid

    return GroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark server-backed tests ``integration`` from the fixtures they use, before
    ``-m`` selects (so the default run starts no server); check that
    :data:`WORKER_GROUPS` keeps each Spark Connect server's tests together."""
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        markers = {m.name for m in item.iter_markers()}
        group = worker_group(item.nodeid)
        for server in ("connect", "sail"):
            # The node-id rule must find every test of the server, and only those.
            if (server in markers) != (group == server):
                raise pytest.UsageError(
                    f"{item.nodeid}: marked {sorted(markers & {server})}, in worker group "
                    f"{group}: mend WORKER_GROUPS in tests/conftest.py"
                )
        engines = markers & {"connect", "sail"}
        if not engines:
            continue
        classic_only = _gap_of(item.nodeid, CLASSIC_ONLY)
        if classic_only:
            item.add_marker(pytest.mark.skip(reason=f"classic Spark only: {classic_only}"))
            continue
        gap = _gap_of(item.nodeid, SAIL_GAPS) if "sail" in engines else None
        if gap:
            raises, reason = gap
            item.add_marker(
                pytest.mark.xfail(strict=True, raises=raises, reason=f"Sail gap: {reason}")
            )


@pytest.fixture(autouse=True)
def no_inherited_connect_mode(request: pytest.FixtureRequest) -> Iterator[None]:
    """pyspark marks Connect mode process-wide (``SPARK_CONNECT_MODE_ENABLED`` in
    ``os.environ``) while a Connect session is open, and the ``connect`` and
    ``sail`` backends stay open for the session: every other test, and every
    process it starts, runs without that mark (a classic driver started in a
    child process would otherwise try to be a Connect client)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("backend") in ("connect", "sail"):
        yield
        return
    saved = os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["SPARK_CONNECT_MODE_ENABLED"] = saved


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
    work = tmp_path_factory.mktemp("spark-cluster")
    port, ui_port, worker_ui_port = free_port(), free_port(), free_port()
    env = servers.spark_standalone_env(work, TEST_JVM_OPTIONS)
    spark_class = env["SPARK_CLASS"]
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
