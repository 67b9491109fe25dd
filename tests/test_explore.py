"""``python -m etl shell|sql|preview|runs``: real subprocesses on a real pipeline run.

The module runs the pipeline once (``python -m luigi ... UFOPipeline`` on the
sample), then drives each command as a subprocess on DuckDB and, with
``pytest -m spark``, on Spark ``local[2]``. Settings reach every subprocess
through ``LUIGI_CONFIG_PATH``, as they would reach a pipeline run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SPARK_TEST_CONF, free_port

from backends import DatasetLocation
from etl.explore import DATASETS, format_table, main

RUN_DATE = dt.date(2024, 5, 17)
PARTIAL_DATE = dt.date(2024, 5, 18)
"""Newer than RUN_DATE, with only ``sightings`` and ``rejects`` complete."""
SAMPLE = ROOT / "data" / "raw" / "ufo_sample.tsv"
BACKEND_NAMES = [
    pytest.param("duckdb", marks=pytest.mark.duckdb, id="duckdb"),
    pytest.param("spark", marks=pytest.mark.spark, id="spark"),
]


@dataclass(frozen=True)
class Run:
    """A complete pipeline run and the settings that produced it."""

    data_root: Path
    work: Path
    env: dict[str, str]

    def dataset(self, name: str, date: dt.date = RUN_DATE) -> pa.Table:
        location = DatasetLocation(str(self.data_root), name, date)
        return pa.concat_tables([pq.read_table(f) for f in location.data_files()])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("explore")
    data_root = work / "out"
    config = work / "luigi.cfg"
    config.write_text(
        "\n".join(
            [
                "[etl]",
                f"raw_path = {SAMPLE}",
                f"data_root = {data_root}",
                "[spark]",
                "master = local[2]",
                f"conf = {json.dumps(SPARK_TEST_CONF)}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    # No PostgreSQL load: this module is about the datasets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LUIGI_CONFIG_PATH"] = str(config)
    pipeline = subprocess.run(
        [
            sys.executable,
            "-m",
            "luigi",
            "--module",
            "etl",
            "UFOPipeline",
            "--local-scheduler",
            "--date",
            RUN_DATE.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pipeline.returncode == 0, pipeline.stderr[-3000:]
    for name in ("sightings", "rejects"):
        shutil.copytree(
            DatasetLocation(str(data_root), name, RUN_DATE).uri,
            DatasetLocation(str(data_root), name, PARTIAL_DATE).uri,
        )
    return Run(data_root=data_root, work=work, env=env)


def etl_cli(
    run: Run, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        cwd=ROOT,
        env={**run.env, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def table_rows(text: str) -> list[list[str]]:
    """The cells of a printed table (header first, the dashes skipped)."""
    lines = text.splitlines()
    assert re.fullmatch(r"[- ]+", lines[1]), text
    return [re.split(r" {2,}", line.strip()) for line in [lines[0], *lines[2:]]]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in errors[0], errors[0]


# --------------------------------------------------------------------------
# The commands, on each backend
# --------------------------------------------------------------------------

SQL_INPUTS = {
    "sightings": "raw_records",
    "rejects": "raw_records",
    "top10_states": "by_state",
    "top10_shapes": "by_shape",
}
"""The table each dataset's SQL reads, when it is not ``sightings``."""

# Per backend: run the printed SQL text itself, as the engine's own SQL, into a view.
RUN_SQL = {
    "duckdb": 'run_sql = lambda name, text: (con.raw_sql(f"CREATE OR REPLACE TEMP VIEW check_{name} AS\\n{text}"), con.table(f"check_{name}"))[1]',
    "spark": 'run_sql = lambda name, text: (backend.session.sql(text).createOrReplaceTempView(f"check_{name}"), con.table(f"check_{name}"))[1]',
}
SHELL_SESSION = """\
raw.count().execute()
print("DATE", run_date, type(sightings).__name__, sorted(transforms.__all__)[:2])
{run_sql}
as_text = lambda t: t.select(*[t[c].cast("string").name(c) for c in t.columns])
tagged = lambda t, side: as_text(t).mutate(_side=ibis.literal(side))
differing = lambda a, b: tagged(a, 1).union(tagged(b, -1), distinct=False).group_by(a.columns).aggregate(_n=ibis._._side.sum()).filter(ibis._._n != 0).count()
same = lambda a, b: (a.count().execute(), differing(a, b).execute())
files = {files!r}
_ = [print("SQL", name, *same(run_sql(name, open(path).read()), con.table(name))) for name, path in files.items()]
print("VIA-IBIS", *same(con.sql(open(files["by_state"]).read()), by_state))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_shell_evaluates_raw_and_runs_the_printed_sql(run: Run, backend_name: str) -> None:
    # `sql` for every dataset, side by side (it compiles; it starts no engine).
    printing = {
        name: subprocess.Popen(
            [sys.executable, "-m", "etl", "sql", name, "--backend", backend_name],
            cwd=ROOT,
            env=run.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in DATASETS
    }
    files = {}
    for name, process in printing.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert out.startswith(f"-- {name} on {backend_name}, compiled by Ibis"), out[:300]
        quote = "`" if backend_name == "spark" else '"'
        source = SQL_INPUTS.get(name, "sightings")
        assert f"FROM {quote}{source}{quote}" in out, out
        files[name] = str(run.work / f"{backend_name}-{name}.sql")
        Path(files[name]).write_text(out, encoding="utf-8")

    session = SHELL_SESSION.format(run_sql=RUN_SQL[backend_name], files=files)
    shell = etl_cli(run, "shell", "--backend", backend_name, stdin=session)
    assert shell.returncode == 0, shell.stderr[-3000:]
    assert "Traceback" not in shell.stderr, shell.stderr[-3000:]
    # The banner: backend, files, date (the latest complete run, not the newer partial one).
    assert f"ufo-etl shell on {backend_name}" in shell.stderr
    assert f"raw       {SAMPLE}: tsv, " in shell.stderr
    assert f"date      {RUN_DATE} (the latest complete run)" in shell.stderr

    lines = shell.stdout.splitlines()
    raw_records = run.dataset("sightings").num_rows + run.dataset("rejects").num_rows
    assert lines[0] == str(raw_records)
    assert lines[1] == f"DATE {RUN_DATE} Table ['Classified', 'HEADER']"
    checked = {}
    for line in lines:
        if line.startswith("SQL "):
            _, name, *counts = line.split()
            checked[name] = [int(c) for c in counts]
    # Per dataset: the rows of its SQL, and the rows that differ from the dataset.
    expected = {name: [run.dataset(name).num_rows, 0] for name in DATASETS}
    assert checked == expected
    assert lines[-1] == f"VIA-IBIS {expected['by_state'][0]} 0"


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_preview_prints_the_first_rows(run: Run, backend_name: str) -> None:
    result = etl_cli(run, "preview", "top10_states", "--limit", "3", "--backend", backend_name)
    assert result.returncode == 0, result.stderr[-3000:]
    header, *rows = table_rows(result.stdout.rsplit("\n(", 1)[0])
    assert header == ["rank", "state", "sightings"]
    expected = run.dataset("top10_states").slice(0, 3).to_pylist()
    assert rows == [[str(r["rank"]), r["state"], str(r["sightings"])] for r in expected]
    assert result.stdout.splitlines()[-1] == (
        f"(3 of 10 rows of top10_states, {RUN_DATE}, read by {backend_name})"
    )


@pytest.mark.slow
def test_preview_of_a_date_shows_nulls_and_cuts_long_values(run: Run) -> None:
    result = etl_cli(run, "preview", "rejects", "--date", PARTIAL_DATE.isoformat(), "--limit", "20")
    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout.rsplit("\n(", 1)[0])
    assert header[-2:] == ["raw_line", "reason"]
    rejects = run.dataset("rejects", PARTIAL_DATE)
    assert len(rows) == min(20, rejects.num_rows)
    assert "NULL" in {row[header.index("raw_line")] for row in rows}
    assert all(len(cell) <= 40 for row in rows for cell in row)
    assert f"of {rejects.num_rows} rows of rejects, {PARTIAL_DATE}" in result.stdout


@pytest.mark.slow
def test_shell_on_a_partial_date_without_raw_files(run: Run) -> None:
    missing = run.work / "nothing-*.tsv"
    result = etl_cli(
        run,
        "shell",
        "--date",
        PARTIAL_DATE.isoformat(),
        "--raw-path",
        str(missing),
        stdin="print(raw, sorted(n for n in dir() if n in transforms.__all__))\nrejects.count().execute()\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"raw       not loaded: raw_path '{missing}' matches no tsv file" in result.stderr
    assert f"date      {PARTIAL_DATE} under" in result.stderr
    assert "not complete: by_state, top10_states, by_shape, top10_shapes, by_month" in result.stderr
    assert result.stdout.splitlines() == [
        "None ['rejects', 'sightings']",
        str(run.dataset("rejects", PARTIAL_DATE).num_rows),
    ]


@pytest.mark.slow
def test_runs_lists_each_date_with_its_complete_datasets(run: Run) -> None:
    result = etl_cli(run, "runs")
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == [
        ["date", "complete", "datasets"],
        [str(RUN_DATE), f"{len(DATASETS)}/{len(DATASETS)}", ", ".join(DATASETS)],
        [str(PARTIAL_DATE), f"2/{len(DATASETS)}", "sightings, rejects"],
    ]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_unknown_dataset_is_a_usage_error(run: Run) -> None:
    for command in ("sql", "preview"):
        result = etl_cli(run, command, "ufo_pilots")
        assert result.returncode == 2, result.stderr
        assert "unknown dataset 'ufo_pilots': choose one of sightings, rejects" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_date_without_complete_output_is_an_error(run: Run) -> None:
    # sightings is complete for PARTIAL_DATE, by_state is not.
    preview = etl_cli(run, "preview", "by_state", "--date", PARTIAL_DATE.isoformat())
    assert_one_line_error(
        preview,
        f"dataset by_state for {PARTIAL_DATE} is not complete",
        f"complete dates: {RUN_DATE}",
    )
    shell = etl_cli(run, "shell", "--date", "2001-01-01", stdin="print('started')\n")
    assert_one_line_error(shell, "no complete dataset for 2001-01-01")
    assert "started" not in shell.stdout
    empty = etl_cli(run, "preview", "by_state", "--data-root", str(run.work / "nothing"))
    assert_one_line_error(empty, "no complete run under", "run the pipeline first")


@pytest.mark.slow
def test_spark_without_java_names_java_home(run: Run, tmp_path: Path) -> None:
    no_java = tmp_path / "no-java-here"
    no_java.mkdir()
    result = etl_cli(
        run, "preview", "by_state", "--backend", "spark", env={"JAVA_HOME": str(no_java)}
    )
    assert_one_line_error(result, f"JAVA_HOME={no_java}")


@pytest.fixture
def silent_master() -> Iterator[int]:
    """A port that accepts no more connections: its listen queue is full, so a
    connection attempt waits until its timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    queued = []
    for _ in range(5):
        client = socket.socket()
        client.settimeout(0.5)
        try:
            client.connect(("127.0.0.1", port))
        except OSError:
            client.close()
            break
        queued.append(client)
    else:
        pytest.skip("this system's listen queue never fills")
    yield port
    for client in queued:
        client.close()
    server.close()


@pytest.mark.slow
def test_unreachable_spark_master_fails_within_the_timeout(run: Run, silent_master: int) -> None:
    refused = f"spark://127.0.0.1:{free_port()}"
    result = etl_cli(run, "shell", "--backend", "spark", "--spark-master", refused)
    assert_one_line_error(result, f"cannot reach the Spark master {refused} within 10 s")

    silent = f"spark://127.0.0.1:{silent_master}"
    started = time.monotonic()
    result = etl_cli(
        run, "preview", "by_state", "--backend", "spark", "--spark-master", silent, "--timeout", "2"
    )
    elapsed = time.monotonic() - started
    assert_one_line_error(result, f"cannot reach the Spark master {silent} within 2 s", "timed out")
    assert 2 <= elapsed < 30


# --------------------------------------------------------------------------
# In process: usage errors and the table printer
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [[], ["preview"], ["preview", "by_state", "--limit", "0"], ["shell", "--date", "2024-02-30"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: python -m etl" in capsys.readouterr().err


def test_format_table_aligns_numbers_and_marks_nulls() -> None:
    text = format_table(
        ["when", "state", "n", "note"],
        [
            [dt.datetime(2014, 3, 18, 21, 0), "CA", 1234, "a\tb"],
            [dt.date(2014, 3, 18), None, 5.5, "x" * 50],
        ],
    )
    assert text.splitlines() == [
        "when                 state     n  note",
        "-------------------  -----  ----  ----------------------------------------",
        "2014-03-18 21:00:00  CA     1234  a\\tb",
        "2014-03-18           NULL    5.5  " + "x" * 39 + "…",
    ]
