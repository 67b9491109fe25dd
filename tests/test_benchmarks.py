"""Smoke runs of the benchmark harness (``python -m benchmarks.run``) on a tiny
file, one repetition, so that the harness and the hand-written baselines cannot
rot. Timing targets are not asserted: only that every variant ran, wrote the
same seven datasets as ufo-etl, and that the report was written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

# benchmarks/ is not an installed package: it runs from the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 2_000


def run_harness(tmp_path: Path, *variants: str) -> tuple[str, dict[str, object]]:
    out = tmp_path / "benchmarks.md"
    cache = tmp_path / "cache"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--rows",
            str(ROWS),
            "--repeat-small",
            "1",
            "--repeat-large",
            "1",
            "--variants",
            *variants,
            "--out",
            str(out),
            "--cache",
            str(cache),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (cache / "raw" / f"ufo-{ROWS}-seed0.tsv").exists()
    report = json.loads((cache / "last-run.json").read_text(encoding="utf-8"))
    return out.read_text(encoding="utf-8"), report


def assert_variants_agree(text: str, report: dict[str, object], variants: list[str]) -> None:
    results = report["results"]
    assert isinstance(results, list)
    assert [r["variant"] for r in results] == variants
    for result in results:
        assert [run["returncode"] for run in result["runs"]] == [0], result
        assert result["problems"] == [], result
        # The first variant is the reference; every other one was compared with it.
        assert result["equal"] is (None if result["variant"] == variants[0] else True)
        row = next(
            line for line in text.splitlines() if line.startswith(f"| {result['variant']} |")
        )
        assert f"| {ROWS:,} |" in row
        assert ("| reference |" if result["equal"] is None else "| yes |") in row
    assert "<!-- benchmarks:results:start -->" in text
    assert "### Targets" in text
    assert "CPU:" in text and "DuckDB:" in text


@pytest.mark.slow
def test_harness_smoke_duckdb_and_pandas(tmp_path: Path) -> None:
    variants = ["ufo-etl-duckdb", "duckdb-sql", "pandas"]
    text, report = run_harness(tmp_path, *variants)
    assert_variants_agree(text, report, variants)
    overhead = report["luigi_overhead"]
    assert isinstance(overhead, dict)
    assert set(overhead) == {
        "cli_pipeline_complete",
        "pipeline_complete",
        "trivial_seven",
        "trivial_seven_complete",
    }
    assert "### Luigi's own overhead" in text


@pytest.mark.spark
def test_harness_smoke_spark(tmp_path: Path) -> None:
    variants = ["ufo-etl-duckdb", "ufo-etl-spark", "pyspark"]
    text, report = run_harness(tmp_path, *variants)
    assert_variants_agree(text, report, variants)
    assert "ufo-etl Spark / PySpark" in text


def test_report_replaces_only_its_block(tmp_path: Path) -> None:
    from benchmarks import _report

    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nintro\n\n{_report.START}\nold\n{_report.END}\n\nafter\n")
    _report.write(str(page), f"{_report.START}\nnew\n{_report.END}\n")
    assert page.read_text() == f"# Title\n\nintro\n\n{_report.START}\nnew\n{_report.END}\n\nafter\n"


def test_memory_sizes() -> None:
    from benchmarks._common import memory_bytes

    assert memory_bytes("2GB") == 2_000_000_000
    assert memory_bytes("2GiB") == 2 * 2**30
    assert memory_bytes("1500MB") == 1_500_000_000
    assert memory_bytes("2g") == 2 * 2**30
    with pytest.raises(ValueError, match="not a memory size"):
        memory_bytes("lots")
