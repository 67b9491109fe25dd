"""A private PostgreSQL server for tests, from the machine's PostgreSQL 15 binaries.

Import the fixture into a test module::

    from pg_fixtures import postgres_server  # noqa: F401

The server runs initdb + postgres in a fresh directory, listens on 127.0.0.1 only
(no Unix socket) on a free port, and asks for a password (scram-sha-256), so
tests go through the same password path as production. initdb refuses to run as
root: as root the server runs as the ``postgres`` system user (``nobody`` when
there is none). The server is stopped (a fast shutdown) and its
directory removed at the end of the session, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import luigi
import pytest
from servers import free_port, running

PG_BIN = Path(os.environ.get("UFO_PG_BIN", "/usr/lib/postgresql/15/bin"))


PG_ENV = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE", "PGPASSFILE")
"""libpq variables a test clears so only its own settings apply."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    """A database made for the tests (the server also has ``postgres``)."""
    log_path: Path

    def connect(self, database: str | None = None, **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
            **kwargs,
        )

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping an older one) and return its name."""
        from psycopg import sql

        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root, which initdb and postgres refuse."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


def _accepts_connections(server: PostgresServer) -> bool:
    """Whether the server is up: it makes the tests' database."""
    import psycopg

    try:
        server.create_database(server.database)
    except psycopg.OperationalError:
        return False
    return True


def _owner(run_as: dict[str, Any]) -> tuple[int, int]:
    return (run_as["user"], run_as["group"]) if run_as else (os.getuid(), os.getgid())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server on 127.0.0.1:<free port> with a password-protected user."""
    pg_ctl, initdb = PG_BIN / "pg_ctl", PG_BIN / "initdb"
    if not (pg_ctl.exists() and initdb.exists() and (PG_BIN / "postgres").exists()):
        pytest.skip(
            f"PostgreSQL server binaries not found in {PG_BIN} "
            "(Debian: apt-get install postgresql-15; or set UFO_PG_BIN)"
        )
    pytest.importorskip("psycopg", reason="psycopg 3 is needed: pip install 'ufo-etl[postgres]'")
    run_as = _run_as()
    # Not under pytest's tmp_path: as root that is private to root, and the server
    # runs as another user.
    work = Path(tempfile.mkdtemp(prefix="ufo-etl-pg-"))
    os.chmod(work, 0o700)
    os.chown(work, *_owner(run_as))
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    for key in [k for k in env if k.startswith("PG")]:
        del env[key]

    def run(*args: str | Path) -> None:
        done = subprocess.run(
            [str(a) for a in args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **run_as,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(str(args[0])).name} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )

    user, password = "ufo_test", f"pw-{secrets.token_hex(12)}"
    data, log_path, pwfile = work / "data", work / "postgres.log", work / "pwfile"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    os.chown(pwfile, *_owner(run_as))
    try:
        run(
            initdb,
            "-D",
            data,
            "-U",
            user,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        )
        pwfile.unlink()
        port = free_port()
        server = PostgresServer("127.0.0.1", port, user, password, "ufo", log_path)
        command = [PG_BIN / "postgres", "-D", data, "-c", "listen_addresses=127.0.0.1",
                   "-c", f"port={port}", "-c", "unix_socket_directories="]  # fmt: skip
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients.
        with running(
            command,
            log=log_path,
            ready=lambda: _accepts_connections(server),
            cwd=work,
            env=env,
            stop_signal=signal.SIGINT,
            **run_as,
        ):
            yield server
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def set_options(section: str, values: dict[str, str]) -> Iterator[None]:
    """Set luigi config ``[section]`` keys for one test, restoring them afterwards."""
    config = luigi.configuration.get_config()
    added = not config.has_section(section)
    if added:
        config.add_section(section)
    saved = {k: config.get(section, k, None) for k in values}
    for key, value in values.items():
        config.set(section, key, value)
    try:
        yield
    finally:
        if added:
            config.remove_section(section)
        else:
            for key, value in saved.items():
                if value is None:
                    config.remove_option(section, key)
                else:
                    config.set(section, key, value)


@pytest.fixture
def pg(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[PostgresServer]:
    """A fresh database for one test, configured in ``[postgres]``; the password
    comes from ``PGPASSWORD``, as in production."""
    for key in PG_ENV:
        monkeypatch.delenv(key, raising=False)
    database = postgres_server.create_database(f"load_{request.node.name[:40]}".lower())
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    settings = {
        "host": postgres_server.host,
        "port": str(postgres_server.port),
        "database": database,
        "user": postgres_server.user,
    }
    with set_options("postgres", settings):
        yield PostgresServer(
            postgres_server.host,
            postgres_server.port,
            postgres_server.user,
            postgres_server.password,
            database,
            postgres_server.log_path,
        )
