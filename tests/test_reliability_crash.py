"""Reliability, part 2: kill -9 at chosen and at random moments, on local disk and S3,
on DuckDB and Spark; the Spark standalone worker JVM killed mid-job; the PostgreSQL
load killed inside its transaction.

After every kill: nothing incomplete looks complete (a dataset with ``_SUCCESS``
equals the clean run's, the rows it records are the rows its files hold, and no
Parquet file under ``ufo/etl/`` is half-written); the re-run equals a clean run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SPARK_TEST_CONF, TEST_JVM_CONF, TEST_JVM_OPTIONS, free_port
from pg_fixtures import PostgresServer, set_options
from s3_fixtures import BUCKET, S3Server, upload
from servers import spark_standalone_env, wait_until
from test_reliability import DATASETS, RUN_DATE, Recorder

import backends
import etl
import etl.load
import etl.tasks
from backends import SUCCESS, Backend, DatasetLocation, S3Settings, _storage
from backends._storage import filesystem, read_table
from etl.generate import generate

pytestmark = pytest.mark.attack


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Recorder:
    return Recorder(request.node.nodeid)


ROWS = {"duckdb": 200_000, "spark": 50_000}
"""Raw records per engine: enough for writes to take a moment."""

# A Luigi run whose worker kills itself and its Spark JVM (SIGKILL to its process
# group) at a chosen moment of one dataset's write, given as
# UFO_RELIABILITY_KILL=<moment>:<dataset>:
#   first_part     as soon as a Parquet part file appears in the dataset's staging
#                  directory (a watcher thread): the engine is still writing;
#   before_commit  after every part is written, before the commit (the project's
#                  seam, backends._storage.BEFORE_COMMIT: the worker process only);
#   before_marker  inside the commit, after the parts are in place (moved locally,
#                  copied on S3), just before _SUCCESS is written.
KILL_DRIVER = r"""
import os, signal, sys, threading, time

moment, _, dataset = os.environ["UFO_RELIABILITY_KILL"].partition(":")


def die():
    # The whole process group: this worker and, on Spark, its JVM, at once.
    os.killpg(0, signal.SIGKILL)


if moment == "first_part":
    import pyarrow.fs as pafs
    from backends._storage import filesystem

    def watch():
        fs, path = filesystem(os.environ["UFO_RELIABILITY_STAGING"])
        pause = 0.01 if "://" in os.environ["UFO_RELIABILITY_STAGING"] else 0.001
        while True:
            try:
                infos = fs.get_file_info(pafs.FileSelector(path, recursive=True,
                                                           allow_not_found=True))
            except OSError:
                infos = []
            if any(i.is_file and i.base_name.endswith(".parquet") for i in infos):
                die()
            time.sleep(pause)

    threading.Thread(target=watch, daemon=True).start()
elif moment == "before_commit":
    import backends._storage as storage

    storage.BEFORE_COMMIT.append(lambda location: die() if location.dataset == dataset else None)
elif moment == "before_marker":
    import backends._storage as storage

    real_commit, real_filesystem = storage.commit, storage.filesystem

    class KillAtMarker:
        def __init__(self, fs):
            self._fs = fs

        def __getattr__(self, name):
            return getattr(self._fs, name)

        def open_output_stream(self, path, *args, **kwargs):
            if path.endswith("/_SUCCESS"):
                die()
            return self._fs.open_output_stream(path, *args, **kwargs)

    def commit(staging_uri, location, *args, **kwargs):
        if location.dataset != dataset:
            return real_commit(staging_uri, location, *args, **kwargs)

        def killing_filesystem(uri, s3=None):
            fs, path = real_filesystem(uri, s3)
            return KillAtMarker(fs), path

        storage.filesystem = killing_filesystem
        try:
            return real_commit(staging_uri, location, *args, **kwargs)
        finally:
            storage.filesystem = real_filesystem

    storage.commit = commit
else:
    raise SystemExit(f"unknown kill moment {moment!r}")

from luigi.cmdline import luigi_run

luigi_run(sys.argv[1:])
"""


# --------------------------------------------------------------------------------------
# Running the pipeline as a separate process, and killing it
# --------------------------------------------------------------------------------------


@dataclass
class Storage:
    """Where a crash test reads raw files and writes datasets."""

    kind: str  # "local" or "s3"
    raw_path: str
    data_root: str
    s3: S3Settings | None
    env: dict[str, str]
    spark_conf: dict[str, str]

    def location(self, dataset: str) -> DatasetLocation:
        return DatasetLocation(self.data_root, dataset, RUN_DATE, self.s3)


def pipeline_command(
    engine: str, storage: Storage, *, driver: bool, task: str = "UFOPipeline"
) -> list[str]:
    start = [sys.executable, "-c", KILL_DRIVER] if driver else [sys.executable, "-m", "luigi"]
    args = ["--module", "etl", task, "--local-scheduler", "--date", RUN_DATE.isoformat(),
            "--etl-raw-path", storage.raw_path, "--etl-data-root", storage.data_root]  # fmt: skip
    if engine == "spark":
        args += ["--etl-backend", "spark", "--spark-master", "local[2]",
                 "--spark-conf", json.dumps({**SPARK_TEST_CONF, **storage.spark_conf})]  # fmt: skip
    return [*start, *args]


def start(command: list[str], storage: Storage, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """The command in a new session (its own process group: Spark's JVM included),
    in a scratch directory, with the project's luigi.cfg and no PostgreSQL settings
    but the storage's; output to ``log``."""
    work = log.parent / f"{log.stem}-cwd"
    work.mkdir(exist_ok=True)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**inherited, "LUIGI_CONFIG_PATH": str(ROOT / "luigi.cfg"), **storage.env, **env},
        )


def reap(process: subprocess.Popen[bytes], timeout: float = 900) -> int:
    """Wait for ``process``, then for the rest of its process group (an orphaned
    Spark JVM exits when its Python driver dies), killing stragglers after 60 s."""
    try:
        code = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return code


def running_task(log: Path) -> str:
    """The task the log says was running last (or "between tasks")."""
    running: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if match := re.search(r"\) (running|done) +(\w+)\(", line):
            state, task = match.groups()
            if state == "running":
                running.append(task)
            elif task in running:
                running.remove(task)
    return running[-1] if running else "between tasks"


# --------------------------------------------------------------------------------------
# What a crash may and may not leave
# --------------------------------------------------------------------------------------


def _normalised(table: pa.Table) -> pa.Table:
    """The rows sorted, with ``source_file`` reduced to the file name (local and S3
    runs read the same files under different names), every column nullable."""
    if "source_file" in table.column_names:
        names = pc.replace_substring_regex(table["source_file"], r"^.*/", "")
        table = table.set_column(table.column_names.index("source_file"), "source_file", names)
    # Spark declares counts "not null", DuckDB does not: compare values, not that.
    table = table.cast(pa.schema([field.with_nullable(True) for field in table.schema]))
    keys = [(name, "ascending", "at_start") for name in sorted(table.column_names)]
    return table.sort_by(keys).combine_chunks()


Tables = dict[str, pa.Table]


def read_all(storage: Storage) -> Tables:
    return {name: _normalised(read_table(storage.location(name))) for name in DATASETS}


def assert_nothing_incomplete_looks_complete(storage: Storage, clean: Tables) -> list[str]:
    """Check what a killed run left; return the datasets that are complete."""
    complete = []
    for name in DATASETS:
        location = storage.location(name)
        fs, path = filesystem(f"{location.root}/ufo/etl/{name}", storage.s3)
        selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
        for info in fs.get_file_info(selector):
            if info.is_file and info.base_name.endswith(".parquet"):
                # A reader globbing ufo/etl/** never meets a half-written file.
                pq.read_metadata(info.path, filesystem=fs)
        if location.exists():
            # Complete means: the rows _SUCCESS records are in its files
            # (read_table checks), and they are the clean run's rows.
            assert _normalised(read_table(location)).equals(clean[name]), name
            complete.append(name)
    # Every other marker under ufo/ (the report) lists files that exist.
    fs, path = filesystem(f"{storage.location('sightings').root}/ufo", storage.s3)
    for info in fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True)):
        if info.base_name == SUCCESS and "/ufo/etl/" not in info.path:
            with fs.open_input_stream(info.path) as marker:
                summary = json.loads(marker.read() or b"{}")
            folder = info.path.rsplit("/", 1)[0]
            for listed in summary.get("files", []):
                assert fs.get_file_info(f"{folder}/{listed}").is_file, (info.path, listed)
    return complete


def rows_lost(storage: Storage, clean: Tables) -> int:
    """Rows of the clean run missing from the re-run's datasets, or extra in them."""
    lost = 0
    for name, table in read_all(storage).items():
        if not table.equals(clean[name]):
            got = {repr(row) for row in table.to_pylist()}
            want = {repr(row) for row in clean[name].to_pylist()}
            lost += len(got ^ want) + abs(table.num_rows - clean[name].num_rows)
    return lost


# --------------------------------------------------------------------------------------
# Fixtures: the input, the clean run, local and S3 storage
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_file(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp(f"crash-raw-{backend.name}") / "raw.tsv"
    generate(ROWS[backend.name], path, seed=51)
    return path


@pytest.fixture(scope="module")
def clean(backend: Backend, raw_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Tables:
    """The datasets of a clean, uninterrupted run (in this process, same engine)."""
    data_root = tmp_path_factory.mktemp(f"crash-clean-{backend.name}")
    settings = {"raw_path": str(raw_file), "raw_format": "tsv", "data_root": str(data_root)}
    with pytest.MonkeyPatch.context() as patch, set_options("etl", settings):
        patch.setattr(etl.tasks, "current_backend", lambda: backend)
        assert luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
    storage = Storage("local", str(raw_file), str(data_root), None, {}, {})
    return read_all(storage)


@pytest.fixture
def local(raw_file: Path, tmp_path: Path) -> Storage:
    return Storage("local", str(raw_file), str(tmp_path / "out"), None, {}, {})


@pytest.fixture
def on_s3(backend: Backend, s3_server: S3Server, raw_file: Path, tmp_path: Path) -> Storage:
    prefix = f"{BUCKET}/crash-{tmp_path.name[-24:].lower().replace('_', '-')}"
    raw_url = upload(s3_server, raw_file, f"{prefix}/raw/raw.tsv")
    spark_conf: dict[str, str] = {}
    if backend.name == "spark":
        from test_s3 import s3a_conf

        spark_conf = s3a_conf(s3_server)
    return Storage(
        "s3", raw_url, f"s3://{prefix}/out", s3_server.settings, s3_server.environment(),
        spark_conf,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# kill -9 at chosen moments
# --------------------------------------------------------------------------------------

# (moment, dataset) in order: each run resumes what the previous kills left. Every
# kind of task is hit: ReadUFOs (its first and its second output, and a sightings
# that replaces a complete one), an aggregate, a top 10.
CHOSEN = {
    ("duckdb", "local"): [
        ("first_part", "sightings"), ("before_commit", "sightings"),
        ("before_marker", "rejects"), ("before_marker", "sightings"),
        ("before_commit", "rejects"), ("before_commit", "by_month"),
        ("before_marker", "by_state"), ("before_commit", "top10_states"),
        ("before_marker", "top10_shapes"),
    ],
    ("duckdb", "s3"): [
        ("first_part", "sightings"), ("before_marker", "rejects"),
        ("before_marker", "sightings"), ("before_commit", "by_shape"),
        ("before_marker", "top10_states"),
    ],
    ("spark", "local"): [
        ("first_part", "sightings"), ("before_marker", "rejects"),
        ("before_marker", "sightings"), ("before_commit", "by_state"),
        ("before_marker", "top10_shapes"),
    ],
    ("spark", "s3"): [("first_part", "sightings"), ("before_marker", "by_month")],
}  # fmt: skip


def run_chosen_kills(
    engine: str,
    storage: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    kills = CHOSEN[(engine, storage.kind)]
    for number, (moment, dataset) in enumerate(kills):
        log = tmp_path / f"kill-{number}-{moment}-{dataset}.log"
        staging = f"{storage.location(dataset).root}/ufo/_staging/{dataset}"
        # The task that writes the dataset is the one asked for: it (and what it
        # needs) runs, whatever order Luigi picks for independent tasks.
        task_class = etl.tasks.DATASET_TASKS[dataset]
        outputs = [d for d, t in etl.tasks.DATASET_TASKS.items() if t is task_class]
        assert not all(storage.location(d).exists() for d in outputs), (moment, dataset)
        task = task_class.__name__
        process = start(
            pipeline_command(engine, storage, driver=True, task=task), storage, log,
            UFO_RELIABILITY_KILL=f"{moment}:{dataset}", UFO_RELIABILITY_STAGING=staging,
        )  # fmt: skip
        code = reap(process)
        assert code == -signal.SIGKILL, (moment, dataset, log.read_text()[-3000:])
        assert not storage.location(dataset).exists(), (moment, dataset)
        complete = assert_nothing_incomplete_looks_complete(storage, clean)
        fs, final = filesystem(storage.location(dataset).uri, storage.s3)
        if moment == "before_marker":
            # The parts were in place, the marker never came.
            parts = fs.get_file_info(pafs.FileSelector(final, allow_not_found=True))
            assert any(p.base_name.endswith(".parquet") for p in parts), (moment, dataset)
        else:
            fs, path = filesystem(staging, storage.s3)
            left = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
            assert any(i.base_name.endswith(".parquet") for i in left), (moment, dataset)
        print(f"kill {moment}:{dataset}: complete afterwards {complete}")

    rerun = tmp_path / "rerun.log"
    assert reap(start(pipeline_command(engine, storage, driver=False), storage, rerun)) == 0, (
        rerun.read_text()[-3000:]
    )
    assert assert_nothing_incomplete_looks_complete(storage, clean) == list(DATASETS)
    lost = rows_lost(storage, clean)
    assert lost == 0
    moments = sorted({m for m, _ in kills})
    reliability.record(
        f"kill_chosen_{storage.kind}",
        engine,
        f"{len(kills)} kills ({', '.join(moments)}) over "
        f"{', '.join(sorted({d for _, d in kills}))}: nothing incomplete looked complete; "
        "the re-run equals a clean run",
        faults=len(kills),
        rows_lost=lost,
        raw_records=ROWS[engine],
    )


def test_kill_at_chosen_moments_local(
    backend: Backend,
    local: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    run_chosen_kills(backend.name, local, clean, tmp_path, reliability)


def test_kill_at_chosen_moments_s3(
    backend: Backend,
    on_s3: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    run_chosen_kills(backend.name, on_s3, clean, tmp_path, reliability)


# --------------------------------------------------------------------------------------
# kill -9 at random moments
# --------------------------------------------------------------------------------------

RANDOM_KILLS = {("duckdb", "local"): 5, ("duckdb", "s3"): 3, ("spark", "local"): 2,
                ("spark", "s3"): 1}  # fmt: skip
KILL_WINDOW = {"duckdb": (0.5, 8.0), "spark": (5.0, 20.0)}
"""Seconds after the start (narrowed when a run ends before its kill). A Spark run
from nothing takes 20-30 s with the tests' JVMs: a later kill would mostly find it
finished, a wasted run."""


def run_random_kills(
    engine: str,
    storage: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    rng = random.Random(f"ufo-etl-{engine}-{storage.kind}")
    wanted = RANDOM_KILLS[(engine, storage.kind)]
    low, high = KILL_WINDOW[engine]
    seen: list[str] = []
    fresh = True  # the next run starts from nothing
    for attempt in range(3 * wanted):
        if len(seen) == wanted:
            break
        delay = round(rng.uniform(low, high), 2)
        log = tmp_path / f"random-{attempt}.log"
        started = time.monotonic()
        process = start(pipeline_command(engine, storage, driver=False), storage, log)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=delay)
        if process.poll() is None:
            during = running_task(log)
            os.killpg(process.pid, signal.SIGKILL)  # the worker and its Spark JVM
            seen.append(f"{delay} s ({during})")
            reap(process)
            assert_nothing_incomplete_looks_complete(storage, clean)
            fresh = False
        else:
            # The run finished first: start again from nothing (and if it had started
            # from nothing, kill earlier from now on).
            assert reap(process) == 0, log.read_text()[-3000:]
            if fresh:
                high = max(low + 1.0, min(high, 0.95 * (time.monotonic() - started)))
            _storage.remove_tree(storage.data_root, storage.s3)
            fresh = True
    assert len(seen) == wanted, seen

    rerun = tmp_path / "rerun.log"
    assert reap(start(pipeline_command(engine, storage, driver=False), storage, rerun)) == 0, (
        rerun.read_text()[-3000:]
    )
    assert assert_nothing_incomplete_looks_complete(storage, clean) == list(DATASETS)
    lost = rows_lost(storage, clean)
    assert lost == 0
    reliability.record(
        f"kill_random_{storage.kind}",
        engine,
        f"{wanted} kill{'s' * (wanted > 1)}, at {', '.join(seen)}: nothing incomplete "
        "looked complete; "
        "the re-run equals a clean run",
        faults=wanted,
        rows_lost=lost,
    )


def test_kill_at_random_moments_local(
    backend: Backend,
    local: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    run_random_kills(backend.name, local, clean, tmp_path, reliability)


def test_kill_at_random_moments_s3(
    backend: Backend,
    on_s3: Storage,
    clean: Tables,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    run_random_kills(backend.name, on_s3, clean, tmp_path, reliability)


# --------------------------------------------------------------------------------------
# kill -9 of the PostgreSQL load inside its transaction
# --------------------------------------------------------------------------------------

LOAD_DATE = dt.date(2024, 5, 17)


def _rows(pg: PostgresServer) -> list[tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute(
            "SELECT rank, state, sightings FROM top10_states WHERE date = %s ORDER BY rank",
            (LOAD_DATE,),
        ).fetchall()


LOAD_MARKER_KEY = f"top10_states date={LOAD_DATE.isoformat()}"


def _marker(pg: PostgresServer) -> Any:
    """The load markers of LOAD_DATE in Luigi's marker table."""
    with pg.connect() as conn:
        return conn.execute(
            "SELECT update_id FROM table_updates WHERE target_table = %s", (LOAD_MARKER_KEY,)
        ).fetchone()


def test_a_killed_load_leaves_the_old_rows(
    pg: PostgresServer, tmp_path: Path, reliability: Recorder
) -> None:
    # The dataset to load, and an older load of the same date in the table.
    data_root = tmp_path / "out"
    engine = backends.connect("duckdb")
    raw = tmp_path / "raw.tsv"
    generate(5_000, raw, seed=61)
    settings = {"raw_path": str(raw), "raw_format": "tsv", "data_root": str(data_root)}
    try:
        with pytest.MonkeyPatch.context() as patch, set_options("etl", settings):
            patch.setattr(etl.tasks, "current_backend", lambda: engine)
            assert luigi.build([etl.Top10States(date=LOAD_DATE)], local_scheduler=True)
    finally:
        engine.close()
    new_rows = sorted(
        (r["rank"], r["state"], r["sightings"])
        for r in read_table(DatasetLocation(str(data_root), "top10_states", LOAD_DATE)).to_pylist()
    )
    old_rows = [(rank, f"S{rank}", 1000 + rank) for rank in range(1, 11)]
    # The task the subprocess runs: the same identity, so the same marker row.
    load = etl.TopStatesToDatabase(
        date=LOAD_DATE, data_root=str(data_root), raw_path=str(raw), raw_format="tsv"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.load.TopStatesToDatabase, "read_rows", lambda self: old_rows)
        load.run()
    assert _rows(pg) == old_rows and _marker(pg) == (load.update_id,)
    with pg.connect() as conn:  # the marker goes: the date must be loaded again
        conn.execute("DELETE FROM table_updates WHERE update_id = %s", (load.update_id,))
    assert not load.complete()

    env = {"PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": pg.password}  # fmt: skip
    storage = Storage("local", str(raw), str(data_root), None, env, {})
    command = [sys.executable, "-m", "luigi", "--module", "etl", "TopStatesToDatabase",
               "--local-scheduler", "--date", LOAD_DATE.isoformat(),
               "--etl-data-root", str(data_root), "--etl-raw-path", str(raw),
               "--etl-raw-format", "tsv"]  # fmt: skip

    # The load's marker row, inserted and not committed: the load deletes the old
    # rows, COPYs the new ones, then waits on this row in its last statement (the
    # marker's INSERT, in CopyToTable's one transaction).
    blocker = pg.connect()
    blocker.execute(
        "INSERT INTO table_updates (update_id, target_table) VALUES (%s, %s)",
        (load.update_id, LOAD_MARKER_KEY),
    )
    log = tmp_path / "load.log"
    process = start(command, storage, log)
    try:
        deadline = time.monotonic() + 120
        waiting = None
        while waiting is None:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the load never reached its last statement"
            with pg.connect(autocommit=True) as conn:
                waiting = conn.execute(
                    "SELECT a.pid FROM pg_stat_activity a"
                    " WHERE a.application_name = 'ufo-etl' AND a.wait_event_type = 'Lock'"
                    " AND a.query ILIKE 'INSERT INTO table_updates %%'"
                    " AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    "   WHERE l.pid = a.pid AND c.relname = 'top10_states'"
                    "   AND l.mode = 'RowExclusiveLock' AND l.granted)"
                ).fetchone()
            time.sleep(0.1)
        # Mid-transaction: the old rows are deleted and the new ones copied, in
        # the load's uncommitted transaction; everyone else still sees the old rows.
        assert _rows(pg) == old_rows
        os.killpg(process.pid, signal.SIGKILL)
        assert reap(process) == -signal.SIGKILL
    finally:
        blocker.rollback()
        blocker.close()
    backend_pid = waiting[0]
    deadline = time.monotonic() + 60
    while True:
        with pg.connect(autocommit=True) as conn:
            alive = conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
        if not alive:
            break
        assert time.monotonic() < deadline, "the killed load's server process lingers"
        time.sleep(0.2)
    assert _rows(pg) == old_rows, "a killed load changed the table"
    assert _marker(pg) is None

    # The next run loads the new rows.
    rerun = tmp_path / "rerun.log"
    assert reap(start(command, storage, rerun)) == 0, rerun.read_text()[-3000:]
    assert _rows(pg) == new_rows != old_rows
    assert _marker(pg) == (load.update_id,)
    assert load.complete()
    reliability.record(
        "kill_pg_load",
        "any",
        "killed after its DELETE and COPY, before COMMIT: the table kept the 10 old rows "
        "(readers saw them throughout), no marker; the re-run loaded the 10 new rows",
        faults=1,
        rows_lost=0,
    )


# --------------------------------------------------------------------------------------
# kill -9 of the Spark standalone worker JVM mid-job
# --------------------------------------------------------------------------------------


@dataclass
class Cluster:
    url: str
    ui_url: str
    work: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]

    def state(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            return dict(json.load(response))

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A worker in its own process group (it and its executors: one machine)."""
        with open(self.work / f"{name}.log", "wb") as log:
            worker = subprocess.Popen(
                [self.env["SPARK_CLASS"], "org.apache.spark.deploy.worker.Worker", self.url,
                 "--host", "127.0.0.1", "--webui-port", str(free_port()), "--cores", "2",
                 "--memory", "3g", "--work-dir", str(self.work / name)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append(worker)
        return worker

    def wait_for_workers(self, alive: int, timeout: float = 180) -> None:
        def enough() -> bool:
            workers = self.state().get("workers", [])
            return sum(w.get("state") == "ALIVE" for w in workers) >= alive

        wait_until(enough, what=f"{alive} live Spark worker(s) (see {self.work})", timeout=timeout)


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A master and a worker of this test's own (conftest's spark_cluster is shared
    by other tests, and this one kills its worker)."""
    work = tmp_path / "cluster"
    work.mkdir()
    port, ui_port = free_port(), free_port()
    env = spark_standalone_env(work, TEST_JVM_OPTIONS)
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", work, env, [])
    with open(work / "master.log", "wb") as log:
        cluster.processes.append(
            subprocess.Popen(
                [
                    env["SPARK_CLASS"],
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(ui_port),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        cluster.start_worker("worker-1")
        cluster.wait_for_workers(1)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in cluster.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _executor_ran_tasks(work_dir: Path) -> bool:
    """True once an executor of this worker logged that it runs a task."""
    return any(
        "Executor: Running task" in stderr.read_text(errors="replace")
        for stderr in work_dir.glob("app-*/*/stderr")
    )


@pytest.mark.cluster
def test_a_killed_spark_worker_is_replaced_and_the_run_completes(
    own_cluster: Cluster, tmp_path: Path, reliability: Recorder
) -> None:
    raw = tmp_path / "raw.tsv"
    # The worker dies a second after its executor's first task began, whatever the
    # size: enough rows that ReadUFOs outlasts that (tens of seconds on the cluster).
    generate(100_000, raw, seed=71)
    data_root = tmp_path / "spark"
    storage = Storage("local", str(raw), str(data_root), None, {}, {})
    conf = {"spark.ui.enabled": "false", "spark.executor.memory": "1g", "spark.cores.max": "2",
            "spark.driver.host": "127.0.0.1", **TEST_JVM_CONF}  # fmt: skip
    command = [sys.executable, "-m", "luigi", "--module", "etl", "UFOPipeline",
               "--local-scheduler", "--date", RUN_DATE.isoformat(), "--etl-raw-path", str(raw),
               "--etl-data-root", str(data_root), "--etl-backend", "spark",
               "--spark-master", own_cluster.url, "--spark-conf", json.dumps(conf)]  # fmt: skip
    log = tmp_path / "pipeline.log"
    started = time.monotonic()
    process = start(command, storage, log)
    worker = own_cluster.processes[-1]
    try:
        # Wait until the worker's executor runs tasks of ReadUFOs' job, then kill the
        # worker JVM and its executor: the machine is gone, mid-job.
        deadline = started + 300
        while not _executor_ran_tasks(own_cluster.work / "worker-1"):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the job never started on the worker"
            time.sleep(0.2)
        time.sleep(1)
        during = running_task(log)
        assert _descendants(worker.pid), "the worker has no executor"
        os.killpg(worker.pid, signal.SIGKILL)
        killed_at = round(time.monotonic() - started, 1)
        worker.wait()
        own_cluster.start_worker("worker-2")
        # Bounded: the run ends (either way) within 10 minutes.
        code = reap(process, timeout=600)
        elapsed = round(time.monotonic() - started)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = log.read_text(errors="replace")
    workers = own_cluster.state().get("workers", [])
    assert sum(w.get("state") == "ALIVE" for w in workers) == 1
    # The driver lost the executor mid-job; the job went on on the new worker's one.
    assert "Lost executor 0" in text
    assert code != 0 or _executor_ran_tasks(own_cluster.work / "worker-2")
    if code == 0:
        # Completed on the new worker: every dataset equals a DuckDB run's.
        engine = backends.connect("duckdb")
        clean_root = tmp_path / "duckdb"
        settings = {"raw_path": str(raw), "raw_format": "tsv", "data_root": str(clean_root)}
        try:
            with pytest.MonkeyPatch.context() as patch, set_options("etl", settings):
                patch.setattr(etl.tasks, "current_backend", lambda: engine)
                assert luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
        finally:
            engine.close()
        clean = read_all(Storage("local", str(raw), str(clean_root), None, {}, {}))
        assert assert_nothing_incomplete_looks_complete(storage, clean) == list(DATASETS)
        lost = rows_lost(storage, clean)
        assert lost == 0
        outcome = (
            f"worker and executor killed at {killed_at} s, mid-job ({during}), a new worker "
            f"started: the run completed in {elapsed} s on it, equal to DuckDB"
        )
    else:
        # Failed: clearly, and nothing incomplete looks complete.
        assert "Traceback" in text and ("SparkException" in text or "Error" in text)
        assert not DatasetLocation(str(data_root), "sightings", RUN_DATE).exists()
        lost = 0
        outcome = (
            f"worker killed at {killed_at} s, mid-job ({during}): the run failed clearly "
            f"in {elapsed} s"
        )
    assert elapsed < 900
    reliability.record(
        "kill_spark_worker", "spark", outcome, faults=1, rows_lost=lost, exit_code=code
    )
