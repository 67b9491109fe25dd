"""The Luigi pipeline end to end: real DAGs, real files, real Parquet, both engines."""

from __future__ import annotations

import datetime as dt
import functools
import glob
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import reference
from conftest import ROOT

import etl
import etl.tasks
from backends import (
    SUCCESS,
    Backend,
    BackendUnavailableError,
    ConfigurationError,
    DatasetLocation,
    RawInputError,
)
from etl.datasets import DATASETS as REGISTRY
from etl.generate import generate

RUN_DATE = dt.date(2024, 5, 17)
DATASETS = tuple(REGISTRY)
CONTRACT_TYPES = {
    name: {field.name: field.type for field in spec.schema.to_pyarrow()}
    for name, spec in REGISTRY.items()
}
"""The Arrow types of every dataset, as the registry declares them (the contract's
type rules are checked against the registry in tests/test_datasets.py)."""


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``[etl]`` settings for one test, restored afterwards."""
    config = luigi.configuration.get_config()
    saved = {k: config.get("etl", k, None) for k in ("raw_path", "raw_format", "data_root")}
    values = {"data_root": str(tmp_path / "out"), "raw_format": "tsv"}
    for key, value in values.items():
        config.set("etl", key, value)
    yield values
    for key, value in saved.items():
        if value is None:
            config.remove_option("etl", key)
        else:
            config.set("etl", key, value)


def run_pipeline(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, raw_path: str, raw_format: str = "tsv"
) -> bool:
    config = luigi.configuration.get_config()
    config.set("etl", "raw_path", raw_path)
    config.set("etl", "raw_format", raw_format)
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    return bool(luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True, workers=1))


def read_dataset(data_root: str, name: str) -> pa.Table:
    location = DatasetLocation(data_root, name, RUN_DATE)
    assert location.exists(), f"{name} is not complete"
    return pa.concat_tables([pq.read_table(f) for f in location.data_files()])


def _sort_key(row: dict[str, Any]) -> list[tuple[bool, str]]:
    return [(value is None, repr(value)) for value in row.values()]


def assert_datasets_match_reference(
    data_root: str, expected: dict[str, list[dict[str, Any]]]
) -> None:
    for name in DATASETS:
        table = read_dataset(data_root, name)
        types = {field.name: field.type for field in table.schema}
        assert types == CONTRACT_TYPES[name], name
        columns = list(CONTRACT_TYPES[name])
        got = sorted(table.to_pylist(), key=_sort_key)
        want = sorted(({c: row[c] for c in columns} for row in expected[name]), key=_sort_key)
        assert len(got) == len(want), name
        mismatches = [(g, w) for g, w in zip(got, want) if g != w]
        assert not mismatches, f"{name}: {len(mismatches)} rows differ, e.g. {mismatches[:3]}"


def test_course_files_match_the_reference(
    backend: Backend, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    raw = str(shared_data / "itam_raw_*.tsv")
    assert run_pipeline(backend, monkeypatch, raw)
    paths = sorted(glob.glob(raw))
    assert_datasets_match_reference(settings["data_root"], _reference_rows(tuple(paths), "tsv"))
    rejects = read_dataset(settings["data_root"], "rejects").to_pylist()
    assert [(r["reason"], Path(r["source_file"]).name) for r in rejects] == [
        ("duplicate", "itam_raw_UFO-Dic-2014.tsv")
    ] * 3
    # Plain DuckDB reads every dataset with a recursive glob.
    for name in DATASETS:
        count = duckdb.sql(
            f"select count(*) from read_parquet('{settings['data_root']}/ufo/etl/{name}/**/*.parquet')"
        ).fetchone()
        assert count is not None and count[0] == read_dataset(settings["data_root"], name).num_rows


@functools.cache
def _reference_rows(paths: tuple[str, ...], fmt: str) -> dict[str, list[dict[str, Any]]]:
    """``reference.run``, once per input for all the engines (the 2019 index:
    3.5 s of pure Python each time). Read only: callers must not change it."""
    return reference.run(list(paths), fmt)


@pytest.mark.slow
def test_nuforc_2019_index_reconciles(
    backend: Backend, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    raw = str(shared_data / "nuforc_index_2019-03-21.csv")
    assert run_pipeline(backend, monkeypatch, raw, "csv")
    rejects = read_dataset(settings["data_root"], "rejects")
    reasons = rejects.group_by("reason").aggregate([("reason", "count")]).to_pylist()
    assert {r["reason"]: r["reason_count"] for r in reasons} == {"header_row": 930, "duplicate": 33}
    assert read_dataset(settings["data_root"], "sightings").num_rows == 118_764
    assert_datasets_match_reference(settings["data_root"], _reference_rows((raw,), "csv"))


def test_generated_dirt_matches_the_reference(
    backend: Backend, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    generate(30_000, raw_dir / "a.tsv", seed=1)
    generate(5_000, raw_dir / "b.tsv", seed=2)
    # Line-ending variety the generator does not make: CRLF and CR, and a BOM.
    text = (raw_dir / "b.tsv").read_bytes()
    (raw_dir / "b.tsv").write_bytes(b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n", 500))
    (raw_dir / "c.tsv").write_bytes(text[:20_000].replace(b"\n", b"\r"))
    assert run_pipeline(backend, monkeypatch, str(raw_dir))
    paths = sorted(str(p) for p in raw_dir.glob("*.tsv"))
    expected = reference.run(paths, "tsv")
    assert {r["reason"] for r in expected["rejects"]} == {"malformed", "header_row", "duplicate"}
    assert_datasets_match_reference(settings["data_root"], expected)


def test_rerun_of_a_complete_pipeline_does_nothing(
    backend: Backend, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = tmp_path / "raw.tsv"
    generate(500, raw, seed=3)
    assert run_pipeline(backend, monkeypatch, str(raw))
    markers = sorted(Path(settings["data_root"]).glob(f"ufo/etl/*/date=*/{SUCCESS}"))
    assert len(markers) == len(DATASETS)
    before = {m: m.stat().st_mtime_ns for m in markers}
    runs: list[str] = []
    monkeypatch.setattr(etl.tasks.ReadUFOs, "run", lambda self: runs.append("ReadUFOs"))
    assert run_pipeline(backend, monkeypatch, str(raw))
    assert runs == []
    assert {m: m.stat().st_mtime_ns for m in markers} == before


def test_failed_run_leaves_nothing_complete(
    backend: Backend, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = tmp_path / "bad.tsv"
    raw.write_text("Date\tCity\n1/1/14\tx\n", encoding="utf-8")
    assert not run_pipeline(backend, monkeypatch, str(raw))
    for dataset in DATASETS:
        assert list(Path(settings["data_root"]).glob(f"ufo/etl/{dataset}/**/*")) == []
    # Only the run record of the failure is there (see tests/test_metrics.py).
    assert {p.parent.parent.name for p in Path(settings["data_root"]).glob("ufo/etl/*/*/*")} == {
        "_runs"
    }


def test_invalid_utf8_names_file_and_line(backend: Backend, tmp_path: Path) -> None:
    raw = tmp_path / "latin1.tsv"
    raw.write_bytes("\t".join(reference.HEADER).encode() + b"\n1/1/14\tM\xfcnchen\t\t\t\t\t\n")
    with pytest.raises(RawInputError, match=r"latin1\.tsv: line 2: invalid UTF-8"):
        backend.read_raw(str(raw), "tsv")


def _cli(
    *args: str, env: dict[str, str] | None = None, kill_before_commit: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m luigi --module etl ARGS``; with ``kill_before_commit``, the
    process kills itself when that dataset's commit starts."""
    start = (
        [sys.executable, str(ROOT / "tests" / "kill_before_commit.py"), kill_before_commit]
        if kill_before_commit
        else [sys.executable, "-m", "luigi"]
    )
    return subprocess.run(
        [*start, "--module", "etl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
@pytest.mark.parametrize("kill_during", ["sightings", "by_state"])
def test_killed_writer_leaves_nothing_complete_and_rerun_recovers(
    tmp_path: Path, kill_during: str
) -> None:
    raw = tmp_path / "raw.tsv"
    generate(2_000, raw, seed=4)
    out = tmp_path / "out"
    args = [
        "UFOPipeline",
        "--local-scheduler",
        "--date",
        RUN_DATE.isoformat(),
        "--etl-raw-path",
        str(raw),
        "--etl-data-root",
        str(out),
    ]
    killed = _cli(*args, kill_before_commit=kill_during)
    assert killed.returncode == -9, killed.stderr[-2000:]
    location = DatasetLocation(str(out), kill_during, RUN_DATE)
    assert not location.exists()
    assert not list(out.glob(f"ufo/etl/{kill_during}/**/*.parquet"))
    # The staging files of the killed writer exist, outside ufo/etl/.
    assert list(out.glob(f"ufo/_staging/{kill_during}/**/*.parquet"))

    rerun = _cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    clean = tmp_path / "clean"
    assert _cli(*args[:-1], str(clean)).returncode == 0
    for name in DATASETS:
        got = sorted(read_dataset(str(out), name).to_pylist(), key=_sort_key)
        want = sorted(read_dataset(str(clean), name).to_pylist(), key=_sort_key)
        assert got == want, name


@pytest.mark.slow
def test_cli_exit_codes(tmp_path: Path, shared_data: Path) -> None:
    ok = _cli(
        "UFOPipeline",
        "--local-scheduler",
        "--etl-raw-path",
        str(shared_data / "itam_raw_*.tsv"),
        "--etl-data-root",
        str(tmp_path / "ok"),
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert len(list((tmp_path / "ok").glob(f"ufo/etl/*/date=*/{SUCCESS}"))) == len(DATASETS)

    missing = _cli(
        "UFOPipeline",
        "--local-scheduler",
        "--etl-raw-path",
        str(tmp_path / "nothing-*.tsv"),
        "--etl-data-root",
        str(tmp_path / "missing"),
    )
    assert missing.returncode != 0
    assert "matches no tsv file" in missing.stderr

    bad_date = _cli("UFOPipeline", "--local-scheduler", "--date", "2024-13-45")
    assert bad_date.returncode != 0

    bad_backend = _cli("UFOPipeline", "--local-scheduler", "--etl-backend", "oracle")
    assert bad_backend.returncode != 0


def test_spark_refuses_a_missing_or_unsupported_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backends._spark import check_java

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java-here"))
    with pytest.raises(BackendUnavailableError, match="JAVA_HOME=.*no-java-here"):
        check_java()
    java_25 = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
    if not (java_25 / "bin" / "java").exists():
        pytest.skip(f"no Java 25 at {java_25} to check the unsupported-version error")
    monkeypatch.setenv("JAVA_HOME", str(java_25))
    with pytest.raises(BackendUnavailableError, match=r"Java 25; point JAVA_HOME at a Java 17"):
        check_java()


@pytest.mark.parametrize("data_root", ["gs://bucket/ufo", "file:/tmp/ufo", "hdfs://nn/ufo"])
def test_unsupported_data_roots_are_refused(data_root: str) -> None:
    with pytest.raises(ConfigurationError, match="must be a local path or an s3://"):
        DatasetLocation(data_root, "by_state", RUN_DATE)


def test_a_file_url_data_root_is_a_local_path(tmp_path: Path) -> None:
    location = DatasetLocation(f"file://{tmp_path}", "by_state", RUN_DATE)
    assert location.uri == f"{tmp_path}/ufo/etl/by_state/date={RUN_DATE.isoformat()}"
