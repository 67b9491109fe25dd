"""The pipeline on a real Spark standalone cluster, checked against DuckDB.

Run alone with ``pytest -m cluster``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TEST_JVM_CONF, SparkCluster
from test_pipeline import DATASETS, RUN_DATE, _cli, _sort_key, read_dataset

from etl.generate import generate

pytestmark = pytest.mark.cluster


def test_pipeline_on_a_standalone_cluster_equals_duckdb(
    spark_cluster: SparkCluster, tmp_path: Path, shared_data: Path
) -> None:
    # The course files and a generated file with every kind of dirt, in one run.
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for course_file in shared_data.glob("itam_raw_*.tsv"):
        shutil.copy(course_file, raw_dir / course_file.name)
    generate(20_000, raw_dir / "generated.tsv", seed=7)
    raw = str(raw_dir)
    app_name = f"ufo-etl-test-{tmp_path.name}"
    common = [
        "UFOPipeline",
        "--local-scheduler",
        "--date",
        RUN_DATE.isoformat(),
        "--etl-raw-path",
        raw,
    ]
    conf = {
        "spark.ui.enabled": "false",
        "spark.executor.memory": "1g",
        "spark.cores.max": "2",
        "spark.driver.host": "127.0.0.1",
        **TEST_JVM_CONF,
    }
    on_cluster = _cli(
        *common,
        "--etl-data-root",
        str(tmp_path / "spark"),
        "--etl-backend",
        "spark",
        "--spark-master",
        spark_cluster.url,
        "--spark-conf",
        json.dumps(conf),
        "--spark-app-name",
        app_name,
    )
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:]
    # The master ran the job: the application is registered as completed.
    assert any(app["name"] == app_name for app in spark_cluster.state()["completedapps"])
    on_duckdb = _cli(*common, "--etl-data-root", str(tmp_path / "duckdb"))
    assert on_duckdb.returncode == 0, on_duckdb.stderr[-3000:]
    for name in DATASETS:
        spark_table = read_dataset(str(tmp_path / "spark"), name)
        duckdb_table = read_dataset(str(tmp_path / "duckdb"), name)
        assert [(f.name, f.type) for f in spark_table.schema] == [
            (f.name, f.type) for f in duckdb_table.schema
        ], name
        assert sorted(spark_table.to_pylist(), key=_sort_key) == sorted(
            duckdb_table.to_pylist(), key=_sort_key
        ), name
