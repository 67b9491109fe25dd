"""Engines behind one interface: connect, read raw files, read and write datasets.

This package is the only code that knows which engine runs. Transforms stay
pure Ibis; tasks ask :func:`connect` for a :class:`Backend`.

Examples
--------
>>> import backends
>>> backend = backends.connect("duckdb")
>>> backend.name
'duckdb'
>>> backend.close()
"""

from __future__ import annotations

from typing import Any, Final

from backends._base import Backend, RawInput, WriteResult
from backends._rawfiles import RawFile, expand_raw_path
from backends._s3 import S3Settings
from backends._storage import SUCCESS, DatasetLocation
from backends.errors import (
    BackendUnavailableError,
    ConfigurationError,
    DatasetError,
    RawInputError,
    ReconciliationError,
    UfoEtlError,
)

BACKENDS: Final = ("duckdb", "spark")


def connect(name: str, **options: Any) -> Backend:
    """Start the engine ``name`` (``duckdb`` or ``spark``).

    Parameters
    ----------
    name
        The engine.
    options
        Engine settings: for ``duckdb`` ``threads``, ``memory_limit``,
        ``temp_directory``; for ``spark`` ``master``, ``app_name``, ``conf``;
        for both ``s3`` (:class:`S3Settings`).

    Raises
    ------
    ConfigurationError
        For an unknown engine.
    BackendUnavailableError
        When the engine cannot start.
    """
    if name == "duckdb":
        from backends._duckdb import DuckDBBackend

        return DuckDBBackend(**options)
    if name == "spark":
        from backends._spark import SparkBackend

        return SparkBackend(**options)
    raise ConfigurationError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "SUCCESS",
    "Backend",
    "BackendUnavailableError",
    "ConfigurationError",
    "DatasetError",
    "DatasetLocation",
    "RawFile",
    "RawInput",
    "RawInputError",
    "ReconciliationError",
    "S3Settings",
    "UfoEtlError",
    "WriteResult",
    "connect",
    "expand_raw_path",
]
