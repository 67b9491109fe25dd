"""Load ``top10_states`` into PostgreSQL: :class:`TopStatesToDatabase`.

The table ``top10_states (date, rank, state, sightings)`` holds one set of rows
per run date. A load replaces the rows of its date and records the load in the
marker table ``ufo_etl_loads``, all in one transaction: a reader sees either the
old rows or the new ones, never a mix, and Luigi sees the task complete exactly
when the rows are there.

Connection settings come from ``[postgres]`` (``host``, ``port``, ``database``,
``user``, ``password``); an empty setting falls back to libpq's environment
variables (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ``PGPASSWORD``).
The password is never logged and never part of an error message.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Final

import luigi
import pyarrow as pa

from backends import DatasetError
from backends._storage import read_table
from etl._postgres import (
    DatabaseError,
    _database_error,
    connect,
    describe_connection,
    postgres_configured,
    postgres_connection_kwargs,
)
from etl.tasks import UFOTask, task_for

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "MARKER_TABLE",
    "DatabaseError",
    "PostgresMarker",
    "TopStatesToDatabase",
    "connect",
    "describe_connection",
    "postgres_configured",
    "postgres_connection_kwargs",
    "read_top10",
    "replace_rows",
]

log = logging.getLogger(__name__)

MARKER_TABLE: Final = "ufo_etl_loads"

_CREATE_MARKER = (
    "CREATE TABLE IF NOT EXISTS {marker} ("
    " target text NOT NULL,"
    " date date NOT NULL,"
    " loaded_at timestamptz NOT NULL,"
    " rows integer NOT NULL,"
    " PRIMARY KEY (target, date))"
)
_CREATE_TOP10 = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " date date NOT NULL,"
    " rank integer NOT NULL,"
    " state text NOT NULL,"
    " sightings bigint NOT NULL,"
    " PRIMARY KEY (date, rank))"
)


class PostgresMarker(luigi.Target):
    """A load of ``target`` for ``date``, complete when its row is in ``ufo_etl_loads``.

    The target holds no credentials: it reads ``[postgres]`` when it connects.
    """

    def __init__(self, target: str, date: dt.date) -> None:
        self.target = target
        self.date = date

    def exists(self) -> bool:
        kwargs = postgres_connection_kwargs()
        with connect(kwargs) as conn:
            import psycopg
            from psycopg import sql

            try:
                row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MARKER_TABLE,)).fetchone()
                if not row or not row[0]:
                    return False
                found = conn.execute(
                    sql.SQL("SELECT 1 FROM {marker} WHERE target = %s AND date = %s").format(
                        marker=sql.Identifier(MARKER_TABLE)
                    ),
                    (self.target, self.date),
                ).fetchone()
            except psycopg.Error as e:
                raise _database_error(
                    f"cannot read the load marker of {self.target} for {self.date}", kwargs, e
                ) from e
        return found is not None

    def __repr__(self) -> str:
        return f"PostgresMarker({self.target!r}, {self.date.isoformat()!r})"


def _insert_rows(
    cur: psycopg.Cursor[Any], table: str, date: dt.date, rows: list[tuple[int, str, int]]
) -> None:
    """Insert the new rows of ``date``: runs after the old ones are deleted, in the
    same transaction."""
    from psycopg import sql

    insert = "INSERT INTO {table} (date, rank, state, sightings) VALUES (%s, %s, %s, %s)"
    cur.executemany(
        sql.SQL(insert).format(table=sql.Identifier(table)),
        [(date, rank, state, sightings) for rank, state, sightings in rows],
    )


def replace_rows(
    kwargs: dict[str, Any], table: str, date: dt.date, rows: list[tuple[int, str, int]]
) -> None:
    """Replace the rows of ``date`` in ``table`` and mark the load, in one transaction.

    Creates the table and the marker table when missing. Concurrent loads of the
    same table wait for each other (a transaction-scoped advisory lock).

    Raises
    ------
    DatabaseError
        When the connection or any statement fails; nothing has changed then.
    """
    with connect(kwargs) as conn:
        import psycopg
        from psycopg import sql

        marker = sql.Identifier(MARKER_TABLE)
        target = sql.Identifier(table)
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ufo-etl load {table}",)
                )
                cur.execute(sql.SQL(_CREATE_MARKER).format(marker=marker))
                cur.execute(sql.SQL(_CREATE_TOP10).format(table=target))
                cur.execute(
                    sql.SQL("DELETE FROM {table} WHERE date = %s").format(table=target), (date,)
                )
                _insert_rows(cur, table, date, rows)
                cur.execute(
                    sql.SQL(
                        "INSERT INTO {marker} (target, date, loaded_at, rows)"
                        " VALUES (%s, %s, now(), %s)"
                        " ON CONFLICT (target, date)"
                        " DO UPDATE SET loaded_at = excluded.loaded_at, rows = excluded.rows"
                    ).format(marker=marker),
                    (table, date, len(rows)),
                )
        except psycopg.Error as e:
            raise _database_error(
                f"loading {table} for {date} failed and was rolled back", kwargs, e
            ) from e


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


class TopStatesToDatabase(UFOTask):
    """``top10_states`` of the run date -> PostgreSQL table ``top10_states``.

    Re-running a date replaces its rows in one transaction; the marker row in
    ``ufo_etl_loads`` tells Luigi the load is complete.
    """

    table = "top10_states"

    def requires(self) -> UFOTask:
        task: UFOTask = self.clone(task_for("top10_states"))
        return task

    def output(self) -> PostgresMarker:
        return PostgresMarker(self.table, self.date)

    def read_rows(self) -> list[tuple[int, str, int]]:
        """The rows to load: the ``top10_states`` dataset of the run date, read with
        pyarrow (locally or on S3), without starting an engine."""
        location = self.input().location
        return read_top10(read_table(location), f"{location.dataset} for {location.date}")

    def run(self) -> None:
        rows = self.read_rows()
        kwargs = postgres_connection_kwargs()
        replace_rows(kwargs, self.table, self.date, rows)
        log.info(
            "loaded %d rows into %s for %s (%s)",
            len(rows),
            self.table,
            self.date,
            describe_connection(kwargs),
        )
