"""Run metrics: one record per task run, for operators.

Every :class:`~etl.tasks.UFOTask` that finishes (or fails) leaves a record in the
Parquet dataset ``<data_root>/ufo/etl/_runs/date=YYYY-MM-DD/`` (one small file
per run, written with the same staging-then-commit discipline as the datasets)
and, when PostgreSQL is configured, a row in the table ``etl_runs``.
``python -m etl metrics`` prints the last runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from backends import DatasetLocation, S3Settings, WriteResult
from backends._storage import filesystem
from etl._postgres import connect, postgres_connection_kwargs

log = logging.getLogger(__name__)

RUNS_DATASET: Final = "_runs"
RUN_SCHEMA: Final = pa.schema(
    [
        ("task", pa.string()),
        ("task_id", pa.string()),
        ("date", pa.date32()),
        ("backend", pa.string()),
        ("status", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("seconds", pa.float64()),
        ("rows_read", pa.int64()),
        ("rows_written", pa.int64()),
        ("rejects_by_reason", pa.string()),
        ("outputs", pa.string()),
        ("bytes_written", pa.int64()),
        ("error", pa.string()),
    ]
)
"""Columns of the ``_runs`` dataset and of the ``etl_runs`` table."""


@dataclass
class RunStats:
    """What a task measured while it ran; the task fills it in."""

    backend: str | None = None
    rows_read: int | None = None
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    writes: list[WriteResult] = field(default_factory=list)


@dataclass(frozen=True)
class RunRecord:
    """One task run."""

    task: str
    task_id: str
    date: dt.date
    backend: str | None
    """The engine the task ran on; None for a task that uses none (report, load)."""
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime
    seconds: float
    rows_read: int | None
    rows_written: int | None
    rejects_by_reason: str
    outputs: str
    bytes_written: int | None
    error: str | None

    @classmethod
    def of(
        cls,
        task: Any,
        status: str,
        started_at: dt.datetime,
        stats: RunStats,
        error: BaseException | None = None,
    ) -> RunRecord:
        ended_at = dt.datetime.now(dt.UTC)
        writes = stats.writes
        return cls(
            task=task.get_task_family(),
            task_id=task.task_id,
            date=task.date,
            backend=stats.backend,
            status=status,
            started_at=started_at,
            ended_at=ended_at,
            seconds=(ended_at - started_at).total_seconds(),
            rows_read=stats.rows_read,
            rows_written=sum(w.rows for w in writes) if writes else None,
            rejects_by_reason=json.dumps(stats.rejects_by_reason, sort_keys=True),
            outputs=json.dumps([w.uri for w in writes]),
            bytes_written=sum(w.bytes for w in writes) if writes else None,
            error=None if error is None else f"{type(error).__name__}: {error}"[:2000],
        )


def runs_uri(data_root: str) -> str:
    """The ``_runs`` dataset's directory under ``data_root``."""
    root = DatasetLocation(data_root, RUNS_DATASET, dt.date.min).root
    return f"{root}/ufo/etl/{RUNS_DATASET}"


def write_record(record: RunRecord, data_root: str, s3: S3Settings | None) -> str:
    """Append ``record`` to the ``_runs`` dataset; returns the file written.

    The file is written under a temporary name beside its final one and then
    moved (copied on S3), so a reader never sees half a file.
    """
    table = pa.Table.from_pylist([asdict(record)], schema=RUN_SCHEMA)
    name = f"{record.ended_at:%Y%m%dT%H%M%S%f}-{record.task}-{uuid.uuid4().hex[:8]}.parquet"
    uri = f"{runs_uri(data_root)}/date={record.date.isoformat()}/{name}"
    fs, path = filesystem(uri, s3)
    if "://" in uri:
        # An S3 object becomes visible only once its upload is complete.
        pq.write_table(table, path, filesystem=fs)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, f"{path}.tmp")
        os.replace(f"{path}.tmp", path)
    return uri


def read_runs(data_root: str, s3: S3Settings | None = None) -> pa.Table:
    """Every run record under ``data_root``, newest first (empty when none)."""
    fs, path = filesystem(runs_uri(data_root), s3)
    selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
    files = sorted(
        i.path for i in fs.get_file_info(selector) if i.is_file and i.path.endswith(".parquet")
    )
    if not files:
        return RUN_SCHEMA.empty_table()
    table = pq.ParquetDataset(files, filesystem=fs, schema=RUN_SCHEMA).read()
    return table.sort_by([("ended_at", "descending")])


def record_in_postgres(record: RunRecord) -> None:
    """Insert ``record`` into ``etl_runs`` (created when missing)."""
    with connect(postgres_connection_kwargs()) as conn, conn.cursor() as cursor:
        # Two workers' first records would race to create the table (a unique
        # violation in PostgreSQL's catalog): one creates it while the other waits.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ufo-etl etl_runs'))")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS etl_runs ("
            " task text, task_id text, date date, backend text, status text,"
            " started_at timestamptz, ended_at timestamptz, seconds double precision,"
            " rows_read bigint, rows_written bigint, rejects_by_reason jsonb,"
            " outputs jsonb, bytes_written bigint, error text)"
        )
        values = asdict(record)
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({name})s" for name in values)
        cursor.execute(f"INSERT INTO etl_runs ({columns}) VALUES ({placeholders})", values)
