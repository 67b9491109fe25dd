"""The Spark Connect servers of the variants ``ufo-etl-connect`` (Spark's own
``SparkConnectServer``) and ``ufo-etl-sail`` (Sail): started before a
scenario's runs and stopped after them, by the repository's one server helper
(``tests/servers.py``, which the tests' fixtures use too).

A server's start is not in any run's time (a Connect server is long-lived in
production: the compose stack's ``spark-connect`` service); its memory and the
CPU time it spends during a run are in that run's measurement.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks._variants import Settings

START_TIMEOUT_S: Final = 300.0
"""Seconds a server has to answer on its gRPC port."""


@dataclass(frozen=True)
class Server:
    url: str
    """``sc://127.0.0.1:<port>``"""
    pid: int


def server_conf(settings: Settings) -> dict[str, str]:
    """The Spark Connect server's settings: the engine's defaults
    (``docker/spark/spark-defaults.conf``, as a classic driver reads them) and
    the classic ``ufo-etl-spark`` variant's driver memory."""
    from backends._spark import read_defaults

    return {
        **read_defaults(),
        "spark.driver.memory": settings.spark_memory,
        "spark.ui.enabled": "false",
    }


@contextlib.contextmanager
def connect_server(
    kind: str, settings: Settings, env: Mapping[str, str], work: str
) -> Iterator[Server]:
    """Run the ``kind`` server (``spark-connect`` or ``sail``) on 127.0.0.1 for
    the ``with`` block, with the variants' environment ``env``; its log is
    ``<work>/server.log``."""
    from tests import servers

    os.makedirs(work, exist_ok=True)
    port = servers.free_port()
    if kind == "spark-connect":
        command, server_env = servers.spark_connect_server(
            port,
            Path(work),
            server_conf(settings),
            master=f"local[{settings.threads}]",
            name="ufo-etl-benchmark",
            base_env=env,
        )
    elif kind == "sail":
        command, server_env = servers.sail_server(port, Path(work), base_env=env)
    else:
        raise ValueError(f"unknown Spark Connect server {kind!r}")
    with servers.running(
        command,
        log=Path(work) / "server.log",
        env=server_env,
        ready=lambda: servers.grpc_ready(port),
        timeout=START_TIMEOUT_S,
    ) as process:
        yield Server(f"sc://127.0.0.1:{port}", process.pid)
