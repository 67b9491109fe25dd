"""TopStatesToDatabase: the real pipeline loads a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import luigi
import psycopg2
import psycopg2.errors
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, free_port
from pg_fixtures import PG_ENV, PostgresServer, set_options

import backends
import etl
import etl.load
import etl.tasks
from backends import Backend, ConfigurationError, DatasetLocation
from etl.generate import generate
from etl.load import DatabaseError, TopStatesToDatabase

DATE = dt.date(2024, 5, 17)
OTHER_DATE = dt.date(2024, 5, 18)
SAMPLE = str(ROOT / "data" / "raw" / "ufo_sample.tsv")


@pytest.fixture(scope="module")
def duckdb_backend() -> Iterator[Backend]:
    engine = backends.connect("duckdb")
    yield engine
    engine.close()


@pytest.fixture
def data_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "out"
    with set_options("etl", {"data_root": str(root), "raw_format": "tsv", "raw_path": SAMPLE}):
        yield root


def run_pipeline(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, raw_path: str, date: dt.date
) -> bool:
    luigi.configuration.get_config().set("etl", "raw_path", raw_path)
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    return bool(luigi.build([etl.UFOPipeline(date=date)], local_scheduler=True, workers=1))


def dataset_rows(data_root: Path, date: dt.date) -> list[tuple[Any, ...]]:
    location = DatasetLocation(str(data_root), "top10_states", date)
    table = pa.concat_tables([pq.read_table(f) for f in location.data_files()])
    return sorted((r["rank"], r["state"], r["sightings"]) for r in table.to_pylist())


def loaded_rows(pg: PostgresServer, date: dt.date) -> list[tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute(
            "SELECT rank, state, sightings FROM top10_states WHERE date = %s ORDER BY rank",
            (date,),
        ).fetchall()


def marker_key(date: dt.date) -> str:
    return f"top10_states date={date.isoformat()}"


def markers(pg: PostgresServer, date: dt.date) -> list[tuple[Any, ...]]:
    """``(update_id, inserted)`` of the date's load markers in Luigi's marker table."""
    with pg.connect() as conn:
        if conn.execute("SELECT to_regclass('table_updates')").fetchone() == (None,):
            return []
        return conn.execute(
            "SELECT update_id, inserted FROM table_updates WHERE target_table = %s",
            (marker_key(date),),
        ).fetchall()


def delete_markers(pg: PostgresServer, date: dt.date) -> None:
    with pg.connect() as conn:
        conn.execute("DELETE FROM table_updates WHERE target_table = %s", (marker_key(date),))


def ufo_etl_connections(pg: PostgresServer) -> int:
    """Connections the load left open (application_name ufo-etl)."""
    with pg.connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ufo-etl'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_pipeline_loads_top10_and_a_rerun_replaces_the_date(
    pg: PostgresServer,
    data_root: Path,
    duckdb_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, OTHER_DATE)
    first = loaded_rows(pg, DATE)
    assert len(first) == 10
    assert first == dataset_rows(data_root, DATE)
    assert [rank for rank, _, _ in first] == list(range(1, 11))
    other = loaded_rows(pg, OTHER_DATE)
    assert other == first
    first_load = TopStatesToDatabase(date=DATE)
    stamp = markers(pg, DATE)
    assert [update_id for update_id, _ in stamp] == [first_load.update_id]
    assert first_load.update_id == first_load.task_id
    assert ufo_etl_connections(pg) == 0

    # Luigi knows the load is complete: a re-run does not load again.
    assert first_load.complete()
    runs: list[dt.date] = []
    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "run", lambda self: runs.append(self.date))
        assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    assert runs == []
    assert markers(pg, DATE) == stamp

    # Other raw data under another data root: another load of the date (another
    # task id, not complete yet). It replaces the date's rows and retires the
    # first load's marker, whose rows are gone.
    raw = tmp_path / "other.tsv"
    generate(3_000, raw, seed=11)
    luigi.configuration.get_config().set("etl", "data_root", str(tmp_path / "other_out"))
    luigi.configuration.get_config().set("etl", "raw_path", str(raw))
    second_load = TopStatesToDatabase(date=DATE)
    assert second_load.task_id != first_load.task_id
    assert not second_load.complete()
    assert run_pipeline(duckdb_backend, monkeypatch, str(raw), DATE)
    second = loaded_rows(pg, DATE)
    assert len(second) == 10
    assert second == dataset_rows(tmp_path / "other_out", DATE)
    assert second != first
    assert loaded_rows(pg, OTHER_DATE) == other
    assert second_load.complete() and not first_load.complete()
    assert [update_id for update_id, _ in markers(pg, DATE)] == [second_load.update_id]
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM top10_states").fetchone() == (20,)

    # The same load again, its marker deleted: the date's rows are replaced, not added to.
    delete_markers(pg, DATE)
    assert not second_load.complete()
    assert run_pipeline(duckdb_backend, monkeypatch, str(raw), DATE)
    assert loaded_rows(pg, DATE) == second
    assert second_load.complete()
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM top10_states").fetchone() == (20,)
        assert conn.execute("SELECT count(*) FROM table_updates").fetchone() == (2,)

    # The password never reaches the logs or the terminal.
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "TopStatesToDatabase" in logged  # the capture does see Luigi's log
    assert pg.password not in logged


def _version(rows: list[tuple[Any, ...]]) -> set[int]:
    """The load a set of rows comes from: the test loads sightings = 1000 * version + rank."""
    return {sightings // 1000 for _, _, sightings in rows}


def _rows_for(version: int) -> list[tuple[int, str, int]]:
    return [(rank, f"S{rank}", 1000 * version + rank) for rank in range(1, 11)]


def load(date: dt.date, rows: list[tuple[int, str, int]]) -> None:
    """Run the load of ``date`` (the data root's task) with ``rows`` as its dataset."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: rows)
        TopStatesToDatabase(date=date).run()


def test_a_reader_never_sees_a_mix(
    pg: PostgresServer, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(DATE, _rows_for(1))
    load(OTHER_DATE, _rows_for(7))

    # Between the writer's DELETE and its COPY, another session still sees the old rows.
    seen_mid_load: list[list[tuple[Any, ...]]] = []
    copy = TopStatesToDatabase.copy

    def copy_after_looking(self: TopStatesToDatabase, cursor: Any, file: Any) -> None:
        seen_mid_load.append(loaded_rows(pg, DATE))
        copy(self, cursor, file)

    # A reader whose snapshot predates the load keeps seeing the old rows.
    query = "SELECT rank, state, sightings FROM top10_states WHERE date = %s ORDER BY rank"
    with monkeypatch.context() as patch, pg.connect(autocommit=True) as reader:
        patch.setattr(TopStatesToDatabase, "copy", copy_after_looking)
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        before = reader.execute(query, (DATE,)).fetchall()
        load(DATE, _rows_for(2))
        after = reader.execute(query, (DATE,)).fetchall()
        reader.execute("ROLLBACK")
    assert len(seen_mid_load) == 1 and _version(seen_mid_load[0]) == {1}
    assert len(seen_mid_load[0]) == 10
    assert len(before) == 10 and before == after and _version(after) == {1}
    assert _version(loaded_rows(pg, DATE)) == {2}

    # Readers polling during a series of reloads see 10 rows of one load, every time.
    stop = threading.Event()
    observed: list[list[tuple[Any, ...]]] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            with pg.connect(autocommit=True) as conn:
                while not stop.is_set() and len(observed) < 5_000:
                    observed.append(
                        conn.execute(
                            "SELECT rank, state, sightings FROM top10_states WHERE date = %s",
                            (DATE,),
                        ).fetchall()
                    )
        except Exception as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    reader_thread = threading.Thread(target=poll)
    reader_thread.start()
    try:
        for version in range(3, 23):
            load(DATE, _rows_for(version))
    finally:
        stop.set()
        reader_thread.join(timeout=30)
    assert not errors
    assert observed
    for rows in observed:
        assert len(rows) == 10 and len(_version(rows)) == 1, rows
    assert _version(loaded_rows(pg, DATE)) == {22}
    assert _version(loaded_rows(pg, OTHER_DATE)) == {7}
    assert len(markers(pg, DATE)) == 1 and len(markers(pg, OTHER_DATE)) == 1
    assert ufo_etl_connections(pg) == 0


def test_concurrent_loads_wait_for_each_other(
    pg: PostgresServer, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two loads (two dates, so two tasks) at once: the advisory lock taken in
    # init_copy holds the second one until the first commits.
    load(DATE, _rows_for(1))
    copying: list[tuple[str, float, float]] = []
    copy = TopStatesToDatabase.copy

    def slow_copy(self: TopStatesToDatabase, cursor: Any, file: Any) -> None:
        started = time.monotonic()
        time.sleep(0.5)
        copy(self, cursor, file)
        copying.append((self.date.isoformat(), started, time.monotonic()))

    rows = {DATE: _rows_for(2), OTHER_DATE: _rows_for(3)}
    errors: list[BaseException] = []

    def run(task: TopStatesToDatabase) -> None:
        try:
            task.run()
        except Exception as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: rows[self.date])
        patch.setattr(TopStatesToDatabase, "copy", slow_copy)
        threads = [
            threading.Thread(target=run, args=(TopStatesToDatabase(date=date),)) for date in rows
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert len(copying) == 2
    (_, _, first_end), (_, second_start, _) = sorted(copying, key=lambda c: c[1])
    assert first_end <= second_start, copying  # the second COPY began after the first commit
    assert _version(loaded_rows(pg, DATE)) == {2}
    assert _version(loaded_rows(pg, OTHER_DATE)) == {3}
    assert TopStatesToDatabase(date=DATE).complete()
    assert TopStatesToDatabase(date=OTHER_DATE).complete()


def test_a_failed_load_rolls_back_to_the_old_rows(
    pg: PostgresServer,
    data_root: Path,
    duckdb_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    old_rows = loaded_rows(pg, DATE)
    assert len(old_rows) == 10
    delete_markers(pg, DATE)
    with pg.connect() as conn:
        conn.execute(
            "INSERT INTO table_updates (update_id, target_table) VALUES (%s, %s)",
            ("an-other-load", marker_key(OTHER_DATE)),
        )
    kept_marker = markers(pg, OTHER_DATE)
    task = TopStatesToDatabase(date=DATE)

    def unchanged() -> None:
        assert loaded_rows(pg, DATE) == old_rows
        assert markers(pg, DATE) == []
        assert not task.complete()
        assert markers(pg, OTHER_DATE) == kept_marker
        # The failed load's connection is closed: its locks are released at once.
        assert ufo_etl_connections(pg) == 0

    # The new rows break the primary key (two rank 1): the COPY after the DELETE fails.
    bad = [(1, "XX", 5), *[(rank, f"S{rank}", rank) for rank in range(1, 10)]]
    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: bad)
        with pytest.raises(DatabaseError, match="rolled back") as failure:
            task.run()
        assert "duplicate key" in str(failure.value)
        assert isinstance(failure.value.__cause__, psycopg2.Error)
        unchanged()

        # Through Luigi: the run fails, the table is as before, the task stays incomplete.
        assert not run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
        unchanged()

    # Any exception after the DELETE and the COPY, before the commit, rolls back as well.
    copy = TopStatesToDatabase.copy

    def copy_then_fail(self: TopStatesToDatabase, cursor: Any, file: Any) -> None:
        copy(self, cursor, file)
        raise RuntimeError("injected failure after the copy")

    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: _rows_for(5))
        patch.setattr(TopStatesToDatabase, "copy", copy_then_fail)
        with pytest.raises(RuntimeError, match="injected failure after the copy"):
            task.run()
    unchanged()

    # So does a driver error after the marker row is written, before the commit.
    touch = etl.load.LoadMarker.touch

    def touch_then_fail(self: etl.load.LoadMarker, connection: Any = None) -> None:
        touch(self, connection)
        raise psycopg2.errors.QueryCanceled("injected failure after the marker")

    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: _rows_for(5))
        patch.setattr(etl.load.LoadMarker, "touch", touch_then_fail)
        with pytest.raises(DatabaseError, match="injected failure after the marker"):
            task.run()
    unchanged()

    # The next run loads the date again.
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    assert loaded_rows(pg, DATE) == old_rows
    assert [update_id for update_id, _ in markers(pg, DATE)] == [task.update_id]
    assert task.complete()


def test_wrong_password_is_a_clear_error_without_the_password(
    pg: PostgresServer,
    data_root: Path,
    duckdb_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + pg.password[::-1]
    monkeypatch.delenv("PGPASSWORD")
    with set_options("postgres", {"password": wrong}):
        with pytest.raises(DatabaseError) as failure:
            TopStatesToDatabase(date=DATE).output().exists()
        message = str(failure.value)
        assert "password authentication failed" in message
        assert f"{pg.user}@{pg.host}:{pg.port}/{pg.database}" in message
        assert wrong not in message and pg.password not in message
        assert isinstance(failure.value.__cause__, psycopg2.OperationalError)

        # The load itself fails the same way, before it reads or writes anything.
        with pytest.raises(DatabaseError, match="password authentication failed") as failure:
            TopStatesToDatabase(date=DATE).run()
        assert wrong not in str(failure.value) and pg.password not in str(failure.value)

        assert not run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "password authentication failed" in logged
    assert wrong not in logged and pg.password not in logged


def test_the_pipeline_loads_only_when_postgres_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in PG_ENV:
        monkeypatch.delenv(key, raising=False)
    families = {t.task_family for t in etl.UFOPipeline(date=DATE).requires()}
    assert "TopStatesToDatabase" not in families
    monkeypatch.setenv("PGHOST", "db.example")
    families = {t.task_family for t in etl.UFOPipeline(date=DATE).requires()}
    assert "TopStatesToDatabase" in families


def test_connection_settings_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in PG_ENV:
        monkeypatch.delenv(key, raising=False)
    kwargs = etl.load.postgres_connection_kwargs()
    assert set(kwargs) == {"connect_timeout", "application_name"}
    settings = {"host": "h", "port": "6543", "database": "d", "user": "u", "password": "p"}
    with set_options("postgres", settings):
        kwargs = etl.load.postgres_connection_kwargs()
    assert kwargs["host"] == "h" and kwargs["port"] == 6543 and kwargs["password"] == "p"
    assert kwargs["dbname"] == "d" and kwargs["user"] == "u"
    assert etl.load.describe_connection(kwargs) == "u@h:6543/d"
    task = TopStatesToDatabase(date=DATE)
    assert repr(task.output()) == f"LoadMarker('top10_states', {task.task_id!r})"
    assert task.password is None and task.output().password is None


def test_an_unreachable_server_is_a_clear_error(
    pg: PostgresServer, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = free_port()
    with (
        set_options("postgres", {"port": str(closed)}),
        pytest.raises(DatabaseError, match="cannot connect to PostgreSQL") as failure,
    ):
        TopStatesToDatabase(date=DATE).complete()
    message = str(failure.value)
    assert f"{pg.user}@{pg.host}:{closed}/{pg.database}" in message
    assert pg.password not in message


def test_the_load_connects_with_the_environment_alone(
    pg: PostgresServer, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # [postgres] empty: libpq's PG* variables (PGPASSWORD is set by the fixture).
    empty = {"host": "", "port": "0", "database": "", "user": ""}
    monkeypatch.setenv("PGHOST", pg.host)
    monkeypatch.setenv("PGPORT", str(pg.port))
    monkeypatch.setenv("PGDATABASE", pg.database)
    monkeypatch.setenv("PGUSER", pg.user)
    with set_options("postgres", empty):
        assert not TopStatesToDatabase(date=DATE).complete()
        load(DATE, _rows_for(4))
        assert TopStatesToDatabase(date=DATE).complete()
    assert _version(loaded_rows(pg, DATE)) == {4}


def test_the_marker_table_is_configurable(pg: PostgresServer, data_root: Path) -> None:
    with set_options("postgres", {"marker-table": "ufo_loads"}):
        load(DATE, _rows_for(1))
        task = TopStatesToDatabase(date=DATE)
        assert task.complete()
        with pg.connect() as conn:
            assert conn.execute("SELECT update_id, target_table FROM ufo_loads").fetchall() == [
                (task.update_id, marker_key(DATE))
            ]
            assert conn.execute("SELECT to_regclass('table_updates')").fetchone() == (None,)
    assert not TopStatesToDatabase(date=DATE).complete()  # not in table_updates
    with (
        set_options("postgres", {"marker-table": "loads; DROP TABLE top10_states"}),
        pytest.raises(ConfigurationError, match="not a table name"),
    ):
        TopStatesToDatabase(date=DATE).complete()
