"""Shared fixtures: one session-scoped backend fixture parametrised over engines.

``pytest`` runs the DuckDB set; ``pytest -m spark`` runs the same tests on Spark
in local mode; ``pytest -m cluster`` runs the standalone-cluster tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import backends  # noqa: E402
from backends import Backend  # noqa: E402

SHARED_DATA = Path(
    os.environ.get("UFO_SHARED_DATA", ROOT.parent / "shared" / "data" / "ufo")
)

# Spark must bind to loopback and run this interpreter on its executors.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

SPARK_TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
}

BACKEND_PARAMS = [
    pytest.param("duckdb", marks=pytest.mark.duckdb, id="duckdb"),
    pytest.param("spark", marks=pytest.mark.spark, id="spark"),
]


def connect_backend(name: str) -> Backend:
    if name == "spark":
        return backends.connect("spark", master="local[2]", conf=SPARK_TEST_CONF)
    return backends.connect(name)


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The engine under test, started once for the whole session."""
    engine = connect_backend(request.param)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real NUFORC files, or a skip naming the missing folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real NUFORC files not found at {SHARED_DATA} (set UFO_SHARED_DATA)")
    return SHARED_DATA
