"""The variants the harness measures, the command line of each, and where each
writes its datasets.

Three kinds:

- ``ufo-etl``: the pipeline through Luigi, as a user runs it
  (``python -m luigi --module etl UFODatasets --local-scheduler ...``), on
  DuckDB, on Spark ``local[N]`` (the worker is the driver), or over Spark
  Connect on a server the harness starts for the scenario (``ufo-etl-connect``:
  Spark's own ``SparkConnectServer``, ``local[N]``; ``ufo-etl-sail``: Sail);
- ``expert``: the hand-written scripts of ``../shared/baselines/`` (DuckDB SQL,
  PySpark, pandas), run in place from that folder: the yardstick;
- ``baseline``: the project's own hand-written versions
  (``benchmarks/baseline_*.py``), optional, one TSV file only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from benchmarks._common import DATASETS, memory_bytes

ROOT: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASELINES: Final = os.path.join(os.path.dirname(ROOT), "shared", "baselines")
"""``<repo>/../shared/baselines``: the expert scripts (never copied into the repository)."""
LAUNCHER: Final = os.path.join(ROOT, "benchmarks", "_duckdb_limits.py")

Kind = Literal["ufo-etl", "expert", "baseline"]


@dataclass(frozen=True)
class Variant:
    name: str
    kind: Kind
    engine: Literal["duckdb", "spark", "pandas"]
    program: str | None = None
    """The expert's script (a file name in ``--baselines``) or the baseline's module."""
    yardstick: str | None = None
    """The expert whose time and peak memory this variant's are divided by."""
    task: str = "UFODatasets"
    """ufo-etl only: the Luigi task run."""
    server: Literal["spark-connect", "sail"] | None = None
    """ufo-etl on Spark only: the Spark Connect server it is a client of (see
    ``benchmarks/_servers.py``), or None for a classic driver."""

    @property
    def spark(self) -> bool:
        return self.engine == "spark"

    @property
    def takes_several_files(self) -> bool:
        """Whether it reads a directory (ufo-etl) or several files (the experts)."""
        return self.kind != "baseline"

    @property
    def formats(self) -> tuple[str, ...]:
        """The raw formats it reads: the experts and the baselines read TSV only."""
        return ("tsv", "csv") if self.kind == "ufo-etl" else ("tsv",)


VARIANTS: Final = {
    v.name: v
    for v in (
        Variant("ufo-etl-duckdb", "ufo-etl", "duckdb", yardstick="expert-duckdb-sql"),
        Variant("ufo-etl-spark", "ufo-etl", "spark", yardstick="expert-pyspark"),
        Variant(
            "ufo-etl-connect",
            "ufo-etl",
            "spark",
            yardstick="expert-pyspark",
            server="spark-connect",
        ),
        Variant("ufo-etl-sail", "ufo-etl", "spark", yardstick="expert-pyspark", server="sail"),
        Variant("expert-duckdb-sql", "expert", "duckdb", "duckdb_sql.py"),
        Variant("expert-pyspark", "expert", "spark", "spark_df.py"),
        Variant("expert-pandas", "expert", "pandas", "pandas_df.py"),
        Variant(
            "duckdb-sql",
            "baseline",
            "duckdb",
            "benchmarks.baseline_duckdb_sql",
            yardstick="expert-duckdb-sql",
        ),
        Variant(
            "pyspark",
            "baseline",
            "spark",
            "benchmarks.baseline_pyspark",
            yardstick="expert-pyspark",
        ),
        Variant(
            "pandas", "baseline", "pandas", "benchmarks.baseline_pandas", yardstick="expert-pandas"
        ),
    )
}
DEFAULT_VARIANTS: Final = (
    "ufo-etl-duckdb",
    "ufo-etl-spark",
    "expert-duckdb-sql",
    "expert-pyspark",
    "expert-pandas",
)
"""The project's own baselines are not the yardstick, and the Spark Connect
variants need their servers: run them with ``--variants``."""

PIPELINE: Final = Variant(
    "ufo-etl-duckdb-pipeline",
    "ufo-etl",
    "duckdb",
    yardstick="expert-duckdb-sql",
    task="UFOPipeline",
)
"""``UFOPipeline`` (the datasets and the report) on DuckDB: the ``pipeline`` scenario."""


@dataclass(frozen=True)
class Settings:
    threads: int
    memory_limit: str
    date: dt.date
    java_home: str | None
    timeout_s: float
    interval_s: float
    baselines: str
    """The folder of the expert scripts."""
    limit_expert_duckdb: bool = True
    """Give the DuckDB expert the memory limit (through ``_duckdb_limits.py``)."""
    max_load: float | None = None
    """Start each run once the one-minute load average is below this (None: at once)."""

    @property
    def spark_memory(self) -> str:
        """The memory limit as the JVM reads it (MiB)."""
        return f"{memory_bytes(self.memory_limit) >> 20}m"


def expert_script(variant: Variant, settings: Settings) -> str:
    assert variant.kind == "expert"
    assert variant.program
    return os.path.join(settings.baselines, variant.program)


def missing_expert(variant: Variant, settings: Settings) -> str | None:
    """Why the expert ``variant`` cannot run here, or None."""
    if variant.kind != "expert":
        return None
    script = expert_script(variant, settings)
    if not os.path.isdir(settings.baselines):
        return f"{settings.baselines} is absent (--baselines)"
    if not os.path.isfile(script):
        return f"{script} is absent"
    return None


def command(
    variant: Variant,
    raw_path: str,
    files: Sequence[str],
    raw_format: str,
    out: str,
    settings: Settings,
    remote: str | None = None,
) -> list[str]:
    """The command line that runs ``variant`` and writes under ``out``.

    ufo-etl gets ``raw_path`` (a file or a directory) and ``raw_format``; the
    experts get every file of ``files``; a baseline gets the one file. A Spark
    Connect variant gets ``remote``, its server's ``sc://`` URL.
    """
    python = sys.executable
    threads = str(settings.threads)
    spill = os.path.join(out, ".duckdb-spill")
    if variant.kind == "expert":
        script = expert_script(variant, settings)
        common = ["--raw", *files, "--out", out]
        if variant.engine == "duckdb":
            run = [python, script, *common, "--threads", threads]
            if not settings.limit_expert_duckdb:
                return run
            # The script takes no memory limit: the launcher sets DuckDB's on
            # every connection it opens, then runs the script unchanged.
            limits = ["--memory-limit", settings.memory_limit, "--temp-directory", spill]
            return [python, LAUNCHER, *limits, "--", *run[1:]]
        if variant.engine == "spark":
            master = f"local[{threads}]"
            return [
                python,
                script,
                *common,
                "--master",
                master,
                "--driver-memory",
                settings.spark_memory,
            ]
        return [python, script, *common]
    if variant.kind == "baseline":
        assert variant.program
        assert len(files) == 1
        return [
            python,
            "-m",
            variant.program,
            "--raw",
            files[0],
            "--out",
            out,
            "--threads",
            threads,
            "--memory-limit",
            settings.memory_limit,
        ]
    luigi = [
        python,
        "-m",
        "luigi",
        "--module",
        "etl",
        variant.task,
        "--local-scheduler",
        "--date",
        settings.date.isoformat(),
        "--etl-raw-path",
        raw_path,
        "--etl-raw-format",
        raw_format,
        "--etl-data-root",
        out,
    ]
    if variant.server:
        if remote is None:
            raise ValueError(f"{variant.name} needs its Spark Connect server's URL")
        # The server has the driver's memory and threads (benchmarks/_servers.py).
        return [*luigi, "--etl-backend", "spark", "--spark-remote", remote]
    if variant.spark:
        conf = {"spark.driver.memory": settings.spark_memory, "spark.ui.enabled": "false"}
        return [
            *luigi,
            "--etl-backend",
            "spark",
            "--spark-master",
            f"local[{threads}]",
            "--spark-conf",
            json.dumps(conf),
        ]
    return [
        *luigi,
        "--etl-backend",
        "duckdb",
        "--duckdb-threads",
        threads,
        "--duckdb-memory-limit",
        settings.memory_limit,
        "--duckdb-temp-directory",
        spill,
    ]


def working_directory(variant: Variant, out: str) -> str:
    """ufo-etl and the baselines run from the repository root (``luigi.cfg``,
    ``python -m``); the experts from their run's output directory, so that
    nothing they or their engine leave behind lands in the read-only
    ``../shared/baselines`` or in the repository."""
    return out if variant.kind == "expert" else ROOT


def dataset_paths(variant: Variant, out: str, date: dt.date) -> dict[str, str]:
    """Where ``variant`` wrote each of the seven compared datasets (a directory
    of Parquet files, or one Parquet file)."""
    if variant.kind == "ufo-etl":
        return {d: os.path.join(out, "ufo", "etl", d, f"date={date.isoformat()}") for d in DATASETS}
    if variant.kind == "baseline":
        return {d: os.path.join(out, d) for d in DATASETS}
    # The DuckDB and pandas experts write <out>/<name>.parquet, the Spark one <out>/<name>/.
    paths = {}
    for d in DATASETS:
        single = os.path.join(out, f"{d}.parquet")
        paths[d] = single if os.path.exists(single) else os.path.join(out, d)
    return paths


def environment(settings: Settings) -> dict[str, str]:
    """The variants' environment: no PostgreSQL, the same thread caps, Java for Spark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    threads = str(settings.threads)
    # OMP_NUM_THREADS also caps Arrow's CPU pool (pandas' Arrow kernels, Parquet).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = threads
    if settings.java_home:
        env["JAVA_HOME"] = settings.java_home
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env["PYTHONUNBUFFERED"] = "1"
    # Run the working tree's etl, transforms and backends (ufo-etl runs from ROOT).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    return env
