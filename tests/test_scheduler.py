"""The pipeline through a real central scheduler (luigid) that records task history
in PostgreSQL, loading top10_states into PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from pg_fixtures import PostgresServer
from servers import free_port, running

import etl

DATE = dt.date(2024, 5, 17)
TASKS = {*etl.TASKS, "TopStatesToDatabase", "UFOReport", "UFOPipeline"}
"""Every task of a UFOPipeline run with PostgreSQL configured."""
PG_ENV = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE", "PGPASSFILE")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PG_ENV and k != "LUIGI_CONFIG_PATH"}
    return {**env, **extra}


@dataclass(frozen=True)
class Luigid:
    url: str
    log_path: Path

    def rpc(self, method: str, **arguments: Any) -> Any:
        query = urllib.parse.urlencode({"data": json.dumps(arguments)})
        with urllib.request.urlopen(f"{self.url}/api/{method}?{query}", timeout=10) as response:
            return json.load(response)["response"]


@pytest.fixture
def luigid(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Luigid]:
    """luigid on 127.0.0.1:<free port>, recording task history in PostgreSQL
    (database ``luigi_history``); the password reaches it through PGPASSWORD only."""
    history = postgres_server.create_database("luigi_history")
    port = free_port()
    config = tmp_path / "luigid.cfg"
    config.write_text(
        "[scheduler]\n"
        "record_task_history = true\n"
        f"state_path = {tmp_path / 'luigid-state.pickle'}\n"
        "[task_history]\n"
        f"db_connection = postgresql+psycopg://{postgres_server.user}@"
        f"{postgres_server.host}:{postgres_server.port}/{history}\n"
    )
    script = Path(sys.executable).with_name("luigid")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from luigi.cmdline import luigid; luigid()"]
    )
    log_path = tmp_path / "luigid.log"
    server = Luigid(f"http://127.0.0.1:{port}", log_path)
    with running(
        [*command, "--port", str(port), "--address", "127.0.0.1"],
        log=log_path,
        ready=lambda: server.rpc("task_list", status="DONE") is not None,
        cwd=tmp_path,
        env=_clean_env(LUIGI_CONFIG_PATH=str(config), PGPASSWORD=postgres_server.password),
        timeout=60,
    ):
        yield server


def test_pipeline_runs_through_luigid_with_history_in_postgres(
    postgres_server: PostgresServer,
    luigid: Luigid,
    tmp_path: Path,
) -> None:
    database = postgres_server.create_database("scheduler_load")
    config = tmp_path / "client.cfg"
    config.write_text(
        "[postgres]\n"
        f"host = {postgres_server.host}\n"
        f"port = {postgres_server.port}\n"
        f"database = {database}\n"
        f"user = {postgres_server.user}\n"
    )
    port = urllib.parse.urlsplit(luigid.url).port
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "luigi",
            "--module",
            "etl",
            "UFOPipeline",
            "--date",
            DATE.isoformat(),
            "--scheduler-host",
            "127.0.0.1",
            "--scheduler-port",
            str(port),
            "--etl-data-root",
            str(tmp_path / "out"),
            "--etl-raw-path",
            "data/raw/ufo_sample.tsv",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(LUIGI_CONFIG_PATH=str(config), PGPASSWORD=postgres_server.password),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "TopStatesToDatabase" in done.stderr

    # luigid's API: every task of the run is DONE.
    tasks = luigid.rpc("task_list", status="DONE")
    assert {t["name"] for t in tasks.values()} == TASKS, tasks
    assert all(t["status"] == "DONE" for t in tasks.values())
    assert all(t["params"]["date"] == DATE.isoformat() for t in tasks.values())
    assert luigid.rpc("task_list", status="FAILED") == {}

    # The history in PostgreSQL: each task went PENDING -> RUNNING -> DONE.
    with postgres_server.connect("luigi_history") as conn:
        events = conn.execute(
            "SELECT t.name, e.event_name FROM tasks t JOIN task_events e ON e.task_id = t.id"
        ).fetchall()
        parameters = conn.execute(
            "SELECT DISTINCT value FROM task_parameters WHERE name = 'date'"
        ).fetchall()
    for state in ("PENDING", "RUNNING", "DONE"):
        assert {name for name, event in events if event == state} == TASKS, state
    assert not [row for row in events if row[1] == "FAILED"]
    assert parameters == [(DATE.isoformat(),)]

    # The load itself.
    with postgres_server.connect(database) as conn:
        loaded = conn.execute(
            "SELECT count(*), min(rank), max(rank) FROM top10_states WHERE date = %s", (DATE,)
        ).fetchone()
    assert loaded == (10, 1, 10)

    # The password is in no output and no log.
    for text in (done.stdout, done.stderr, luigid.log_path.read_text()):
        assert postgres_server.password not in text
