"""What ``python -m etl shell|sql|preview|runs`` needs from the engines.

Finding the run dates whose datasets are complete, compiling an expression to
one engine's SQL without starting it, and starting an engine with the checks
that turn a missing Java or an unreachable Spark master into a prompt
:class:`~backends.errors.BackendUnavailableError` instead of a hang.

Examples
--------
>>> import ibis
>>> t = ibis.table({"state": "string"}, name="sightings")
>>> print(compile_sql(t.filter(t.state == "CA"), "spark"))
SELECT
  *
FROM `sightings` AS `t0`
WHERE
  `t0`.`state` = 'CA'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import pyarrow.fs as pafs

import backends
from backends._base import Backend
from backends._rawfiles import RAW_RECORDS_SCHEMA
from backends._s3 import S3Settings
from backends._storage import DatasetLocation, filesystem
from backends.errors import BackendUnavailableError, ConfigurationError

RAW_RECORDS_TABLE: Final = "raw_records"
"""The name the raw-records table goes by in generated SQL and in the shell."""

_DIALECTS: Final = {"duckdb": "duckdb", "spark": "pyspark"}
"""The Ibis backend whose compiler writes each engine's SQL."""

_DATE_DIRECTORY = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


def raw_records_schema() -> ibis.Schema:
    """The schema of the raw-records table every backend reader produces."""
    return ibis.Schema.from_pyarrow(RAW_RECORDS_SCHEMA)


def compile_sql(expr: ir.Table, backend_name: str) -> str:
    """The SQL the engine ``backend_name`` runs for ``expr``, pretty-printed.

    The same compiler as the writer's ``con.compile(table)``, without starting
    the engine: Spark's SQL needs pyspark installed, not Java.

    Raises
    ------
    ConfigurationError
        For an unknown engine.
    BackendUnavailableError
        When the engine's Ibis backend cannot be imported.
    """
    if backend_name not in _DIALECTS:
        raise ConfigurationError(
            f"unknown backend {backend_name!r}: choose one of {', '.join(_DIALECTS)}"
        )
    try:
        compiler_backend = getattr(ibis, _DIALECTS[backend_name])
    except (ImportError, AttributeError) as e:
        raise BackendUnavailableError(
            f"cannot load Ibis's {backend_name} backend ({e}); install ufo-etl[{backend_name}]"
        ) from e
    if backend_name == "spark":
        from backends import _spark_rules

        _spark_rules.install()
    return str(compiler_backend.compile(expr, pretty=True))


def run_dates(
    data_root: str, datasets: Sequence[str], s3: S3Settings | None = None
) -> dict[dt.date, tuple[str, ...]]:
    """Every run date with at least one complete dataset, oldest first.

    Parameters
    ----------
    data_root
        The ``[etl] data_root`` the pipeline writes under.
    datasets
        The dataset names to look for.
    s3
        Where an ``s3://`` ``data_root`` lives.

    Returns
    -------
    dict
        For each date, the names of ``datasets`` that are complete for it
        (``_SUCCESS`` exists), in the order of ``datasets``.
    """
    found: dict[dt.date, set[str]] = {}
    for dataset in datasets:
        directory = DatasetLocation(data_root, dataset, dt.date.min).uri.rsplit("/", 1)[0]
        fs, path = filesystem(directory, s3)
        entries = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        for entry in entries:
            match = _DATE_DIRECTORY.match(entry.base_name)
            if entry.type != pafs.FileType.Directory or not match:
                continue
            try:
                date = dt.date.fromisoformat(match.group(1))
            except ValueError:
                continue
            if DatasetLocation(data_root, dataset, date, s3).exists():
                found.setdefault(date, set()).add(dataset)
    return {date: tuple(d for d in datasets if d in found[date]) for date in sorted(found)}


def latest_complete_date(
    data_root: str, datasets: Sequence[str], s3: S3Settings | None = None
) -> dt.date | None:
    """The newest run date for which every one of ``datasets`` is complete."""
    dates = run_dates(data_root, datasets, s3)
    complete = [d for d, names in dates.items() if len(names) == len(datasets)]
    return max(complete, default=None)


def start(name: str, options: Mapping[str, Any], timeout: float) -> Backend:
    """Start the engine ``name`` as :func:`backends.connect` does, failing fast.

    For Spark, first check that its master (or Spark Connect server) answers
    within ``timeout`` seconds and, in classic mode, that a supported Java is at
    hand, so that neither leaves the caller waiting on a JVM.
    """
    if name == "spark":
        # The backend checks Java and the master before it starts a JVM.
        return backends.connect(name, **options, master_timeout=timeout)
    return backends.connect(name, **options)


def describe(backend: Backend) -> str:
    """The engine and its version, e.g. ``DuckDB 1.5.5``, ``Spark 4.0.5 (local[2])``
    or ``Spark 4.0.5 (sc://127.0.0.1:15002)``."""
    if backend.name == "spark":
        where = getattr(backend, "remote", None) or getattr(backend, "master", None) or "?"
        return f"Spark {backend.con.version} ({where})"
    return f"DuckDB {backend.con.version}"
