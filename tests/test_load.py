"""TopStatesToDatabase: the real pipeline loads a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from pg_fixtures import PG_ENV, PostgresServer, set_options

import backends
import etl
import etl.load
import etl.tasks
from backends import Backend, DatasetLocation
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


def marker(pg: PostgresServer, date: dt.date) -> tuple[Any, ...] | None:
    with pg.connect() as conn:
        return conn.execute(
            "SELECT loaded_at, rows FROM ufo_etl_loads WHERE target = 'top10_states' AND date = %s",
            (date,),
        ).fetchone()


def delete_marker(pg: PostgresServer, date: dt.date) -> None:
    with pg.connect() as conn:
        conn.execute("DELETE FROM ufo_etl_loads WHERE date = %s", (date,))


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
    stamp = marker(pg, DATE)
    assert stamp is not None and stamp[1] == 10

    # Luigi knows the load is complete: a re-run does not load again.
    assert TopStatesToDatabase(date=DATE).complete()
    runs: list[dt.date] = []
    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "run", lambda self: runs.append(self.date))
        assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    assert runs == []
    assert marker(pg, DATE) == stamp

    # Other raw data under another data root, marker deleted: the date is replaced.
    raw = tmp_path / "other.tsv"
    generate(3_000, raw, seed=11)
    luigi.configuration.get_config().set("etl", "data_root", str(tmp_path / "other_out"))
    delete_marker(pg, DATE)
    assert not TopStatesToDatabase(date=DATE).complete()
    assert run_pipeline(duckdb_backend, monkeypatch, str(raw), DATE)
    second = loaded_rows(pg, DATE)
    assert len(second) == 10
    assert second == dataset_rows(tmp_path / "other_out", DATE)
    assert second != first
    assert loaded_rows(pg, OTHER_DATE) == other
    assert TopStatesToDatabase(date=DATE).complete()
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM top10_states").fetchone() == (20,)

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


def test_a_reader_never_sees_a_mix(pg: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = etl.load.postgres_connection_kwargs()
    etl.load.replace_rows(kwargs, "top10_states", DATE, _rows_for(1))
    etl.load.replace_rows(kwargs, "top10_states", OTHER_DATE, _rows_for(7))

    # Between the writer's DELETE and its INSERT, another session still sees the old rows.
    seen_mid_load: list[list[tuple[Any, ...]]] = []
    insert_rows = etl.load._insert_rows

    def insert_after_looking(*args: Any) -> None:
        seen_mid_load.append(loaded_rows(pg, DATE))
        insert_rows(*args)

    # A reader whose snapshot predates the load keeps seeing the old rows.
    query = "SELECT rank, state, sightings FROM top10_states WHERE date = %s ORDER BY rank"
    with monkeypatch.context() as patch, pg.connect(autocommit=True) as reader:
        patch.setattr(etl.load, "_insert_rows", insert_after_looking)
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        before = reader.execute(query, (DATE,)).fetchall()
        etl.load.replace_rows(kwargs, "top10_states", DATE, _rows_for(2))
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
            etl.load.replace_rows(kwargs, "top10_states", DATE, _rows_for(version))
    finally:
        stop.set()
        reader_thread.join(timeout=30)
    assert not errors
    assert observed
    for rows in observed:
        assert len(rows) == 10 and len(_version(rows)) == 1, rows
    assert _version(loaded_rows(pg, DATE)) == {22}
    assert _version(loaded_rows(pg, OTHER_DATE)) == {7}


def test_a_failed_load_rolls_back_to_the_old_rows(
    pg: PostgresServer,
    data_root: Path,
    duckdb_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    old_rows = loaded_rows(pg, DATE)
    assert len(old_rows) == 10
    delete_marker(pg, DATE)
    with pg.connect() as conn:
        conn.execute(
            "INSERT INTO ufo_etl_loads VALUES ('top10_states', %s, now(), 10)", (OTHER_DATE,)
        )
    kept_marker = marker(pg, OTHER_DATE)

    # The new rows break the primary key (two rank 1): the INSERT after the DELETE fails.
    bad = [(1, "XX", 5), *[(rank, f"S{rank}", rank) for rank in range(1, 10)]]
    with monkeypatch.context() as patch:
        patch.setattr(TopStatesToDatabase, "read_rows", lambda self: bad)
        with pytest.raises(DatabaseError, match="rolled back") as failure:
            TopStatesToDatabase(date=DATE).run()
        assert "duplicate key" in str(failure.value)
        assert loaded_rows(pg, DATE) == old_rows
        assert marker(pg, DATE) is None
        assert not TopStatesToDatabase(date=DATE).complete()

        # Through Luigi: the run fails, the table is as before, the task stays incomplete.
        assert not run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
        assert loaded_rows(pg, DATE) == old_rows
        assert marker(pg, DATE) is None
        assert marker(pg, OTHER_DATE) == kept_marker

    # A failure after the INSERT, before the commit, rolls back as well.
    import psycopg

    insert_rows = etl.load._insert_rows

    def insert_then_fail(*args: Any) -> None:
        insert_rows(*args)
        raise psycopg.errors.QueryCanceled("injected failure")

    with monkeypatch.context() as patch:
        patch.setattr(etl.load, "_insert_rows", insert_then_fail)
        with pytest.raises(DatabaseError, match="injected failure"):
            etl.load.replace_rows(
                etl.load.postgres_connection_kwargs(), "top10_states", DATE, _rows_for(5)
            )
    assert loaded_rows(pg, DATE) == old_rows
    assert marker(pg, DATE) is None

    # The next run loads the date again.
    assert run_pipeline(duckdb_backend, monkeypatch, SAMPLE, DATE)
    assert loaded_rows(pg, DATE) == old_rows
    assert marker(pg, DATE) is not None


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
    assert (
        repr(TopStatesToDatabase(date=DATE).output())
        == "PostgresMarker('top10_states', '2024-05-17')"
    )
