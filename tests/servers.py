"""Start, wait for and stop a server the tests run: the one helper every fixture uses.

:func:`running` starts a command with its output in a log file, polls a readiness
check (never a fixed sleep), and always stops the process (``SIGTERM``, then
``SIGKILL`` after a grace period), even when the test or the start fails::

    with running([luigid, "--port", str(port)], log=tmp_path / "luigid.log",
                 ready=lambda: urlopen(url)) as process:
        ...

A readiness check returns a true value when the server is up; ``False`` or
``None``, or an ``OSError`` (refused connection, HTTP error, timeout) means "not
yet". A process that exits, or a server not ready in ``timeout`` seconds, is a
``RuntimeError`` that quotes the end of the log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ServerError",
    "free_port",
    "grpc_ready",
    "running",
    "sail_server",
    "spark_connect_server",
    "stop",
]

_POLL_SECONDS = 0.1
_LOG_TAIL = 3000


class ServerError(RuntimeError):
    """A test server did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-_LOG_TAIL:]
    except OSError:
        return "(no log)"


def stop(
    process: subprocess.Popen[bytes], grace: float = 30, stop_signal: int = signal.SIGTERM
) -> None:
    """Send ``stop_signal`` to ``process`` and wait; kill it when it outlives ``grace``."""
    if process.poll() is None:
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(
    ready: Callable[[], object],
    *,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = 120,
) -> object:
    """Poll ``ready`` until it returns a true value; the value is returned.

    Raises
    ------
    ServerError
        When ``process`` exits first or ``timeout`` seconds pass; the message quotes
        the end of ``log``.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = ready()
            if value:
                return value
        except OSError as e:
            last_error = e
        exited = process is not None and process.poll() is not None
        if exited or time.monotonic() > deadline:
            why = (
                f"exited with code {process.returncode}"
                if exited and process is not None
                else f"not ready after {timeout:g} s"
            )
            detail = f"\n--- end of {log} ---\n{_tail(log)}" if log is not None else ""
            raise ServerError(f"{what} {why} (last error: {last_error}){detail}")
        time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def running(
    command: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    ready: Callable[[], object],
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
    grace: float = 30,
    stop_signal: int = signal.SIGTERM,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` as a server for the duration of the ``with`` block.

    Parameters
    ----------
    command
        The server's command line.
    log
        The file that receives the server's stdout and stderr.
    ready
        The readiness check, polled every 0.1 s.
    env, cwd, popen
        Passed to :class:`subprocess.Popen` (``user=`` and ``group=`` included).
    timeout
        Seconds the server has to become ready.
    grace
        Seconds between ``stop_signal`` and ``SIGKILL`` when stopping.
    stop_signal
        The signal that asks the server to stop (``SIGTERM``).
    """
    what = Path(str(command[0])).name
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(part) for part in command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            **popen,
        )
    try:
        wait_until(ready, what=what, process=process, log=log, timeout=timeout)
        yield process
    finally:
        stop(process, grace, stop_signal)


# --------------------------------------------------------------------------------------
# The two Spark Connect servers (the tests' fixtures and the benchmark harness)
# --------------------------------------------------------------------------------------


def grpc_ready(port: int) -> bool:
    """Whether a gRPC channel to 127.0.0.1:port gets ready within a second."""
    import grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=1)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def spark_connect_server(
    port: int,
    work: Path,
    conf: Mapping[str, str],
    *,
    master: str = "local[2]",
    name: str = "ufo-etl",
    base_env: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a real Spark Connect server on
    127.0.0.1:``port``, started from pyspark's own ``bin/spark-submit`` and its
    ``spark-connect`` jar, with ``conf`` (static settings included). Its logs go
    under ``work``; its Python workers run this interpreter, so the UDFs a
    client sends (the raw-file readers) import this project. The environment
    is ``base_env`` (this process's by default) with Spark's variables."""
    import pyspark

    spark_home = os.path.dirname(pyspark.__file__)
    settings = {
        **conf,
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
    }
    command = [os.path.join(spark_home, "bin", "spark-submit"),
               "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--master", master, "--name", name]  # fmt: skip
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    env = {
        **(os.environ if base_env is None else base_env),
        "SPARK_HOME": spark_home,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "PYSPARK_PYTHON": sys.executable,
    }
    return command, env


def spark_standalone_env(work: Path, daemon_java_options: str) -> dict[str, str]:
    """The environment of a Spark standalone master and its workers started from
    pyspark's own ``bin/spark-class`` (``SPARK_CLASS``): on 127.0.0.1, logs and
    work directories under ``work``, this interpreter on the executors, the
    daemons' JVMs with ``daemon_java_options``."""
    import pyspark

    spark_home = os.path.dirname(pyspark.__file__)
    return {
        **os.environ,
        "SPARK_HOME": spark_home,
        "SPARK_CLASS": os.path.join(spark_home, "bin", "spark-class"),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_WORKER_DIR": str(work / "work"),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DAEMON_JAVA_OPTS": daemon_java_options,
    }


def sail_server(
    port: int, work: Path, base_env: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a Sail server (PyPI ``pysail``, a
    Spark Connect server in Rust) on 127.0.0.1:``port``, in UTC, with a
    checkpoint directory under ``work`` (without one Sail refuses
    ``localCheckpoint``, the backend's materialize over Connect). It runs the
    UDFs in this interpreter's Python. The environment is ``base_env`` (this
    process's by default) with Sail's variables."""
    start = (
        "import sys; from pysail.cli import main; "
        f"sys.argv = ['sail', 'spark', 'server', '--ip', '127.0.0.1', '--port', '{port}']; "
        "main()"
    )
    checkpoints = work / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    env = {
        **(os.environ if base_env is None else base_env),
        "TZ": "UTC",
        "SAIL_EXECUTION__CHECKPOINT__PATH": checkpoints.as_uri(),
    }
    return [sys.executable, "-c", start], env
