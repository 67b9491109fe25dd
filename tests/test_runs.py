"""A run's identity and its dates: task ids that hold every input, raw files
partitioned by date, backfills with RangeDaily and RangeMonthly, and two
pipelines on one luigid."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import luigi
import luigi.tools.range
import pytest
import reference
from conftest import ROOT
from pg_fixtures import set_options
from test_scheduler import Luigid, _clean_env, luigid  # noqa: F401 - the luigid fixture

import etl
import etl.tasks
from backends import Backend, ConfigurationError, DatasetLocation, RawInput, ReconciliationError
from backends._storage import read_table
from etl.datasets import DATASETS
from etl.generate import generate

DAY_1, DAY_2, DAY_3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)


@pytest.fixture
def raw_by_day(tmp_path: Path) -> Path:
    """``raw/YYYY-MM-DD/*.tsv`` for DAY_1 and DAY_3, each day its own data; DAY_2
    has no folder."""
    for seed, day in enumerate((DAY_1, DAY_3), start=40):
        folder = tmp_path / "raw" / day.isoformat()
        folder.mkdir(parents=True)
        generate(800 + 100 * seed % 7, folder / "reports.tsv", seed=seed)
    return tmp_path / "raw"


@pytest.fixture
def engine(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Every task of an in-process ``luigi.build`` runs on ``backend``."""
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    return backend


def assert_date_holds_its_own_files(data_root: Path, date: dt.date, folder: Path) -> None:
    paths = sorted(str(p) for p in folder.glob("*.tsv"))
    expected = reference.run(paths, "tsv")
    for name in ("sightings", "rejects", "by_year"):
        table = read_table(DatasetLocation(str(data_root), name, date))
        assert table.num_rows == len(expected[name]), (date, name)
    sources = set(
        read_table(DatasetLocation(str(data_root), "rejects", date))["source_file"].to_pylist()
    )
    assert sources <= set(paths), (date, sources)


# --- identity ------------------------------------------------------------------------


def test_every_input_is_part_of_the_task_id(tmp_path: Path) -> None:
    base = {"date": DAY_1, "data_root": str(tmp_path / "a"), "raw_path": "r.tsv"}
    for task in etl.TASKS.values():
        ids = {
            task(**base).task_id,
            task(**{**base, "data_root": str(tmp_path / "b")}).task_id,
            task(**{**base, "raw_path": "other.tsv"}).task_id,
            task(**{**base, "raw_format": "csv"}).task_id,
            task(**{**base, "date": DAY_2}).task_id,
        }
        assert len(ids) == 5, task


def test_task_parameters_default_to_the_etl_settings(tmp_path: Path) -> None:
    with set_options("etl", {"data_root": str(tmp_path / "x"), "raw_path": "in/*.tsv"}):
        task = etl.UFOPipeline(date=DAY_1)
    assert task.data_root == str(tmp_path / "x")
    assert task.raw_path == os.path.abspath("in/*.tsv")
    # The wrapper hands its parameters to every task it needs.
    assert {t.data_root for t in task.requires()} == {str(tmp_path / "x")}


def test_a_bad_date_field_in_raw_path_is_refused_naming_it() -> None:
    with pytest.raises(
        ConfigurationError, match=r"raw_path 'raw/\{day\}/x.tsv': only the run date"
    ):
        etl.ReadUFOs(date=DAY_1, raw_path="raw/{day}/x.tsv")


def test_outputs_of_another_raw_path_are_not_complete(engine: Backend, tmp_path: Path) -> None:
    """A changed raw_path reruns every task and replaces its outputs: a dataset
    made from other files never passes for this run's."""
    first, second = tmp_path / "first.tsv", tmp_path / "second.tsv"
    generate(600, first, seed=1)
    generate(900, second, seed=2)
    root = str(tmp_path / "out")
    assert luigi.build(
        [etl.UFODatasets(date=DAY_1, data_root=root, raw_path=str(first))], local_scheduler=True
    )
    again = etl.UFODatasets(date=DAY_1, data_root=root, raw_path=str(second))
    assert not again.complete()
    assert luigi.build([again], local_scheduler=True)
    assert again.complete()
    assert not etl.UFODatasets(date=DAY_1, data_root=root, raw_path=str(first)).complete()
    expected = reference.run([str(second)], "tsv")
    for name in DATASETS:
        rows = read_table(DatasetLocation(root, name, DAY_1)).num_rows
        assert rows == len(expected[name]), name


# --- dates ---------------------------------------------------------------------------


def test_each_date_reads_its_own_raw_files(
    engine: Backend, raw_by_day: Path, tmp_path: Path
) -> None:
    root = tmp_path / "out"
    template = str(raw_by_day / "{date:%Y-%m-%d}")
    for day in (DAY_1, DAY_3):
        assert luigi.build(
            [etl.UFODatasets(date=day, data_root=str(root), raw_path=template)],
            local_scheduler=True,
        )
        assert_date_holds_its_own_files(root, day, raw_by_day / day.isoformat())


def test_range_daily_backfills_and_a_missing_date_fails_alone(
    engine: Backend, raw_by_day: Path, tmp_path: Path
) -> None:
    root = tmp_path / "out"
    # In luigi.cfg (ConfigParser) a % is written %%.
    template = str(raw_by_day / "{date:%%Y-%%m-%%d}")
    with set_options("etl", {"data_root": str(root), "raw_path": template}):
        backfill = luigi.tools.range.RangeDaily(
            of=etl.UFODatasets, start=DAY_1, stop=DAY_3 + dt.timedelta(days=1), days_back=36500
        )
        result = luigi.build([backfill], local_scheduler=True, detailed_summary=True)
        failed = result.summary_text
        assert not result.scheduling_succeeded, failed
        # DAY_2 has no raw files: its read failed; the others completed.
        assert etl.UFODatasets(date=DAY_1).complete(), failed
        assert etl.UFODatasets(date=DAY_3).complete(), failed
        assert not etl.ReadUFOs(date=DAY_2).complete(), failed
    assert re.search(r"\* 1 failed:\n\s+- 1 ReadUFOs\(", failed), failed
    for day in (DAY_1, DAY_3):
        assert_date_holds_its_own_files(root, day, raw_by_day / day.isoformat())
    assert not list((root / "ufo" / "etl").glob("*/date=2026-01-02/_SUCCESS"))


def _luigi(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "luigi", "--module", "etl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**_clean_env(), **env},
    )


@pytest.mark.slow
def test_range_daily_from_the_command_line(raw_by_day: Path, tmp_path: Path) -> None:
    root = tmp_path / "out"
    done = _luigi(
        "RangeDaily", "--of", "UFOPipeline", "--start", "2026-01-01", "--stop", "2026-01-04",
        "--local-scheduler", "--etl-data-root", str(root),
        "--etl-raw-path", str(raw_by_day / "{date:%Y-%m-%d}"),
    )  # fmt: skip
    assert done.returncode != 0
    assert "matches no tsv file" in done.stderr
    for day in (DAY_1, DAY_3):
        assert_date_holds_its_own_files(root, day, raw_by_day / day.isoformat())
        assert (root / "ufo" / "report" / f"date={day.isoformat()}" / "index.html").is_file()


@pytest.mark.slow
def test_range_monthly_reads_a_folder_per_month(tmp_path: Path) -> None:
    for month, seed in ((1, 7), (2, 8)):
        folder = tmp_path / "raw" / "2026" / f"{month:02d}"
        folder.mkdir(parents=True)
        generate(500, folder / "reports.tsv", seed=seed)
    root = tmp_path / "out"
    done = _luigi(
        "RangeMonthly", "--of", "UFODatasets", "--start", "2026-01", "--stop", "2026-03",
        "--local-scheduler", "--etl-data-root", str(root),
        "--etl-raw-path", str(tmp_path / "raw" / "{date:%Y/%m}"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for month in (1, 2):
        assert_date_holds_its_own_files(
            root, dt.date(2026, month, 1), tmp_path / "raw" / "2026" / f"{month:02d}"
        )


# --- one luigid, two pipelines -------------------------------------------------------


@pytest.mark.integration
def test_two_pipelines_for_one_date_on_one_luigid_both_run(
    luigid: Luigid,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Two workers, one date, two data roots: the scheduler sees two runs, and each
    of their tasks runs once (before, every task after the first worker's was
    'already done' for the second)."""
    raw = tmp_path / "raw.tsv"
    generate(2_000, raw, seed=5)
    port = str(urllib.parse.urlsplit(luigid.url).port)
    workers = []
    for name in ("a", "b"):
        log = open(tmp_path / f"worker-{name}.log", "w")  # noqa: SIM115 - closed below
        command = [
            sys.executable, "-m", "luigi", "--module", "etl", "UFOPipeline",
            "--date", DAY_1.isoformat(), "--scheduler-host", "127.0.0.1",
            "--scheduler-port", port, "--etl-data-root", str(tmp_path / name),
            "--etl-raw-path", str(raw),
        ]  # fmt: skip
        workers.append((subprocess.Popen(command, cwd=ROOT, env=_clean_env(), stdout=log,
                                         stderr=subprocess.STDOUT), log))  # fmt: skip
    for process, log in workers:
        assert process.wait(timeout=600) == 0, Path(log.name).read_text()[-3000:]
        log.close()
    done = luigid.rpc("task_list", status="DONE")
    per_root: dict[str, list[str]] = {}
    for task in done.values():
        per_root.setdefault(task["params"].get("data_root", ""), []).append(task["name"])
    expected = sorted([*etl.TASKS, "UFOReport", "UFOPipeline"])
    assert {root: sorted(names) for root, names in per_root.items()} == {
        str(tmp_path / "a"): expected,
        str(tmp_path / "b"): expected,
    }
    for name in ("a", "b"):
        assert etl.UFOPipeline(
            date=DAY_1, data_root=str(tmp_path / name), raw_path=str(raw)
        ).complete()
        text = (tmp_path / f"worker-{name}.log").read_text()
        assert "already done" not in text, text[-3000:]


# --- reconciliation inside ReadUFOs --------------------------------------------------


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "ufo" / "etl").glob("*/date=*/*"))
        if p.parent.parent.name in ("sightings", "rejects")
    }


def test_a_reader_that_loses_a_record_fails_the_run_and_changes_nothing(
    engine: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Production reconciliation: a reader that loses a record (injected by
    wrapping the engine's real reader) makes ReadUFOs raise ReconciliationError
    before either dataset is committed; both keep their previous files."""
    raw = tmp_path / "raw.tsv"
    generate(1_500, raw, seed=9)
    root = tmp_path / "out"
    task = etl.ReadUFOs(date=DAY_1, data_root=str(root), raw_path=str(raw))
    assert luigi.build([task], local_scheduler=True)
    before = _snapshot(root)
    assert len(before) >= 4  # parts and _SUCCESS of both datasets

    real_read_raw = type(engine).read_raw

    def losing_read_raw(self: Backend, raw_path: str, raw_format: str) -> RawInput:
        raw_input = real_read_raw(self, raw_path, raw_format)
        records = raw_input.records
        # One well-formed record goes missing; the independent count still has it.
        lost = records.filter(records.city != records.city.min())
        return RawInput(records=lost, files=raw_input.files)

    monkeypatch.setattr(type(engine), "read_raw", losing_read_raw)
    with pytest.raises(ReconciliationError, match=r"raw records \(\d+\) != sightings"):
        task.run()
    assert _snapshot(root) == before
    assert not list((root / "ufo").glob("_staging/**/*.parquet"))

    # Through Luigi, in a fresh data root: the run fails and nothing looks complete.
    fresh = tmp_path / "fresh"
    assert not luigi.build(
        [etl.ReadUFOs(date=DAY_1, data_root=str(fresh), raw_path=str(raw))],
        local_scheduler=True,
    )
    assert not list(fresh.glob("ufo/etl/*/date=*/_SUCCESS"))
    assert not (fresh / "ufo" / "_staging").exists()
