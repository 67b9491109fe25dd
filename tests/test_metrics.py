"""Run metrics and progress: what operators see of every run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import luigi
import luigi.scheduler
import luigi.worker
import pyarrow.compute as pc
import pytest
from conftest import ROOT
from pg_fixtures import PostgresServer
from test_pipeline import DATASETS, RUN_DATE, read_dataset

import etl
import etl.tasks
from backends import Backend
from etl._postgres import connect, postgres_connection_kwargs
from etl.datasets import DATASETS as REGISTRY
from etl.generate import generate
from etl.metrics import read_runs

DATASET_OF_TASK = {d.task: d.name for d in REGISTRY.values() if not d.from_raw}
"""Each task that writes one dataset, and that dataset."""


@pytest.fixture
def run_settings(tmp_path: Path) -> Iterator[dict[str, str]]:
    raw = tmp_path / "raw.tsv"
    generate(3_000, raw, seed=21)
    config = luigi.configuration.get_config()
    values = {"raw_path": str(raw), "raw_format": "tsv", "data_root": str(tmp_path / "out")}
    for key, value in values.items():
        config.set("etl", key, value)
    yield values
    config.set("etl", "raw_path", "data/raw/ufo_sample.tsv")
    config.set("etl", "data_root", "data")


def _run(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> luigi.scheduler.Scheduler:
    """Run the pipeline with a scheduler object this test can question afterwards."""
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    scheduler = luigi.scheduler.Scheduler()
    with luigi.worker.Worker(scheduler=scheduler, no_install_shutdown_handler=True) as worker:
        worker.add(etl.UFOPipeline(date=RUN_DATE))
        assert worker.run()
    return scheduler


def test_metrics_reconcile_with_the_datasets(
    backend: Backend, run_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = _run(backend, monkeypatch)
    data_root = run_settings["data_root"]
    runs = {row["task"]: row for row in read_runs(data_root).to_pylist()}
    assert set(runs) >= {"ReadUFOs", *DATASET_OF_TASK}
    engine_tasks = {"ReadUFOs", *DATASET_OF_TASK}
    for task, row in runs.items():
        assert row["status"] == "DONE"
        # The report and the load read small datasets with pyarrow: no engine.
        assert row["backend"] == (backend.name if task in engine_tasks else None), task
        assert row["date"] == RUN_DATE
        assert row["started_at"] <= row["ended_at"]

    sightings = read_dataset(data_root, "sightings")
    rejects = read_dataset(data_root, "rejects")
    read_ufos = runs["ReadUFOs"]
    assert read_ufos["rows_read"] == sightings.num_rows + rejects.num_rows
    assert read_ufos["rows_written"] == sightings.num_rows + rejects.num_rows
    counts = pc.value_counts(rejects["reason"]).to_pylist()
    assert json.loads(read_ufos["rejects_by_reason"]) == {
        **{"malformed": 0, "header_row": 0, "duplicate": 0},
        **{c["values"]: c["counts"] for c in counts},
    }
    for task, dataset in DATASET_OF_TASK.items():
        row = runs[task]
        assert row["rows_written"] == read_dataset(data_root, dataset).num_rows, task
        (output,) = json.loads(row["outputs"])
        files = sorted(Path(output).glob("*.parquet"))
        assert row["bytes_written"] == sum(f.stat().st_size for f in files), task
    assert runs["AggregateUFOsByState"]["rows_read"] == sightings.num_rows
    assert runs["Top10States"]["rows_read"] == read_dataset(data_root, "by_state").num_rows

    # Progress reached the scheduler: the last status of every dataset task.
    done = scheduler.task_list("DONE", "")
    by_family: dict[str, dict[str, Any]] = {t["name"]: t for t in done.values()}
    assert by_family["ReadUFOs"]["progress_percentage"] == 100
    assert by_family["ReadUFOs"]["status_message"].startswith(
        f"wrote {sightings.num_rows} sightings, {rejects.num_rows} rejects"
    )
    assert by_family["Top10States"]["status_message"] == "wrote 10 rows"


def test_a_failed_run_is_recorded(
    backend: Backend, run_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(run_settings["raw_path"]).write_text("not\ta\theader\n", encoding="utf-8")
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    assert not luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
    (row,) = read_runs(run_settings["data_root"]).to_pylist()
    assert (row["task"], row["status"]) == ("ReadUFOs", "FAILED")
    assert "RawInputError" in row["error"] and "header" in row["error"]
    assert row["rows_written"] is None
    for dataset in DATASETS:
        assert not list(Path(run_settings["data_root"]).glob(f"ufo/etl/{dataset}/**/*"))


def test_metrics_go_to_postgres_when_configured(
    backend: Backend,
    run_settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg: PostgresServer,
) -> None:
    _run(backend, monkeypatch)
    with connect(postgres_connection_kwargs()) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT task, status, rows_written FROM etl_runs WHERE date = %s", (RUN_DATE,)
        )
        in_postgres = sorted(cursor.fetchall())
    in_parquet = sorted(
        (r["task"], r["status"], r["rows_written"])
        for r in read_runs(run_settings["data_root"]).to_pylist()
    )
    assert in_postgres == in_parquet
    assert {task for task, _, _ in in_postgres} >= {"ReadUFOs", "TopStatesToDatabase"}


@pytest.mark.slow
def test_metrics_command_prints_the_last_runs(
    backend: Backend, run_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(backend, monkeypatch)
    shown = subprocess.run(
        [sys.executable, "-m", "etl", "metrics", "--data-root", run_settings["data_root"],
         "--limit", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert shown[0].split()[:4] == ["ended_at", "date", "task", "status"]
    newest = read_runs(run_settings["data_root"]).slice(0, 3).to_pylist()
    assert [line.split()[3] for line in shown[2:]] == [r["task"] for r in newest]
