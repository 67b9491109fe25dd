"""Load ``top10_states`` into PostgreSQL: :class:`TopStatesToDatabase`.

The load is Luigi's :class:`luigi.contrib.postgres.CopyToTable` on psycopg2. The
table ``top10_states (date, rank, state, sightings)``, primary key
``(date, rank)``, holds one set of rows per run date. One transaction, committed
once by ``CopyToTable.run``, takes a transaction-scoped advisory lock (concurrent
loads wait for each other), creates the table when missing, deletes the run
date's rows (``init_copy``), COPYs the new ones (``copy``) and writes the marker
row (``PostgresTarget.touch``): a reader sees either the old rows or the new
ones, never a mix, and Luigi sees the task complete exactly when the rows are
there. A failure or a kill before the commit changes nothing.

The marker is Luigi's: a row in ``[postgres] marker-table`` (default
``table_updates``: ``update_id``, ``target_table``, ``inserted``) whose
``update_id`` is the task id, so loads of one date from two data roots or raw
paths are distinct loads. ``target_table`` is ``top10_states date=YYYY-MM-DD``: a
load of a date retires the markers of the date's earlier loads (whose rows it
replaced), in the same transaction.

Connection settings come from ``[postgres]`` (``host``, ``port``, ``database``,
``user``, ``password``); an empty setting falls back to libpq's environment
variables (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ``PGPASSWORD``).
The password is never logged, never held by the task or its target, and never
part of an error message: driver errors become :class:`DatabaseError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Final

import pyarrow as pa
from luigi.contrib import postgres as luigi_postgres

from backends import ConfigurationError, DatasetError
from backends._storage import read_table
from etl._postgres import (
    DatabaseError,
    _database_error,
    describe_connection,
    postgres_configured,
    postgres_connection_kwargs,
)
from etl.config import postgres
from etl.tasks import UFOTask, task_for

__all__ = [
    "DatabaseError",
    "LoadMarker",
    "TopStatesToDatabase",
    "describe_connection",
    "marker_table",
    "postgres_configured",
    "postgres_connection_kwargs",
    "read_top10",
]

log = logging.getLogger(__name__)

_TABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")

# Luigi's marker table (PostgresTarget.create_marker_table), created if missing.
_CREATE_MARKER: Final = (
    "CREATE TABLE IF NOT EXISTS {marker} ("
    " update_id TEXT PRIMARY KEY,"
    " target_table TEXT,"
    " inserted TIMESTAMP DEFAULT NOW())"
)
_RETIRE_MARKERS: Final = "DELETE FROM {marker} WHERE target_table = %s AND update_id <> %s"
_UPSERT_MARKER: Final = (
    "INSERT INTO {marker} (update_id, target_table) VALUES (%s, %s)"
    " ON CONFLICT (update_id)"
    " DO UPDATE SET target_table = excluded.target_table, inserted = now()"
)


def marker_table() -> str:
    """The marker table: ``[postgres] marker-table``, Luigi's ``table_updates`` by default.

    Read when used (Luigi's own ``PostgresTarget.marker_table`` is read once, at import).

    Raises
    ------
    ConfigurationError
        When the setting is not a table name (``name`` or ``schema.name``).
    """
    name = str(postgres().marker_table)
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"[postgres] marker-table {name!r} is not a table name (name or schema.name)"
        )
    return name


def _psycopg2() -> ModuleType:
    """psycopg2, the driver of ``luigi.contrib.postgres``, imported on first use."""
    try:
        import psycopg2
    except ImportError as e:
        raise DatabaseError(
            f"loading into PostgreSQL needs psycopg2 (pip install psycopg2-binary): {e}"
        ) from e
    driver: ModuleType = psycopg2
    return driver


class LoadMarker(luigi_postgres.PostgresTarget):  # type: ignore[misc]
    """Luigi's marker of one load: the row ``update_id`` of :func:`marker_table`.

    Unlike Luigi's target it holds no credentials (:meth:`connect` reads
    ``[postgres]`` and the ``PG*`` variables when it connects), closes the
    connections it opens itself, turns driver errors into :class:`DatabaseError`
    without the password, and writes its row so that a load of a date replaces
    the markers of the date's earlier loads.

    Parameters
    ----------
    table
        The loaded table.
    update_id
        The load's identity: the task id.
    date
        The run date whose rows the load replaces.
    on_connect
        Called with every connection :meth:`connect` opens (the task closes them).
    """

    def __init__(
        self,
        table: str,
        update_id: str,
        date: dt.date,
        on_connect: Callable[[Any], None] | None = None,
    ) -> None:
        settings = postgres()
        super().__init__(
            host=settings.host or os.environ.get("PGHOST", ""),
            database=settings.database or os.environ.get("PGDATABASE", ""),
            user=settings.user or os.environ.get("PGUSER", ""),
            password=None,
            table=table,
            update_id=update_id,
            port=settings.port or None,
        )
        self.date = date
        self._on_connect = on_connect

    @property
    def marker_table(self) -> str:
        return marker_table()

    @property
    def marker_key(self) -> str:
        """``target_table`` of the marker row: the table and the run date."""
        return f"{self.table} date={self.date.isoformat()}"

    def connect(self) -> Any:
        """A psycopg2 connection (not in autocommit) with the connect timeout.

        Raises
        ------
        DatabaseError
            When the server cannot be reached or refuses the login; the message
            names the server, never the password.
        """
        psycopg2 = _psycopg2()
        kwargs = postgres_connection_kwargs()
        try:
            connection = psycopg2.connect(**kwargs)
        except psycopg2.Error as e:
            raise _database_error("cannot connect to PostgreSQL", kwargs, e) from e
        try:
            connection.set_client_encoding("UTF8")
        except psycopg2.Error as e:
            connection.close()
            raise _database_error("cannot set up the connection", kwargs, e) from e
        if self._on_connect is not None:
            self._on_connect(connection)
        return connection

    def exists(self, connection: Any = None) -> bool:
        """True when the marker row is there (False when the marker table is not)."""
        if connection is not None:
            return bool(super().exists(connection))
        psycopg2 = _psycopg2()
        with contextlib.closing(self.connect()) as own:
            own.autocommit = True
            try:
                return bool(super().exists(own))
            except psycopg2.Error as e:
                raise _database_error(
                    f"cannot read the load marker {self.update_id}",
                    postgres_connection_kwargs(),
                    e,
                ) from e

    def touch(self, connection: Any = None) -> None:
        """Write the marker row in ``connection``'s transaction, creating the marker
        table if missing and deleting the markers of the date's earlier loads.

        Without a connection, does so in a transaction of its own.
        """
        if connection is None:
            with contextlib.closing(self.connect()) as own, own:
                self.touch(own)
            return
        marker = self.marker_table
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_MARKER.format(marker=marker))
            cursor.execute(_RETIRE_MARKERS.format(marker=marker), (self.marker_key, self.update_id))
            cursor.execute(_UPSERT_MARKER.format(marker=marker), (self.update_id, self.marker_key))

    def create_marker_table(self) -> None:
        """Create the marker table if missing, in a connection of its own (closed)."""
        with contextlib.closing(self.connect()) as own:
            own.autocommit = True
            with own.cursor() as cursor:
                cursor.execute(_CREATE_MARKER.format(marker=self.marker_table))

    def __repr__(self) -> str:
        return f"LoadMarker({self.table!r}, {self.update_id!r})"


def read_top10(table: pa.Table, dataset: str) -> list[tuple[int, str, int]]:
    """``(rank, state, sightings)`` rows of a ``top10_states`` dataset, by rank."""
    missing = {"rank", "state", "sightings"} - set(table.column_names)
    if missing:
        raise DatasetError(f"dataset {dataset} lacks column(s) {sorted(missing)}")
    rows = sorted(
        (int(r["rank"]), str(r["state"]), int(r["sightings"]))
        for r in table.select(["rank", "state", "sightings"]).to_pylist()
    )
    if len(rows) > 10:
        raise DatasetError(f"dataset {dataset} has {len(rows)} rows; a top 10 has at most 10")
    return rows


class TopStatesToDatabase(UFOTask, luigi_postgres.CopyToTable):  # type: ignore[misc]
    """``top10_states`` of the run date -> PostgreSQL table ``top10_states``.

    A :class:`luigi.contrib.postgres.CopyToTable` with the run's parameters
    (``date``, ``data_root``, ``raw_path``, ``raw_format``): its task id, the
    marker's ``update_id``, names the complete identity of the load. Re-running a
    date replaces its rows in one transaction; the marker row in
    :func:`marker_table` tells Luigi the load is complete.
    """

    table = "top10_states"
    columns: list[Any] = [  # noqa: RUF012 - declared so by CopyToTable
        ("date", "date NOT NULL"),
        ("rank", "integer NOT NULL"),
        ("state", "text NOT NULL"),
        ("sightings", "bigint NOT NULL"),
    ]
    _connection_opened: Callable[[Any], None] | None = None

    # CopyToTable's connection settings, for display: LoadMarker.connect reads
    # [postgres] and the PG* variables itself, and the password only then.
    @property
    def host(self) -> str:
        return str(postgres().host or os.environ.get("PGHOST", ""))

    @property
    def port(self) -> int | None:
        return int(postgres().port) or None

    @property
    def database(self) -> str:
        return str(postgres().database or os.environ.get("PGDATABASE", ""))

    @property
    def user(self) -> str:
        return str(postgres().user or os.environ.get("PGUSER", ""))

    @property
    def password(self) -> None:
        """Never held by the task: libpq gets it from ``[postgres]`` or ``PGPASSWORD``
        when the target connects."""
        return None

    @property
    def update_id(self) -> str:
        """The marker's key: the task id, which every parameter of the task is part of."""
        return str(self.task_id)

    def requires(self) -> UFOTask:
        task: UFOTask = self.clone(task_for("top10_states"))
        return task

    def output(self) -> LoadMarker:
        return LoadMarker(self.table, self.update_id, self.date, self._connection_opened)

    def read_rows(self) -> list[tuple[int, str, int]]:
        """The rows to load: the ``top10_states`` dataset of the run date, read with
        pyarrow (locally or on S3), without starting an engine."""
        location = self.input().location
        return read_top10(read_table(location), f"{location.dataset} for {location.date}")

    def rows(self) -> Iterator[tuple[dt.date, int, str, int]]:
        """``(date, rank, state, sightings)``: what ``CopyToTable.run`` COPYs."""
        rows = self.read_rows()
        self.stats.rows_read = len(rows)
        for rank, state, sightings in rows:
            yield self.date, rank, state, sightings

    def create_table(self, connection: Any) -> None:
        """Create ``top10_states`` if missing, in the load's transaction."""
        coldefs = ", ".join(f"{name} {type_}" for name, type_ in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ({coldefs}, PRIMARY KEY (date, rank))"
            )

    def init_copy(self, connection: Any) -> None:
        """Before the COPY, in its transaction: wait for any other load of the table
        (advisory lock, released at commit or rollback), create the table if
        missing, and delete the run date's rows."""
        super().init_copy(connection)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ufo-etl load {self.table}",)
            )
            self.create_table(connection)
            cursor.execute(f"DELETE FROM {self.table} WHERE date = %s", (self.date,))

    def run(self) -> None:
        """``CopyToTable.run``: one transaction, committed once, or nothing.

        Every connection the run opens is closed when it ends, so a failed load
        releases its locks at once (``CopyToTable.run`` closes it on success only).

        Raises
        ------
        DatabaseError
            When the server cannot be reached or a statement fails; the load was
            rolled back then, and the message holds no password.
        """
        psycopg2 = _psycopg2()
        opened: list[Any] = []
        self._connection_opened = opened.append
        try:
            super().run()
        except psycopg2.Error as e:
            raise _database_error(
                f"loading {self.table} for {self.date} failed and was rolled back",
                postgres_connection_kwargs(),
                e,
            ) from e
        finally:
            self._connection_opened = None
            for connection in opened:
                connection.close()
        log.info(
            "loaded %s rows into %s for %s (%s)",
            self.stats.rows_read,
            self.table,
            self.date,
            describe_connection(postgres_connection_kwargs()),
        )
