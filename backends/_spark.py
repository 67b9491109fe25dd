"""Spark: the production engine, in local mode, on a standalone cluster, or over
Spark Connect.

Classic mode: the Luigi worker process is the Spark driver (client mode), with a
JVM of its own. Connect mode (``remote = sc://host:port``): the worker is a thin
gRPC client of a Spark Connect server (Spark's own, or another engine speaking
the protocol, such as Sail) and needs no Java; the server is the driver.

Engine settings come from ``docker/spark/spark-defaults.conf``, the file the
production image uses too; deployment settings (master or remote, S3, jars,
driver host and ports) come from ``[spark]`` in ``luigi.cfg``. Over Connect
only runtime settings (``spark.sql.*``) can be set by the client: the others
belong to the server's own start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from backends import _rawfiles, _spark_rules
from backends._base import Backend
from backends._rawfiles import RAW_RECORDS_SCHEMA, RawFile
from backends._s3 import S3Settings
from backends.errors import BackendUnavailableError, ConfigurationError
from transforms.schema import RAW_FIELDS

log = logging.getLogger(__name__)

DEFAULTS_FILE: Final = (
    Path(__file__).resolve().parents[1] / "docker" / "spark" / "spark-defaults.conf"
)
SUPPORTED_JAVA: Final = (17, 21)
DEFAULT_MASTER: Final = "local[*]"
DEFAULT_CONNECT_PORT: Final = 15002
_HADOOP_GLOB_CHARS = re.compile(r"([\\*?\[\]{}])")

_spark_rules.install()
_SPARK_DDL_TYPES: Final = {
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.string(): "string",
    pa.bool_(): "boolean",
}


def _spark_ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string (``name type, ...``) for an Arrow schema."""
    return ", ".join(f"{f.name} {_SPARK_DDL_TYPES[f.type]}" for f in schema)


_RAW_RECORDS_DDL: Final = _spark_ddl(RAW_RECORDS_SCHEMA)


def read_defaults(path: Path = DEFAULTS_FILE) -> dict[str, str]:
    """The settings of a ``spark-defaults.conf`` file (``key value`` lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigurationError(f"cannot read Spark defaults {path}: {e}") from e
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            settings[key] = value.strip()
    return settings


def java_major_version(java_home: str | None = None) -> tuple[int, str]:
    """The major version of the Java that Spark will start, and its path.

    Raises
    ------
    BackendUnavailableError
        When no Java can be found or run.
    """
    java_home = java_home if java_home is not None else os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    where = f"JAVA_HOME={java_home}" if java_home else "java on PATH (JAVA_HOME is not set)"
    if not java or not os.access(java, os.X_OK):
        raise BackendUnavailableError(
            f"Spark needs Java {' or '.join(map(str, SUPPORTED_JAVA))}, but none was found "
            f"({where}); install OpenJDK 17 and set JAVA_HOME"
        )
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=True
        ).stderr
    except (OSError, subprocess.SubprocessError) as e:
        raise BackendUnavailableError(f"cannot run {java} ({where}): {e}") from e
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise BackendUnavailableError(f"cannot tell the version of {java} ({where}): {out!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    return major, where


def check_java() -> None:
    """Raise a clear error unless Java 17 or 21 is what Spark will use."""
    major, where = java_major_version()
    if major not in SUPPORTED_JAVA:
        raise BackendUnavailableError(
            f"pyspark 4.0 runs on Java {' or '.join(map(str, SUPPORTED_JAVA))}, "
            f"but {where} is Java {major}; point JAVA_HOME at a Java 17 "
            f"(e.g. /usr/lib/jvm/java-17-openjdk-amd64)"
        )


def check_spark_master(master: str, timeout: float) -> None:
    """Raise unless a ``spark://`` master accepts a connection within ``timeout`` seconds.

    ``local[...]`` masters need no check. ``spark://h1:7077,h2:7077`` (standby
    masters) passes when any of them answers.

    Raises
    ------
    ConfigurationError
        When the URL has no ``host:port``.
    BackendUnavailableError
        When no master answers in time.
    """
    if not master.startswith("spark://"):
        return
    failures = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(f"Spark master {master!r} is not spark://host:port")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except OSError as e:
            failures.append(f"{address}: {e.strerror or e}")
    raise BackendUnavailableError(
        f"cannot reach the Spark master {master} within {timeout:g} s "
        f"({'; '.join(failures)}); is it running? (--spark-master, [spark] master)"
    )


class _ConnectMode:
    """pyspark 4.0 builds Connect columns and functions (``F.col``...) process-wide
    while ``SPARK_CONNECT_MODE_ENABLED`` is set, which ``create()`` of a Connect
    session sets. Counted here, the variable is removed when the last Connect
    session of this process closes (unless it was set before the first), so that a
    classic driver can start afterwards; not while one is open."""

    _lock = threading.Lock()
    _open = 0
    _preset = False

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            if cls._open == 0:
                cls._preset = "SPARK_CONNECT_MODE_ENABLED" in os.environ
            cls._open += 1

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            cls._open -= 1
            if cls._open == 0 and not cls._preset:
                os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)

    @classmethod
    def sessions(cls) -> int:
        return cls._open


def remote_address(remote: str) -> tuple[str, int]:
    """The host and port of a Spark Connect URL ``sc://host[:port][/;params]``.

    The port defaults to 15002, Spark Connect's.

    Raises
    ------
    ConfigurationError
        When the URL is not ``sc://host[:port]``; the message never quotes the
        URL's parameters (they may hold a token).
    """
    if not remote.startswith("sc://"):
        raise ConfigurationError(
            f"Spark remote {remote.split(';', 1)[0]!r} is not sc://host:port (--spark-remote)"
        )
    address = remote.removeprefix("sc://").split("/", 1)[0].split(";", 1)[0]
    match = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?", address)
    if not match:
        raise ConfigurationError(
            f"Spark remote sc://{address} is not sc://host:port (--spark-remote)"
        )
    port = int(match.group(2)) if match.group(2) else DEFAULT_CONNECT_PORT
    return match.group(1).strip("[]"), port


def check_spark_remote(remote: str, timeout: float) -> None:
    """Raise unless the Spark Connect server of ``remote`` answers within ``timeout``
    seconds: it accepts a TCP connection, then a gRPC (HTTP/2) channel.

    The Connect client itself would retry an unreachable server for minutes.

    Raises
    ------
    ConfigurationError
        When the URL is not ``sc://host[:port]``.
    BackendUnavailableError
        When no server answers in time.
    """
    import time

    host, port = remote_address(remote)
    where = f"sc://{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise BackendUnavailableError(
            f"cannot reach the Spark Connect server {where} within {timeout:g} s "
            f"({e.strerror or e}); is it running? (--spark-remote, [spark] remote)"
        ) from e
    if "use_ssl=true" in remote.lower():
        return  # the TCP check only: the channel below would not speak TLS
    import grpc

    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    channel = grpc.insecure_channel(target)
    try:
        grpc.channel_ready_future(channel).result(timeout=max(deadline - time.monotonic(), 0.1))
    except grpc.FutureTimeoutError as e:
        raise BackendUnavailableError(
            f"{where} accepts connections but no gRPC channel within {timeout:g} s; "
            f"is it a Spark Connect server? (--spark-remote, [spark] remote)"
        ) from e
    finally:
        channel.close()


class SparkBackend(Backend):
    """Ibis on a SparkSession started by this process (the driver).

    Parameters
    ----------
    master
        ``local[N]``, ``local[*]`` or ``spark://host:port``; None: ``local[*]``,
        unless ``remote`` is given.
    app_name
        The application name shown by the master.
    conf
        Extra settings; they override the defaults file.
    defaults_file
        The engine settings (``spark-defaults.conf``).
    s3
        Where ``s3://`` paths live, for the driver's own inspection of raw files
        and commits; Spark itself reads and writes them as ``s3a://`` with the
        ``spark.hadoop.fs.s3a.*`` settings of ``conf``.
    master_timeout
        Seconds a ``spark://`` master or a Spark Connect server has to accept a
        connection before the session starts (Spark itself would retry for a
        minute or more before giving up).
    remote
        ``sc://host:port``: a Spark Connect session on that server instead of a
        driver in this process; exclusive with ``master``. Nothing on this path
        needs Java.

    Raises
    ------
    ConfigurationError
        When both ``master`` and ``remote`` are given, or a URL is malformed.
    BackendUnavailableError
        When Java, the master or the Connect server is missing.
    """

    name = "spark"
    master: str | None = None
    """The classic master URL; None over Spark Connect."""
    remote: str | None = None
    """The Spark Connect URL; None in classic mode."""

    def __init__(
        self,
        master: str | None = None,
        app_name: str = "ufo-etl",
        conf: Mapping[str, Any] | None = None,
        defaults_file: Path = DEFAULTS_FILE,
        s3: S3Settings | None = None,
        master_timeout: float = 10.0,
        remote: str | None = None,
    ) -> None:
        self.s3 = s3
        if master and remote:
            raise ConfigurationError(
                f"[spark] master ({master}) and remote (sc://...) are exclusive: "
                f"set one (--spark-master or --spark-remote)"
            )
        settings = {**read_defaults(defaults_file), **{k: str(v) for k, v in (conf or {}).items()}}
        if remote:
            self._connect_remote(remote, app_name, settings, set(conf or {}), master_timeout)
            return
        master = master or DEFAULT_MASTER
        if _ConnectMode.sessions():
            raise ConfigurationError(
                f"cannot start a classic Spark driver ({master}) while this process has "
                f"a Spark Connect session open: pyspark's functions are Connect ones then"
            )
        if os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None) is not None:
            # Inherited from a parent process that had a Connect session open:
            # pyspark would build a Connect session instead of this driver.
            log.info("SPARK_CONNECT_MODE_ENABLED was set without a Connect session: removed")
        check_java()
        check_spark_master(master, master_timeout)
        # Executors on this machine must run this interpreter (same pyspark, same ibis).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            self.session = builder.getOrCreate()
        except Exception as e:
            raise BackendUnavailableError(f"cannot start Spark with master {master}: {e}") from e
        self.session.sparkContext.setLogLevel("WARN")
        self.con = ibis.pyspark.connect(self.session)
        self.master = master

    def _connect_remote(
        self,
        remote: str,
        app_name: str,
        settings: Mapping[str, str],
        user_keys: set[str],
        timeout: float,
    ) -> None:
        """Open a Spark Connect session on ``remote`` and apply the runtime settings.

        A setting the server refuses to change (a static or JVM one) is fine when
        the server already has the value; otherwise an engine default is logged
        (the server should have been started with it) and a ``[spark] conf``
        entry is a :class:`ConfigurationError`. The session time zone must end
        up UTC.
        """
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession

        check_spark_remote(remote, timeout)
        host, port = remote_address(remote)
        self.remote = f"sc://{host}:{port}"
        _ConnectMode.enter()
        self._remote_open = True
        try:
            # create(), not getOrCreate(): getOrCreate hands back the process's
            # default session whatever its URL.
            self.session = SparkSession.builder.remote(remote).appName(app_name).create()
            for key, value in settings.items():
                try:
                    self.session.conf.set(key, value)
                except PySparkException as e:
                    current = self.session.conf.get(key, None)
                    if _satisfied(key, value, current):
                        continue
                    if key in user_keys:
                        raise ConfigurationError(
                            f"[spark] conf {key} cannot be set over Spark Connect "
                            f"({type(e).__name__}); set it when starting the server"
                        ) from e
                    log.info(
                        "the Spark Connect server %s keeps its own %s (ufo-etl's default: %s); "
                        "set it when starting the server",
                        self.remote,
                        key,
                        value,
                    )
            zone = self.session.conf.get("spark.sql.session.timeZone", None)
        except ConfigurationError:
            self._close_remote()
            raise
        except Exception as e:
            self._close_remote()
            raise BackendUnavailableError(
                f"cannot open a Spark Connect session on {self.remote}: "
                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
            ) from e
        if zone != "UTC":
            self._close_remote()
            raise BackendUnavailableError(
                f"the Spark Connect session on {self.remote} has the time zone {zone}; "
                f"ufo-etl needs UTC (spark.sql.session.timeZone)"
            )
        self.con = ibis.pyspark.connect(self.session)
        log.info("Spark Connect session on %s (server Spark %s)", self.remote, self.con.version)

    def _close_remote(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            with contextlib.suppress(Exception):
                session.stop()
        if getattr(self, "_remote_open", False):
            self._remote_open = False
            _ConnectMode.leave()

    def _view(self, frame: Any) -> ir.Table:
        name = f"ufo_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(name)
        return self.con.table(name)

    def _read_tsv(self, files: Sequence[RawFile]) -> ir.Table:
        from pyspark.sql import functions as F  # noqa: N812

        frames = []
        for file in files:
            lines = self.session.read.text(_hadoop_path(file.path))
            # Empty lines are not records; the file's own header is not either.
            # Hadoop's line reader drops a UTF-8 BOM at the start of a file; Sail's
            # keeps it on the first line, so the header may come with one. (A BOM
            # and header in the middle of a file, a record, would be dropped too:
            # the reconciliation then fails the run.)
            headers = [file.header_line, "\ufeff" + file.header_line]
            lines = lines.filter((F.col("value") != "") & ~F.col("value").isin(headers))
            frames.append(lines.withColumn("source_file", F.lit(file.path)))
        lines = functools.reduce(lambda a, b: a.unionByName(b), frames)
        # The lines identical to a file's header were all filtered out; put back
        # every copy but the header itself (they are indistinguishable).
        copies = [(f.header_line, f.path) for f in files for _ in range(f.header_copies)]
        if copies:
            lines = lines.unionByName(
                self.session.createDataFrame(copies, "value string, source_file string")
            )
        # Split once: the fields array is a column of its own that each field reads.
        split = lines.select("source_file", "value", F.split("value", "\t", -1).alias("fields"))
        field_count = F.size("fields")
        records = split.select(
            F.col("source_file"),
            field_count.cast("int").alias("field_count"),
            *[F.get("fields", i).alias(name) for i, name in enumerate(RAW_FIELDS)],
            F.when(field_count != len(RAW_FIELDS), F.col("value")).alias("raw_line"),
        )
        return self._view(records)

    def _inspect(self, paths: Sequence[str], raw_format: str) -> list[RawFile | str]:
        """Inspect each raw file in an executor task of its own: the driver only
        lists the paths and collects what each task found (a few numbers and the
        header, or the error's message), one row per file.

        A range of file numbers (:func:`_file_tasks`) and ``mapInArrow``, not an
        RDD: the same code runs in classic mode and over Spark Connect, which has
        no SparkContext."""
        s3 = self._executor_s3()

        paths = list(paths)

        def inspect(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for index in batch.column("id").to_pylist():
                    fact = _rawfiles.inspect_path(paths[index], raw_format, s3)
                    yield _inspection_batch(index, fact)

        rows = _file_tasks(self.session, len(paths)).mapInArrow(inspect, _INSPECTION_DDL).collect()
        facts = sorted((row.asDict() for row in rows), key=lambda r: int(r["file_index"]))
        return [_inspection_fact(fact) for fact in facts]

    def _executor_s3(self) -> S3Settings | None:
        """The S3 settings for executor tasks, resolved here: executors need not
        share the driver's environment."""
        return None if self.s3 is None else self.s3.resolved()

    def _read_csv(self, files: Sequence[RawFile]) -> ir.Table:
        """Each RFC 4180 file is parsed, while it streams, by an executor task of
        its own (:func:`~backends._rawfiles.csv_record_batches`), which hands Spark
        Arrow batches: the driver only sends the paths.

        Spark's own CSV reader is not used: with ``multiLine`` it turns a CRLF
        inside a quoted field into LF, changing the data."""
        s3 = self._executor_s3()

        paths = [f.path for f in files]

        def read(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for index in batch.column("id").to_pylist():
                    yield from _rawfiles.csv_record_batches(paths[index], s3)

        frame = _file_tasks(self.session, len(paths)).mapInArrow(read, _RAW_RECORDS_DDL)
        return self._view(frame)

    def materialize(self, table: ir.Table) -> ir.Table:
        """As :meth:`Backend.materialize`, computed now rather than at its first
        use: Spark then knows the table's real size, and a small one is
        broadcast to the tasks that join with it (planned before, its size is
        estimated from the raw files, and both sides of the join get shuffled).

        Classic mode persists on the executors' local disks and counts. The
        table may be as large as the raw records (the distinct records are): a
        cache in memory, which Spark unrolls there before it spills, can run a
        small driver's heap out (``docs/benchmarks.md`` has the measurements).
        Over Spark Connect, an eager
        local checkpoint: Ibis's ``cache()`` asserts that the frame then reports
        itself cached, which a Connect server need not (Spark's does not for a
        frame of SQL), and Sail's persist is a no-op, which would leave every
        later query with the whole plan to optimize again. A server that refuses
        checkpoints (Sail without ``SAIL_EXECUTION__CHECKPOINT__PATH``) gets a
        cache, which it may ignore."""
        self.con._run_pre_execute_hooks(table)
        frame = self.session.sql(self.con.compile(table))
        if self.remote is None:
            from pyspark import StorageLevel

            frame = frame.persist(StorageLevel.DISK_ONLY)
            frame.count()
        else:
            from pyspark.errors import PySparkException

            try:
                frame = frame.localCheckpoint(eager=True)
            except PySparkException as e:
                log.warning(
                    "the Spark Connect server %s cannot checkpoint (%s); caching instead",
                    self.remote,
                    str(e).splitlines()[0],
                )
                frame = frame.cache()
        cached = self._view(frame)
        declared = table.schema()
        return cached if cached.schema() == declared else cached.cast(declared)

    def from_arrow(self, tables: Sequence[Any]) -> ir.Table:
        table = pa.concat_tables(tables) if tables else RAW_RECORDS_SCHEMA.empty_table()
        # No empty record batch: pyspark 4.0's createDataFrame drops every batch
        # that follows an empty one (a header-only CSV file lost the records of
        # the files after it).
        batches = [batch for batch in table.to_batches() if batch.num_rows]
        table = pa.Table.from_batches(batches, schema=table.schema)
        return self._view(self.session.createDataFrame(table))

    def _read_parquet(self, uris: Sequence[str]) -> ir.Table:
        return self._view(self.session.read.parquet(*[_hadoop_path(u) for u in uris]))

    def _write_parquet(self, table: ir.Table, staging_uri: str) -> None:
        from ibis.backends.pyspark.datatypes import PySparkType
        from pyspark.sql import functions as F  # noqa: N812
        from pyspark.sql.types import StructField, StructType, TimestampNTZType

        # What Ibis's own to_parquet runs first: in-memory tables (ibis.memtable,
        # e.g. a lookup table a transform joins) and UDFs get registered.
        self.con._run_pre_execute_hooks(table)
        frame = self.session.sql(self.con.compile(table))
        # Write the types Ibis declares (Spark's row_number() is int, Ibis says
        # int64), every column nullable as on DuckDB. Timestamps are wall-clock
        # values (Parquet isAdjustedToUTC=false): TIMESTAMP_NTZ; the session time
        # zone is UTC, so the cast keeps the value.
        fields = []
        for name, dtype in table.schema().items():
            spark_type = (
                TimestampNTZType() if dtype.is_timestamp() else PySparkType.from_ibis(dtype)
            )
            fields.append(StructField(name, spark_type, nullable=True))
        schema = StructType(fields)
        frame = frame.select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
        frame.to(schema).write.mode("error").parquet(_hadoop_path(staging_uri))
        self._write_empty_part_if_none(table, staging_uri)

    def _write_empty_part_if_none(self, table: ir.Table, staging_uri: str) -> None:
        """Spark writes a file with the schema and no row for an empty table; Sail
        writes nothing, not even the directory. The dataset still gets one, as on
        Spark and DuckDB, so that its readers see its columns."""
        from backends import _storage

        fs, path = _storage.filesystem(staging_uri, self.s3)
        if fs.get_file_info(path).type != pafs.FileType.NotFound:
            return
        fs.create_dir(path, recursive=True)
        empty = table.schema().to_pyarrow().empty_table()
        empty = empty.cast(
            pa.schema(
                [
                    pa.field(f.name, pa.timestamp("us"))
                    if pa.types.is_timestamp(f.type)
                    else f.with_nullable(True)
                    for f in empty.schema
                ]
            )
        )
        log.debug("the engine wrote no file for an empty table: %s gets an empty one", staging_uri)
        pq.write_table(empty, f"{path}/part-00000-empty.parquet", filesystem=fs)

    @contextlib.contextmanager
    def watch_progress(self, report: Callable[[float, str], None]) -> Iterator[None]:
        """Report the tasks completed in the active Spark stages, every second.

        Over Spark Connect there is no status tracker: the server streams the
        progress of each query (its stages and tasks) to the session's progress
        handler, reported here as it comes; a server that sends none (Sail)
        leaves the one message said at the start."""
        if self.remote is not None:
            with self._watch_remote_progress(report):
                yield
            return
        tracker = self.session.sparkContext.statusTracker()
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(1.0):
                infos = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
                stages = [s for s in infos if s is not None and s.numTasks]
                if stages:
                    done = sum(s.numCompletedTasks for s in stages)
                    total = sum(s.numTasks for s in stages)
                    names = ", ".join(str(s.stageId) for s in stages)
                    report(done / total, f"Spark stage {names}: {done}/{total} tasks")

        thread = threading.Thread(target=poll, name="spark-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    @contextlib.contextmanager
    def _watch_remote_progress(self, report: Callable[[float, str], None]) -> Iterator[None]:
        report(
            0.0,
            f"running on the Spark Connect server {self.remote}: "
            f"stage progress only as the server streams it",
        )

        def handler(stages: Iterable[Any] | None = None, done: bool = False, **_: object) -> None:
            active = [s for s in stages or () if s.num_tasks]
            if active and not done:
                completed = sum(s.num_completed_tasks for s in active)
                total = sum(s.num_tasks for s in active)
                names = ", ".join(str(s.stage_id) for s in active)
                report(completed / total, f"Spark stage {names}: {completed}/{total} tasks")

        self.session.registerProgressHandler(handler)
        try:
            yield
        finally:
            self.session.removeProgressHandler(handler)

    def close(self) -> None:
        if self.remote is not None:
            self._close_remote()
            return
        self.session.stop()


_INSPECTION_SCHEMA: Final = pa.schema(
    [
        ("file_index", pa.int32()),
        ("error", pa.string()),
        ("path", pa.string()),
        ("records", pa.int64()),
        ("empty_lines", pa.int64()),
        ("header_line", pa.string()),
        ("header_copies", pa.int64()),
        ("plain_lines", pa.bool_()),
        ("empty_last_field", pa.bool_()),
    ]
)
_INSPECTION_DDL: Final = _spark_ddl(_INSPECTION_SCHEMA)


def _satisfied(key: str, wanted: str, current: str | None) -> bool:
    """Whether a server's setting ``current`` already gives what ``wanted`` asks:
    the same value, or for JVM options every one of ``wanted``'s among them."""
    if current == wanted:
        return True
    if key.endswith(".extraJavaOptions") and current is not None:
        return set(wanted.split()) <= set(current.split())
    return False


def _inspection_batch(index: int, fact: RawFile | str) -> pa.RecordBatch:
    """One inspection as a one-row batch of :data:`_INSPECTION_SCHEMA`."""
    row: dict[str, Any] = {name: None for name in _INSPECTION_SCHEMA.names}
    row["file_index"] = index
    if isinstance(fact, str):
        row["error"] = fact
    else:
        row.update(dataclasses.asdict(fact))
    return pa.RecordBatch.from_pylist([row], schema=_INSPECTION_SCHEMA)


def _inspection_fact(row: Mapping[str, Any]) -> RawFile | str:
    """The inverse of :func:`_inspection_batch`."""
    if row["error"] is not None:
        return str(row["error"])
    fields = {f.name for f in dataclasses.fields(RawFile)}
    return RawFile(**{k: v for k, v in row.items() if k in fields})


def _file_tasks(session: Any, files: int) -> Any:
    """A frame of the numbers ``0 .. files - 1`` (column ``id``), one per
    partition: one executor task per file. ``range`` makes its partitions
    itself, where a frame of the paths needs a shuffle (a stage of its own) to
    spread them; it works in classic mode and over Spark Connect."""
    return session.range(0, files, 1, max(files, 1))


def _hadoop_path(path: str) -> str:
    """A local path or URL as Hadoop reads it: a URL, glob characters escaped."""
    if "://" in path:
        scheme, _, rest = path.partition("://")
        scheme = "s3a" if scheme == "s3" else scheme
    else:
        scheme, rest = "file", os.path.abspath(path)
    return f"{scheme}://" + _HADOOP_GLOB_CHARS.sub(r"\\\1", rest)
