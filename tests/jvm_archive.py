"""A class-data archive (AppCDS) for the Spark driver JVMs the tests start.

A Spark driver loads some 20,000 classes from pyspark's jars at each start: in a
small pipeline run in a fresh process (the kill, scheduler and command-line
tests start dozens), class loading is about 5 of the JVM's 28 CPU seconds.
JDK 17 can write the classes a JVM loaded to an archive when it exits
(``-XX:ArchiveClassesAtExit``) and map them, parsed and verified, into later
JVMs of the same Java and class path (``-XX:SharedArchiveFile``).

:data:`ARCHIVE` is built once per Java and pyspark (its name is their key), under
``.pytest_cache/``, by a small pipeline run in the background (:func:`start_build`)
as soon as a test that starts a Spark JVM is collected. The drivers the tests
start name it (:data:`DRIVER_OPTIONS`): until it exists, the JVM ignores the
option without a word. Executors of the standalone cluster, its daemons and
pyspark's launcher have another class path and do not name it. Test-only:
production JVMs are unchanged.

``python tests/jvm_archive.py ARCHIVE`` builds the archive at ``ARCHIVE``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JAVA_HOME = Path(os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"))
JVM_OPTIONS = "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""The JVM options of every Spark JVM the tests start (see ``conftest.TEST_JVM_OPTIONS``)."""


def _key() -> str:
    """What the archive depends on: the Java (its path and build), and pyspark's
    jars (where they are, their names and sizes). Found without importing
    pyspark (0.2 s), which the DuckDB runs never need."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        return "no-pyspark"
    jars = Path(spec.origin).parent / "jars"
    libjvm = JAVA_HOME / "lib" / "server" / "libjvm.so"
    # The jars' directory too: the archive holds the class path it was made with.
    parts = [str(JAVA_HOME.resolve()), importlib.metadata.version("pyspark"), str(jars.resolve())]
    with contextlib.suppress(OSError):
        parts.append(str(libjvm.stat().st_mtime_ns))
    with contextlib.suppress(OSError):
        parts += sorted(f"{jar.name}:{jar.stat().st_size}" for jar in jars.iterdir())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


ARCHIVE = ROOT / ".pytest_cache" / "spark-cds" / f"driver-{_key()}.jsa"
"""Where the archive is, once built."""

DRIVER_OPTIONS = f"{JVM_OPTIONS} -XX:SharedArchiveFile={ARCHIVE}"
"""The JVM options of the Spark drivers the tests start (local mode, the
standalone cluster's clients, the Spark Connect server)."""


def _lock() -> Path:
    return ARCHIVE.with_suffix(".building")


def _claim() -> bool:
    """Whether this process may build the archive: no other is building it."""
    lock = _lock()
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                os.kill(int(lock.read_text() or "0"), 0)
                return False  # its builder is alive
            except (OSError, ValueError):
                lock.unlink(missing_ok=True)  # left by a builder that died
                continue
        with os.fdopen(fd, "w") as out:
            out.write(str(os.getpid()))
        return True
    return False


def start_build() -> subprocess.Popen[bytes] | None:
    """Build :data:`ARCHIVE` in the background, unless it exists or another
    process is building it; the builder (in a process group of its own, for
    :func:`finish_build`), or None."""
    if ARCHIVE.exists() or not _claim():
        return None
    log = ARCHIVE.with_suffix(".log")
    with open(log, "wb") as out:
        builder = subprocess.Popen(
            [sys.executable, __file__, str(ARCHIVE)],
            cwd=ARCHIVE.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _lock().write_text(str(builder.pid))
    return builder


def finish_build(builder: subprocess.Popen[bytes] | None, timeout: float = 300) -> None:
    """Let a builder still running finish (the archive serves the next runs),
    for at most ``timeout`` seconds; then stop it, and its JVM, leaving no
    archive."""
    if builder is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        builder.wait(timeout=timeout)
    if builder.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(builder.pid, signal.SIGKILL)
        builder.wait()
        _lock().unlink(missing_ok=True)


def _build(archive: Path) -> None:
    """Run the pipeline on Spark (local mode) on a small generated input, in
    this process; its JVM writes the classes it loaded to ``archive`` when it
    exits, which this waits for."""
    import luigi
    from pyspark import SparkContext

    import backends
    import etl
    import etl.tasks
    from etl.generate import generate

    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="spark-cds-") as work:
        raw = Path(work) / "raw.tsv"
        generate(2_000, raw, seed=7)
        conf = {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.extraJavaOptions": f"{JVM_OPTIONS} -XX:ArchiveClassesAtExit={partial}",
        }
        engine = backends.connect("spark", master="local[2]", conf=conf)
        config = luigi.configuration.get_config()
        for key, value in {"raw_path": str(raw), "raw_format": "tsv", "data_root": work}.items():
            config.set("etl", key, value)
        etl.tasks.current_backend = lambda: engine
        ok = luigi.build([etl.UFOPipeline(date=dt.date(2024, 5, 17))], local_scheduler=True)
        engine.close()
        gateway = SparkContext._gateway
        if gateway is not None:
            # The JVM exits when its standard input closes; it writes the archive then.
            gateway.shutdown()
            gateway.proc.stdin.close()
            gateway.proc.wait(timeout=300)
    if not ok or not partial.exists():
        raise SystemExit(f"no archive written (pipeline ok: {ok})")
    os.replace(partial, archive)
    print(json.dumps({"archive": str(archive), "bytes": archive.stat().st_size}))


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT)]
    try:
        _build(Path(sys.argv[1]))
    finally:
        _lock().unlink(missing_ok=True)
