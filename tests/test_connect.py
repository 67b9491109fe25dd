"""Spark Connect: Luigi workers without a JVM, on Spark's own Connect server and on Sail.

The backend-parametrised parity set runs over both servers (``pytest -m connect``,
``pytest -m sail``, see ``tests/conftest.py``); this module checks what only the
Connect mode has: the pipeline from a worker environment with no Java at all, the
explore CLI's ``--spark-remote``, and the settings' and servers' errors.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, on

import backends
from backends import BackendUnavailableError, ConfigurationError, DatasetLocation
from etl.datasets import DATASETS
from etl.generate import generate

RUN_DATE = dt.date(2024, 5, 17)

SERVERS = [
    pytest.param("spark_connect_server", marks=pytest.mark.connect, id="connect"),
    pytest.param("sail_server", marks=pytest.mark.sail, id="sail"),
]


@pytest.fixture(params=SERVERS)
def remote(request: pytest.FixtureRequest) -> str:
    """The URL of a Spark Connect server: Spark's own, then Sail."""
    return str(request.getfixturevalue(request.param))


def no_java_env() -> dict[str, str]:
    """This environment without Java: no ``JAVA_HOME``, and a ``PATH`` holding only
    this interpreter's directory (no ``java`` on it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JAVA_HOME", "SPARK_HOME", "SPARK_CONNECT_MODE_ENABLED")
    }
    env["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("java", path=env["PATH"]) is None
    return env


def luigi_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "luigi", "--module", "etl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env if env is not None else no_java_env(),
    )


def pipeline_args(raw: Path, data_root: Path, *extra: str) -> list[str]:
    return ["UFOPipeline", "--local-scheduler", "--date", RUN_DATE.isoformat(),
            "--etl-raw-path", str(raw), "--etl-data-root", str(data_root), *extra]  # fmt: skip


def read_dataset(data_root: Path, name: str) -> pa.Table:
    location = DatasetLocation(str(data_root), name, RUN_DATE)
    assert location.exists(), f"{name} is not complete under {data_root}"
    return pa.concat_tables([pq.read_table(f) for f in location.data_files()])


def sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: [(v is None, repr(v)) for v in r.values()])


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Raw files with dirt (two files, malformed and duplicate records, a header
    copy) and the pipeline's datasets of them on DuckDB: the reference."""
    work = tmp_path_factory.mktemp("connect-reference")
    raw = work / "raw"
    raw.mkdir()
    generate(3_000, raw / "a.tsv", seed=11)
    generate(1_000, raw / "b.tsv", seed=12)
    result = luigi_cli(*pipeline_args(raw, work / "duckdb"), env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-3000:]
    return raw, work / "duckdb"


def test_pipeline_over_connect_needs_no_java_and_equals_duckdb(
    remote: str, duckdb_run: tuple[Path, Path], tmp_path: Path
) -> None:
    raw, duckdb_root = duckdb_run
    out = tmp_path / "connect"
    result = luigi_cli(*pipeline_args(raw, out, "--etl-backend", "spark", "--spark-remote", remote))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Spark Connect session on {remote}" in result.stderr
    for name in DATASETS:
        got, want = read_dataset(out, name), read_dataset(duckdb_root, name)
        assert [(f.name, f.type) for f in got.schema] == [(f.name, f.type) for f in want.schema], (
            name
        )
        assert sorted_rows(got) == sorted_rows(want), name
    marker = (out / f"ufo/etl/sightings/date={RUN_DATE}/_SUCCESS").read_text()
    assert '"backend": "spark"' in marker


def _error_lines(stderr: str) -> list[str]:
    return sorted(set(re.findall(r"RawInputError: .*", stderr)))


def test_bad_input_gives_the_duckdb_error_over_connect(remote: str, tmp_path: Path) -> None:
    raw = tmp_path / "bad.tsv"
    raw.write_text("Date\tCity\n1/1/14\tx\n", encoding="utf-8")
    duck = luigi_cli(*pipeline_args(raw, tmp_path / "duckdb"), env=dict(os.environ))
    over = luigi_cli(
        *pipeline_args(
            raw, tmp_path / "connect", "--etl-backend", "spark", "--spark-remote", remote
        )
    )
    assert duck.returncode != 0 and over.returncode != 0
    assert _error_lines(duck.stderr), duck.stderr[-3000:]
    assert _error_lines(over.stderr) == _error_lines(duck.stderr), over.stderr[-3000:]
    assert not list((tmp_path / "connect").glob(f"ufo/etl/sightings/**/{backends.SUCCESS}"))


def test_explore_preview_over_connect_needs_no_java(
    remote: str, duckdb_run: tuple[Path, Path]
) -> None:
    _, duckdb_root = duckdb_run
    common = ["preview", "by_state", "--data-root", str(duckdb_root), "--limit", "5"]
    duck = subprocess.run([sys.executable, "-m", "etl", *common], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    over = subprocess.run(
        [sys.executable, "-m", "etl", *common, "--backend", "spark", "--spark-remote", remote],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=no_java_env(),
    )  # fmt: skip
    assert duck.returncode == 0, duck.stderr
    assert over.returncode == 0, over.stderr
    assert over.stdout.endswith(", read by spark)\n"), over.stdout
    assert over.stdout.replace("read by spark", "read by duckdb") == duck.stdout


def test_explore_shell_over_connect_reads_raw_and_datasets(
    remote: str, duckdb_run: tuple[Path, Path]
) -> None:
    raw, duckdb_root = duckdb_run
    code = "print('counts', raw.count().execute(), sightings.count().execute())\n"
    common = ["shell", "--raw-path", str(raw), "--data-root", str(duckdb_root)]
    results = {
        engine: subprocess.run(
            [sys.executable, "-m", "etl", *common, *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            input=code,
            env=env,
        )
        for engine, flags, env in [
            ("duckdb", [], dict(os.environ)),
            ("connect", ["--backend", "spark", "--spark-remote", remote], no_java_env()),
        ]
    }
    counts = {}
    for engine, result in results.items():
        assert result.returncode == 0, result.stderr
        counts[engine] = re.findall(r"counts \d+ \d+", result.stdout)
    assert counts["connect"] == counts["duckdb"] != []
    assert f"({remote})" in results["connect"].stdout + results["connect"].stderr


def test_progress_over_connect(remote: str) -> None:
    """Spark's server streams each query's stages to the session's progress handler,
    which the backend reports as in classic mode; Sail streams none, which leaves
    the message said at the start."""
    engine = backends.connect("spark", remote=remote)
    reports: list[tuple[float, str]] = []
    try:
        with engine.watch_progress(lambda done, message: reports.append((done, message))):
            # Some seconds of work (about 4 here): the server reports every 0.2 s.
            frame = engine.session.range(0, 40_000_000, numPartitions=8)  # type: ignore[attr-defined]
            frame.selectExpr("sum(id * id % 7) as s").collect()
        assert engine.session._client._progress_handlers == []  # type: ignore[attr-defined]
    finally:
        engine.close()
    assert reports[0] == (
        0.0,
        f"running on the Spark Connect server {remote}: stage progress only as the server "
        f"streams it",
    )
    stages = [
        (done, m)
        for done, m in reports[1:]
        if re.fullmatch(r"Spark stage [\d, ]+: \d+/\d+ tasks", m)
    ]
    assert len(stages) == len(reports) - 1
    if on(engine, "sail"):
        assert stages == []
    else:
        assert stages, reports
        assert all(0.0 <= done <= 1.0 for done, _ in stages)


def test_no_classic_driver_while_a_connect_session_is_open(remote: str) -> None:
    """pyspark's functions are Connect ones while a Connect session is open: a
    classic driver is refused then, and allowed (no Java asked here: the check
    comes first) once every Connect session closed (here: as it was before,
    since the session-scoped ``backend`` may hold one)."""
    before = os.environ.get("SPARK_CONNECT_MODE_ENABLED")
    first = backends.connect("spark", remote=remote)
    second = backends.connect("spark", remote=remote)
    try:
        first.close()
        first.close()  # twice is harmless
        assert os.environ.get("SPARK_CONNECT_MODE_ENABLED") == "1"
        with pytest.raises(ConfigurationError, match="while this process has a Spark Connect"):
            backends.connect("spark", master="local[1]")
        # The open session still works.
        assert second.to_rows(second.con.sql("SELECT 1 AS one")) == [{"one": 1}]
    finally:
        second.close()
    assert os.environ.get("SPARK_CONNECT_MODE_ENABLED") == before


def test_inspection_rows_round_trip() -> None:
    from backends._rawfiles import RawFile
    from backends._spark import _inspection_batch, _inspection_fact

    fact = RawFile("s3://b/a.tsv", 10, 2, "Date / Time\tCity", 1, True, False)
    for value in (fact, "a.tsv: line 3: invalid UTF-8"):
        row = _inspection_batch(7, value).to_pylist()[0]
        assert row["file_index"] == 7
        assert _inspection_fact(row) == value


def test_a_session_time_zone_other_than_utc_is_refused(remote: str) -> None:
    with pytest.raises(
        BackendUnavailableError, match=r"has the time zone America/New_York; ufo-etl needs UTC"
    ):
        backends.connect(
            "spark", remote=remote, conf={"spark.sql.session.timeZone": "America/New_York"}
        )


@pytest.mark.connect
def test_a_conf_the_connect_server_refuses_is_a_configuration_error(
    spark_connect_server: str,
) -> None:
    """Spark's server refuses to change a static setting; Sail accepts any."""
    with pytest.raises(
        ConfigurationError,
        match=r"\[spark\] conf spark.executor.memory cannot be set over Spark Connect "
        r"\(AnalysisException\); set it when starting the server",
    ):
        backends.connect("spark", remote=spark_connect_server, conf={"spark.executor.memory": "3g"})


@pytest.mark.slow
def test_master_and_remote_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="master .* and remote .* are exclusive"):
        backends.connect("spark", master="local[2]", remote="sc://127.0.0.1:1")
    raw = tmp_path / "raw.tsv"
    generate(10, raw, seed=1)
    both = luigi_cli(*pipeline_args(raw, tmp_path / "out", "--etl-backend", "spark",
                                    "--spark-master", "local[2]",
                                    "--spark-remote", "sc://127.0.0.1:1"))  # fmt: skip
    assert both.returncode != 0
    assert "are both set: they are exclusive" in both.stderr
    flags = subprocess.run(
        [sys.executable, "-m", "etl", "shell", "--backend", "spark", "--spark-master", "local[2]",
         "--spark-remote", "sc://127.0.0.1:1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=no_java_env(),
    )  # fmt: skip
    assert flags.returncode == 1
    assert (
        flags.stderr.strip() == "error: --spark-master and --spark-remote are exclusive: give one"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:15002", "sc://", "sc://host:port", "127.0.0.1:15002"]
)
def test_a_malformed_remote_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="is not sc://host:port"):
        backends.connect("spark", remote=url)


def test_the_remote_token_is_never_quoted() -> None:
    with pytest.raises(BackendUnavailableError) as error:
        backends.connect(
            "spark", remote="sc://127.0.0.1:1/;token=s3cr3t;use_ssl=true", master_timeout=2
        )
    assert "s3cr3t" not in str(error.value)
    assert "sc://127.0.0.1:1" in str(error.value)


@pytest.mark.slow
def test_an_unreachable_remote_fails_fast_without_java() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
    env = no_java_env()
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "etl", "shell", "--backend", "spark",
         "--spark-remote", f"sc://127.0.0.1:{port}", "--timeout", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert time.monotonic() - start < 60
    assert re.fullmatch(
        rf"error: cannot reach the Spark Connect server sc://127\.0\.0\.1:{port} within 3 s "
        r"\(.*\); is it running\? \(--spark-remote, \[spark\] remote\)\n",
        result.stderr,
    ), result.stderr


@pytest.fixture
def not_grpc() -> Iterator[int]:
    """A port that accepts TCP connections and never speaks HTTP/2."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield int(server.getsockname()[1])
    server.close()


def test_a_port_that_is_not_spark_connect_fails_within_the_timeout(not_grpc: int) -> None:
    start = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="accepts connections but no gRPC channel"):
        backends.connect("spark", remote=f"sc://127.0.0.1:{not_grpc}", master_timeout=2)
    assert time.monotonic() - start < 10


def test_explore_flags_replace_the_other_spark_setting() -> None:
    import luigi

    from backends import S3Settings
    from etl.explore import Settings

    def options(master: str | None, remote: str | None) -> dict[str, Any]:
        settings = Settings("spark", "raw", "tsv", "data", master, 5.0, S3Settings(), remote)
        return settings.backend_options()

    config = luigi.configuration.get_config()
    saved = config.get("spark", "master", None)
    config.set("spark", "master", "local[3]")
    try:
        assert options(None, None)["master"] == "local[3]"
        over = options(None, "sc://h:15002")
        assert over["remote"] == "sc://h:15002" and "master" not in over
        assert options("local[1]", None)["master"] == "local[1]"
        with pytest.raises(ConfigurationError, match="exclusive: give one"):
            options("local[1]", "sc://h:15002")
    finally:
        if saved is None:
            config.remove_option("spark", "master")
        else:
            config.set("spark", "master", saved)
