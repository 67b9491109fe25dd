"""Raw files and datasets on a real S3-compatible server (SeaweedFS on loopback)."""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import luigi
import pyarrow.fs as pafs
import pytest
import reference
from conftest import SPARK_TEST_CONF
from s3_fixtures import BUCKET, S3Server, upload
from test_pipeline import (
    DATASETS,
    RUN_DATE,
    _cli,
    _sort_key,
    assert_datasets_match_reference,
    read_dataset,
)

import backends
import etl.tasks
from backends import SUCCESS, DatasetLocation, RawInputError, S3Settings
from etl.generate import generate


@pytest.fixture
def s3_prefix(s3_server: S3Server) -> str:
    """A fresh prefix in the bucket for one test."""
    return f"{BUCKET}/test-{secrets.token_hex(4)}"


@pytest.fixture
def raw_on_s3(s3_server: S3Server, s3_prefix: str, tmp_path: Path) -> tuple[str, list[Path]]:
    """A generated dirty file and a second one, uploaded under ``<prefix>/raw/``."""
    local = []
    for name, rows, seed in (("a.tsv", 3_000, 11), ("b.tsv", 1_000, 12)):
        path = tmp_path / name
        generate(rows, path, seed=seed)
        upload(s3_server, path, f"{s3_prefix}/raw/{name}")
        local.append(path)
    return f"s3://{s3_prefix}/raw/", local


@pytest.fixture
def s3_config(s3_server: S3Server) -> Iterator[None]:
    """``[s3]`` settings pointing at the test server, restored afterwards."""
    config = luigi.configuration.get_config()
    keys = {
        "endpoint_url": s3_server.endpoint_url,
        "region_name": "us-east-1",
        "aws_access_key_id": s3_server.access_key,
        "aws_secret_access_key": s3_server.secret_key,
    }
    for key, value in keys.items():
        config.set("s3", key, value)
    yield
    for key in keys:
        config.remove_option("s3", key)


def _local_copy(server: S3Server, data_root: str, tmp_path: Path) -> str:
    """Download every dataset of the run date, to compare with local helpers."""
    out = tmp_path / "downloaded"
    for name in DATASETS:
        location = DatasetLocation(data_root, name, RUN_DATE, server.settings)
        assert location.exists(), name
        target = out / "ufo" / "etl" / name / f"date={RUN_DATE.isoformat()}"
        target.mkdir(parents=True)
        fs = server.filesystem()
        for uri in location.data_files():
            key = uri.removeprefix("s3://")
            with fs.open_input_stream(key) as src:
                (target / Path(key).name).write_bytes(src.read())
        (target / SUCCESS).write_text("{}")
    return str(out)


def test_pipeline_reads_and_writes_s3_on_duckdb(
    s3_server: S3Server,
    s3_config: None,
    s3_prefix: str,
    raw_on_s3: tuple[str, list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw_url, local_files = raw_on_s3
    data_root = f"s3://{s3_prefix}"
    backend = backends.connect("duckdb", s3=s3_server.settings)
    config = luigi.configuration.get_config()
    for key, value in (("raw_path", raw_url), ("raw_format", "tsv"), ("data_root", data_root)):
        config.set("etl", key, value)
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    try:
        assert luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
        # The PostgreSQL load reads top10_states from S3 too, without an engine.
        loaded = etl.TopStatesToDatabase(date=RUN_DATE).read_rows()
    finally:
        backend.close()
        config.set("etl", "data_root", "data")
        config.set("etl", "raw_path", "data/raw/ufo_sample.tsv")
    downloaded = _local_copy(s3_server, data_root, tmp_path)
    expected = reference.run([str(p) for p in sorted(local_files)], "tsv")
    # source_file is the S3 URL the run read, not the local copy.
    for row in expected["rejects"]:
        row["source_file"] = raw_url + Path(row["source_file"]).name
    assert_datasets_match_reference(downloaded, expected)
    assert loaded == [(r["rank"], r["state"], r["sightings"]) for r in expected["top10_states"]]
    # Nothing complete-looking is left in staging, and every dataset has its marker.
    fs = s3_server.filesystem()
    for name in DATASETS:
        marker = f"{s3_prefix}/ufo/etl/{name}/date={RUN_DATE.isoformat()}/{SUCCESS}"
        assert fs.get_file_info(marker).is_file
    staging = fs.get_file_info(
        pafs.FileSelector(f"{s3_prefix}/ufo/_staging", recursive=True, allow_not_found=True)
    )
    assert not [i for i in staging if i.is_file]


def test_wrong_key_fails_clearly(s3_server: S3Server, raw_on_s3: tuple[str, list[Path]]) -> None:
    raw_url, _ = raw_on_s3
    wrong_secret = secrets.token_urlsafe(24)
    bad = S3Settings(s3_server.endpoint_url, "us-east-1", s3_server.access_key, wrong_secret)
    backend = backends.connect("duckdb", s3=bad)
    try:
        with pytest.raises(
            RawInputError, match=r"cannot (list|open) .*(ACCESS_DENIED|SIGNATURE)"
        ) as caught:
            backend.read_raw(raw_url, "tsv")
    finally:
        backend.close()
    assert wrong_secret not in str(caught.value)
    assert wrong_secret not in repr(bad)


@pytest.mark.attack
def test_killed_writer_on_s3_leaves_nothing_complete(
    s3_server: S3Server, s3_prefix: str, raw_on_s3: tuple[str, list[Path]], tmp_path: Path
) -> None:
    raw_url, _ = raw_on_s3
    data_root = f"s3://{s3_prefix}"
    args = ["UFOPipeline", "--local-scheduler", "--date", RUN_DATE.isoformat(),
            "--etl-raw-path", raw_url, "--etl-data-root", data_root]  # fmt: skip
    # Credentials travel in the environment, never on the command line.
    env = s3_server.environment()
    killed = _cli(*args, env=env, kill_before_commit="sightings")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not DatasetLocation(data_root, "sightings", RUN_DATE, s3_server.settings).exists()
    rerun = _cli(*args, env=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert s3_server.secret_key not in rerun.stderr
    for name in DATASETS:
        assert DatasetLocation(data_root, name, RUN_DATE, s3_server.settings).exists(), name


SAGEMAKER_JARS = ("hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar")


def _test_jars() -> list[str]:
    try:
        import sagemaker_pyspark  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("the s3a test jars come from `pip install --no-deps sagemaker_pyspark`")
    jars = Path(sagemaker_pyspark.__file__).parent / "jars"
    return [str(jars / name) for name in SAGEMAKER_JARS]


def s3a_conf(server: S3Server) -> dict[str, str]:
    """Spark settings for s3a against the test server, credentials from the environment."""
    return {
        "spark.jars": ",".join(_test_jars()),
        "spark.ui.enabled": "false",
        "spark.hadoop.fs.s3a.endpoint": server.endpoint_url,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider":
            "com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
        # hadoop-aws 3.3.1 reads these as plain numbers; Spark 4's defaults say "60s".
        "spark.hadoop.fs.s3a.connection.timeout": "200000",
        "spark.hadoop.fs.s3a.connection.establish.timeout": "30000",
        "spark.hadoop.fs.s3a.threads.keepalivetime": "60",
        "spark.hadoop.fs.s3a.multipart.purge.age": "86400",
    }  # fmt: skip


@pytest.mark.spark
def test_pipeline_on_spark_reads_and_writes_s3(
    s3_server: S3Server, s3_prefix: str, raw_on_s3: tuple[str, list[Path]], tmp_path: Path
) -> None:
    raw_url, _ = raw_on_s3
    args = ["UFOPipeline", "--local-scheduler", "--date", RUN_DATE.isoformat(),
            "--etl-raw-path", raw_url]  # fmt: skip
    on_spark = _cli(
        *args, "--etl-data-root", f"s3://{s3_prefix}/spark", "--etl-backend", "spark",
        "--spark-master", "local[2]",
        "--spark-conf", json.dumps({**SPARK_TEST_CONF, **s3a_conf(s3_server)}),
        env=s3_server.environment(),
    )  # fmt: skip
    assert on_spark.returncode == 0, on_spark.stderr[-4000:]
    on_duckdb = _cli(*args, "--etl-data-root", f"s3://{s3_prefix}/duckdb",
                     env=s3_server.environment())  # fmt: skip
    assert on_duckdb.returncode == 0, on_duckdb.stderr[-4000:]
    spark_copy = _local_copy(s3_server, f"s3://{s3_prefix}/spark", tmp_path / "s")
    duckdb_copy = _local_copy(s3_server, f"s3://{s3_prefix}/duckdb", tmp_path / "d")
    for name in DATASETS:
        got, want = read_dataset(spark_copy, name), read_dataset(duckdb_copy, name)
        assert [(f.name, f.type) for f in got.schema] == [(f.name, f.type) for f in want.schema]
        assert sorted(got.to_pylist(), key=_sort_key) == sorted(want.to_pylist(), key=_sort_key)


def _as_csv(tsv: Path, out: Path) -> Path:
    """The records of a generated TSV file as RFC 4180 (CRLF), with quoted line
    breaks and a malformed record added, and in ``b.csv`` a trailing empty field
    (which DuckDB's reader would drop: the file is streamed instead)."""
    lines = tsv.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line]
    rows += [
        ["1/2/14 21:00", "two lines", "AZ", "light", "5 min", 'a "b"\r\nc, d', "1/3/14"],
        ["1/2/14 21:00", "extra field", "AZ", "light", "5 min", "s", "1/3/14", "more"],
    ]
    if out.stem == "b":
        rows.append(["1/2/14 21:00", "empty extra", "AZ", "light", "5 min", "s", "1/3/14", ""])
    with open(out, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return out


@pytest.mark.parametrize("raw_format", ["tsv", "csv"])
def test_duckdb_reads_raw_files_on_s3_through_httpfs_as_local_ones(
    s3_server: S3Server,
    s3_prefix: str,
    raw_on_s3: tuple[str, list[Path]],
    tmp_path: Path,
    raw_format: str,
) -> None:
    """The same raw records from S3 (DuckDB's httpfs reading the files) as from
    the local copies, ``source_file`` aside."""
    raw_url, local = raw_on_s3
    if raw_format == "csv":
        local_dir = tmp_path / "csv"
        local_dir.mkdir()
        local = [_as_csv(path, local_dir / f"{path.stem}.csv") for path in local]
        for path in local:
            upload(s3_server, path, f"{s3_prefix}/raw/{path.name}")
    backend = backends.connect("duckdb", s3=s3_server.settings)
    try:
        on_s3 = backend.read_raw(raw_url, raw_format)
        assert backend._s3_connected  # type: ignore[attr-defined]
        from_s3 = backend.to_rows(on_s3.records)
        on_disk = backend.read_raw(str(local[0].parent), raw_format)
        from_disk = backend.to_rows(on_disk.records)
    finally:
        backend.close()
    assert [Path(f.path).name for f in on_s3.files] == [p.name for p in local]
    assert on_s3.expected_records == on_disk.expected_records == len(from_disk)
    for row in from_s3:
        assert row["source_file"].startswith(raw_url)
    for rows in (from_s3, from_disk):
        for row in rows:
            row["source_file"] = Path(row["source_file"]).name
    assert sorted(from_s3, key=_row_key) == sorted(from_disk, key=_row_key)


def _row_key(row: dict[str, object]) -> str:
    return repr(sorted(row.items()))
