"""PostgreSQL settings for the load and the run metrics: from ``[postgres]`` and
libpq's ``PG*`` variables, with errors that never show the password.

The load (:mod:`etl.load`) connects with psycopg2, the driver of
``luigi.contrib.postgres``, through these settings; the run metrics
(:mod:`etl.metrics`) connect with psycopg 3 through :func:`connect`, imported on
first use: ``import etl`` works without the postgres extra.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from backends import UfoEtlError
from etl.config import postgres

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_SECONDS: Final = 10


class DatabaseError(UfoEtlError):
    """PostgreSQL cannot be reached, or a load into it failed (and was rolled back)."""


def _psycopg() -> ModuleType:
    """psycopg 3, imported on first use: ``import etl`` works without the postgres extra."""
    try:
        import psycopg
    except ImportError as e:
        raise DatabaseError(
            f"loading into PostgreSQL needs psycopg 3 and libpq "
            f"(pip install 'ufo-etl[postgres]'): {e}"
        ) from e
    return psycopg


def postgres_connection_kwargs() -> dict[str, Any]:
    """libpq connection parameters from ``[postgres]``.

    Empty settings are left out, so libpq falls back to ``PGHOST``, ``PGPORT``,
    ``PGDATABASE``, ``PGUSER`` and ``PGPASSWORD``. The result holds the password:
    never log or format it; :func:`describe_connection` is the printable form.
    """
    settings = postgres()
    kwargs: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port or None,
        "dbname": settings.database,
        "user": settings.user,
        "password": settings.password,
    }
    kwargs = {key: value for key, value in kwargs.items() if value}
    if not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    kwargs["application_name"] = "ufo-etl"
    return kwargs


def postgres_configured() -> bool:
    """True when a PostgreSQL server is configured: ``[postgres] host`` or ``PGHOST``."""
    return bool(postgres().host or os.environ.get("PGHOST"))


def describe_connection(kwargs: dict[str, Any]) -> str:
    """``user@host:port/dbname`` for messages: never the password."""
    host = kwargs.get("host") or os.environ.get("PGHOST") or "(default host)"
    port = kwargs.get("port") or os.environ.get("PGPORT") or 5432
    dbname = kwargs.get("dbname") or os.environ.get("PGDATABASE") or "(default database)"
    user = kwargs.get("user") or os.environ.get("PGUSER") or "(default user)"
    return f"{user}@{host}:{port}/{dbname}"


def _scrub(message: str, kwargs: dict[str, Any]) -> str:
    """``message`` with any password it might quote masked (libpq's messages quote
    none; this is a second line of defence)."""
    for secret in (kwargs.get("password"), os.environ.get("PGPASSWORD")):
        if secret and len(str(secret)) >= 4:
            message = message.replace(str(secret), "***")
    return message


def _database_error(action: str, kwargs: dict[str, Any], error: Exception) -> DatabaseError:
    detail = _scrub(str(error).strip() or type(error).__name__, kwargs)
    return DatabaseError(f"{action} ({describe_connection(kwargs)}): {detail}")


def connect(kwargs: dict[str, Any]) -> psycopg.Connection[Any]:
    """Open a connection; a failure becomes a :class:`DatabaseError` without the password."""
    pg = _psycopg()
    try:
        connection: psycopg.Connection[Any] = pg.connect(**kwargs)
    except pg.Error as e:
        raise _database_error("cannot connect to PostgreSQL", kwargs, e) from e
    return connection
