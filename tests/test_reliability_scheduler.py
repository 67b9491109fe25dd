"""Reliability, part 3: through a real luigid (task history in PostgreSQL).

- Concurrency: two Luigi workers run the same pipeline and date at once, then two
  dates at once: each task runs once (luigid's history says so, and so do the
  workers' logs), and the outputs equal a single worker's.
- Secrets: the PostgreSQL password and the S3 keys, given in the environment as in
  production, appear nowhere: not in the workers' output, luigid's log, its API
  (task list, graph, errors, workers), the task history, the run metrics or the
  datasets; not either when a wrong secret makes a run fail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import luigi
import pyarrow.fs as pafs
import pytest
from conftest import ROOT, SPARK_TEST_CONF
from pg_fixtures import PostgresServer, set_options
from s3_fixtures import BUCKET, S3Server, upload
from test_reliability import DATASETS, Recorder
from test_scheduler import Luigid, _clean_env, luigid  # noqa: F401 - the luigid fixture

import backends
import etl
import etl.tasks
from backends import DatasetLocation
from backends._storage import filesystem, read_table
from etl.generate import generate

pytestmark = pytest.mark.attack

DATE = dt.date(2024, 5, 17)
OTHER_DATE = dt.date(2024, 5, 18)
PIPELINE_TASKS = len(etl.TASKS) + 3
"""The tasks of one UFOPipeline run with PostgreSQL: every dataset task, the
report, the load and the wrapper."""

ENGINES = [
    pytest.param("duckdb", marks=pytest.mark.duckdb, id="duckdb"),
    pytest.param("spark", marks=pytest.mark.spark, id="spark"),
]


def engine_args(engine: str, spark_conf: dict[str, str] | None = None) -> list[str]:
    """The command-line settings of a worker on ``engine``."""
    if engine == "duckdb":
        return []
    conf = {**SPARK_TEST_CONF, **(spark_conf or {})}
    return ["--etl-backend", "spark", "--spark-master", "local[2]",
            "--spark-conf", json.dumps(conf)]  # fmt: skip


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Recorder:
    return Recorder(request.node.nodeid)


def worker_command(luigid_url: str, date: dt.date, *extra: str) -> list[str]:
    port = urllib.parse.urlsplit(luigid_url).port
    return [sys.executable, "-m", "luigi", "--module", "etl", "UFOPipeline",
            "--date", date.isoformat(), "--scheduler-host", "127.0.0.1",
            "--scheduler-port", str(port), *extra]  # fmt: skip


def start_worker(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, env=env
        )


def wait_all(workers: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float) -> list[int]:
    """The workers' exit codes; past ``timeout`` (a kept-alive worker waiting for
    the retry of a failed task, say) every worker is killed and the test fails
    with the end of each log."""
    try:
        return [w.wait(timeout=timeout) for w in workers]
    except subprocess.TimeoutExpired:
        for w in workers:
            w.kill()
            w.wait()
        tails = "\n\n".join(
            f"{log.name}:\n{log.read_text(errors='replace')[-4000:]}" for log in logs
        )
        pytest.fail(f"the workers did not finish within {timeout:.0f} s:\n{tails}")


def ran_tasks(log: Path) -> list[str]:
    """The tasks a worker's log says it ran (``Worker ... running   Task(...)``)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if ") running   " in line:
            found.append(line.split(") running   ", 1)[1].strip())
    return found


def history(pg: PostgresServer) -> dict[str, dict[str, int]]:
    """Events per task id in luigid's history: {task_id: {event: count}}."""
    with pg.connect("luigi_history") as conn:
        rows = conn.execute(
            "SELECT t.task_id, e.event_name, count(*) FROM tasks t"
            " JOIN task_events e ON e.task_id = t.id GROUP BY t.task_id, e.event_name"
        ).fetchall()
    events: dict[str, dict[str, int]] = {}
    for task_id, event, count in rows:
        events.setdefault(task_id, {})[event] = count
    return events


def client_config(tmp_path: Path, pg: PostgresServer, database: str) -> Path:
    """A luigi.cfg for workers: the project's, plus [postgres] without the password."""
    config = tmp_path / "client.cfg"
    config.write_text(
        (ROOT / "luigi.cfg").read_text() + "\n[postgres]\n"
        f"host = {pg.host}\nport = {pg.port}\ndatabase = {database}\nuser = {pg.user}\n"
    )
    return config


def normalised_datasets(data_root: str, date: dt.date, s3: Any = None) -> dict[str, Any]:
    tables = {}
    for name in DATASETS:
        table = read_table(DatasetLocation(data_root, name, date, s3))
        rows = []
        for row in table.to_pylist():
            if "source_file" in row:
                row["source_file"] = row["source_file"].rsplit("/", 1)[-1]
            rows.append(repr(sorted(row.items())))
        tables[name] = sorted(rows)
    return tables


def loaded(pg: PostgresServer, database: str, date: dt.date) -> list[tuple[Any, ...]]:
    with pg.connect(database) as conn:
        return conn.execute(
            "SELECT rank, state, sightings FROM top10_states WHERE date = %s ORDER BY rank",
            (date,),
        ).fetchall()


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrency") / "raw.tsv"
    generate(30_000, path, seed=81)
    return path


@pytest.fixture(scope="module")
def single_worker(raw_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The datasets of one worker alone (in this process, DuckDB)."""
    data_root = tmp_path_factory.mktemp("single-worker")
    engine = backends.connect("duckdb")
    settings = {"raw_path": str(raw_file), "raw_format": "tsv", "data_root": str(data_root)}
    try:
        with pytest.MonkeyPatch.context() as patch, set_options("etl", settings):
            patch.setattr(etl.tasks, "current_backend", lambda: engine)
            assert luigi.build([etl.UFOPipeline(date=DATE)], local_scheduler=True)
    finally:
        engine.close()
    return normalised_datasets(str(data_root), DATE)


def _run_two_workers(
    engine: str,
    luigid: Luigid,  # noqa: F811
    postgres_server: PostgresServer,
    tmp_path: Path,
    raw_file: Path,
    dates: tuple[dt.date, dt.date],
) -> tuple[list[Path], list[int], str, Path]:
    database = postgres_server.create_database(f"concurrent_{tmp_path.name[-20:].lower()}")
    config = client_config(tmp_path, postgres_server, database)
    env = _clean_env(LUIGI_CONFIG_PATH=str(config), PGPASSWORD=postgres_server.password)
    data_root = tmp_path / "out"
    logs, workers = [], []
    for number, date in enumerate(dates):
        log = tmp_path / f"worker-{number}.log"
        # Each worker with its own pid-lock directory, as on two machines: on one
        # machine Luigi refuses a second identical command ("already running").
        lock_dir = tmp_path / f"lock-{number}"
        command = worker_command(
            luigid.url, date, "--etl-data-root", str(data_root), "--etl-raw-path",
            str(raw_file), "--worker-keep-alive", "--worker-wait-interval", "0.1",
            "--worker-wait-jitter", "0",
            "--lock-pid-dir", str(lock_dir), *engine_args(engine),
        )  # fmt: skip
        workers.append(start_worker(command, env, log))
        logs.append(log)
    codes = wait_all(workers, logs, timeout=600)
    # luigi.cfg's retcodes: 10 (already_running) when the other worker ran some of the
    # tasks, 25 (not_run) when it ran the root task; the pipeline is complete either way.
    assert set(codes) <= {0, 10, 25}, [log.read_text()[-3000:] for log in logs]
    return logs, codes, database, data_root


@pytest.mark.parametrize("engine", ENGINES)
def test_two_workers_on_the_same_date_run_each_task_once(
    engine: str,
    postgres_server: PostgresServer,
    luigid: Luigid,  # noqa: F811
    tmp_path: Path,
    raw_file: Path,
    single_worker: dict[str, Any],
    reliability: Recorder,
) -> None:
    logs, codes, database, data_root = _run_two_workers(
        engine, luigid, postgres_server, tmp_path, raw_file, (DATE, DATE)
    )
    first, second = (ran_tasks(log) for log in logs)
    # Between them the workers ran every task once, none twice.
    assert not set(first) & set(second), (first, second)
    assert len(first) + len(second) == len(set(first + second)) == PIPELINE_TASKS, (first, second)
    events = history(postgres_server)
    assert len(events) == PIPELINE_TASKS
    for task_id, counts in events.items():
        assert counts.get("RUNNING") == 1 and counts.get("DONE") == 1, (task_id, counts)
        assert "FAILED" not in counts
    assert normalised_datasets(str(data_root), DATE) == single_worker
    assert len(loaded(postgres_server, database, DATE)) == 10
    reliability.record(
        "two_workers_same_date",
        engine,
        f"each of the {PIPELINE_TASKS} tasks ran once (history: one RUNNING, one DONE each; "
        f"worker 1 ran {len(first)}, worker 2 ran {len(second)}); outputs and loaded rows "
        f"equal a single DuckDB worker's; exit codes {codes[0]} and {codes[1]}",
        faults=1,
        rows_lost=0,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_two_workers_on_two_dates_do_not_interfere(
    engine: str,
    postgres_server: PostgresServer,
    luigid: Luigid,  # noqa: F811
    tmp_path: Path,
    raw_file: Path,
    single_worker: dict[str, Any],
    reliability: Recorder,
) -> None:
    logs, codes, database, data_root = _run_two_workers(
        engine, luigid, postgres_server, tmp_path, raw_file, (DATE, OTHER_DATE)
    )
    assert codes == [0, 0]
    for log, date in zip(logs, (DATE, OTHER_DATE)):
        ran = ran_tasks(log)
        assert len(ran) == PIPELINE_TASKS and all(f"date={date.isoformat()}" in t for t in ran), ran
    events = history(postgres_server)
    assert len(events) == 2 * PIPELINE_TASKS
    assert all(c.get("RUNNING") == 1 and c.get("DONE") == 1 for c in events.values()), events
    for date in (DATE, OTHER_DATE):
        assert normalised_datasets(str(data_root), date) == single_worker, date
    # The loads of both dates went into one table, one after the other.
    assert loaded(postgres_server, database, DATE) == loaded(postgres_server, database, OTHER_DATE)
    assert len(loaded(postgres_server, database, DATE)) == 10
    reliability.record(
        "two_workers_two_dates",
        engine,
        "both dates complete, each task ran once per date; each date's outputs and "
        "loaded rows equal a single DuckDB worker's",
        faults=1,
        rows_lost=0,
    )


# --------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------


def luigid_views(server: Luigid, pg: PostgresServer) -> dict[str, str]:
    """Everything luigid shows or keeps about the runs, as text."""
    views = {}
    tasks = server.rpc("task_list", status="", upstream_status="", limit=False)
    views["task_list"] = json.dumps(tasks)
    views["graph"] = json.dumps(server.rpc("graph"))
    views["worker_list"] = json.dumps(server.rpc("worker_list"))
    views["errors"] = json.dumps([server.rpc("fetch_error", task_id=task_id) for task_id in tasks])
    views["luigid.log"] = server.log_path.read_text(errors="replace")
    with pg.connect("luigi_history") as conn:
        views["history"] = json.dumps(
            [
                conn.execute(f"SELECT * FROM {table}").fetchall()
                for table in ("tasks", "task_parameters", "task_events")
            ],
            default=str,
        )
    return views


def stored_text(data_root: str, settings: Any) -> str:
    """Every small file the runs stored under data_root: markers and run metrics."""
    fs, path = filesystem(data_root, settings)
    texts = []
    for info in fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True)):
        if info.is_file and (info.base_name == "_SUCCESS" or "/_runs/" in info.path):
            with fs.open_input_stream(info.path) as stream:
                texts.append(stream.read().decode("utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("engine", ENGINES)
def test_secrets_appear_nowhere(
    engine: str,
    postgres_server: PostgresServer,
    luigid: Luigid,  # noqa: F811
    s3_server: S3Server,
    tmp_path: Path,
    reliability: Recorder,
) -> None:
    prefix = f"{BUCKET}/secrets-{engine}-{secrets.token_hex(4)}"
    raw = tmp_path / "raw.tsv"
    generate(5_000, raw, seed=91)
    raw_url = upload(s3_server, raw, f"{prefix}/raw/raw.tsv")
    data_root = f"s3://{prefix}/out"
    database = postgres_server.create_database(f"secrets_{engine}")
    config = client_config(tmp_path, postgres_server, database)
    extra = ["--etl-raw-path", raw_url, "--etl-data-root", data_root]
    if engine == "spark":
        from test_s3 import s3a_conf

        extra += engine_args(engine, s3a_conf(s3_server))
    good_env = _clean_env(
        LUIGI_CONFIG_PATH=str(config), PGPASSWORD=postgres_server.password,
        **s3_server.environment(),
    )  # fmt: skip
    wrong_s3 = "wrong-" + secrets.token_urlsafe(18)
    wrong_pg = "wrong-" + secrets.token_urlsafe(12)
    runs = {
        # A wrong password: the datasets get written (S3 is right), the load fails
        # and so does every run record sent to PostgreSQL (a warning each); then
        # the same date with the right secrets, which loads; then a wrong S3
        # secret (35: already complete() cannot look at S3).
        "wrong_pg_password": (DATE, {**good_env, "PGPASSWORD": wrong_pg}, 35),
        "ok": (DATE, good_env, 0),
        "wrong_s3_secret": (
            OTHER_DATE, {**good_env, "AWS_SECRET_ACCESS_KEY": wrong_s3}, 35,
        ),
    }  # fmt: skip
    outputs = {}
    for name, (date, env, expected) in runs.items():
        log = tmp_path / f"{name}.log"
        process = start_worker(worker_command(luigid.url, date, *extra), env, log)
        code = process.wait(timeout=900)
        outputs[name] = log.read_text(errors="replace")
        assert code == expected, (name, outputs[name][-4000:])
    # The failures say what failed, clearly.
    assert re.search(
        r"AWS Error (ACCESS_DENIED|SIGNATURE_DOES_NOT_MATCH)", outputs["wrong_s3_secret"]
    )
    assert "password authentication failed" in outputs["wrong_pg_password"]

    texts = {f"worker output ({name})": text for name, text in outputs.items()}
    texts.update(luigid_views(luigid, postgres_server))
    texts["_SUCCESS and run metrics on S3"] = stored_text(data_root, s3_server.settings)
    with postgres_server.connect(database) as conn:
        texts["etl_runs and loads in PostgreSQL"] = json.dumps(
            [
                conn.execute(f"SELECT * FROM {table}").fetchall()
                for table in ("etl_runs", "table_updates", "top10_states")
                if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,)
            ],
            default=str,
        )
    secret_values = {
        "S3 secret key": s3_server.secret_key,
        "S3 access key id": s3_server.access_key,
        "PostgreSQL password": postgres_server.password,
        "wrong S3 secret key": wrong_s3,
        "wrong PostgreSQL password": wrong_pg,
    }
    leaks = [
        (what, where)
        for where, text in texts.items()
        for what, value in secret_values.items()
        if value in text
    ]
    assert not leaks, leaks
    # The runs did use them: datasets on S3, rows in PostgreSQL.
    assert DatasetLocation(data_root, "top10_states", DATE, s3_server.settings).exists()
    assert len(loaded(postgres_server, database, DATE)) == 10
    places = len(texts)
    reliability.record(
        "secrets_in_outputs",
        engine,
        f"none of the 3 secrets in {places} places: worker output, luigid's log, task list, "
        "graph, errors, worker list, task history, _SUCCESS and _runs on S3, PostgreSQL tables",
        inputs=0,
    )
    reliability.record(
        "secrets_wrong_credentials",
        engine,
        "wrong S3 secret: the run stops at once ('AWS Error ACCESS_DENIED', naming the key); "
        "wrong password: 'password authentication failed' naming user@host:port/db; "
        "neither secret (wrong or right) in any output",
        faults=2,
    )
