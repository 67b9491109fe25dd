"""Reading raw files: wall time and the worker's own Python memory, per engine.

Each run is a fresh process that connects an engine, reads one raw file with
``Backend.read_raw`` and has the engine count the classified records by reason
(so that every record is parsed), then reports:

- ``wall_s``: from just before ``read_raw`` to the counts;
- ``rss_growth_mib``: how much the peak resident memory of that Python process
  (the Luigi worker; on Spark the driver, its JVM and executors not included)
  grew over what it was once the engine had started: what reading the raw file
  cost the worker's Python process (the engine's own memory included: DuckDB
  runs inside it);
- ``python_peak_mib``: the peak of the memory Python itself allocated
  (``tracemalloc``: bytes, lists, Arrow buffers excluded) while reading: what a
  Python object per record, or a whole file as ``bytes``, would show;
- ``records``: what the inspection counted, equal to the classified records.

Usage, from the repository root (Spark needs ``JAVA_HOME`` at Java 17 and
``SPARK_LOCAL_IP=127.0.0.1``)::

    python -m benchmarks.raw_read --rows 100000 1000000 --work /tmp/raw-bench
    python -m benchmarks.raw_read --rows 100000 --engines duckdb --formats csv

Data comes from ``etl.generate`` (TSV); the CSV file holds the same records,
written by the csv module (fields with commas, quotes or line breaks quoted).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ENGINES = ("duckdb", "spark")
FORMATS = ("tsv", "csv")


def make_data(rows: int, work: Path) -> dict[str, Path]:
    """The TSV and CSV files of ``rows`` records (made once, then reused)."""
    from etl.generate import generate

    work.mkdir(parents=True, exist_ok=True)
    tsv, out = work / f"raw_{rows}.tsv", work / f"raw_{rows}.csv"
    if not tsv.exists():
        generate(rows, tsv, seed=0)
    if not out.exists():
        with (
            open(tsv, encoding="utf-8", newline="") as source,
            open(out, "w", encoding="utf-8", newline="") as target,
        ):
            writer = csv.writer(target, lineterminator="\n")
            for line in source:
                line = line.rstrip("\r\n")
                if line:
                    writer.writerow(line.split("\t"))
    return {"tsv": tsv, "csv": out}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(engine: str, raw_format: str, path: str) -> dict[str, Any]:
    """Read ``path`` on ``engine`` in this process and measure it."""
    import backends
    import transforms

    options: dict[str, Any] = {"master": "local[2]"} if engine == "spark" else {}
    backend = backends.connect(engine, **options)
    try:
        started_mib = _peak_rss_mib()
        tracemalloc.start()
        start = time.perf_counter()
        raw = backend.read_raw(path, raw_format)
        counts = backend.to_rows(transforms.reason_counts(transforms.classify(raw.records)))
        wall = time.perf_counter() - start
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        backend.close()
    classified = sum(int(row["records"]) for row in counts)
    return {
        "engine": engine,
        "format": raw_format,
        "file_mib": round(os.path.getsize(path) / 2**20, 1),
        "records": raw.expected_records,
        "classified": classified,
        "wall_s": round(wall, 2),
        "rss_growth_mib": round(_peak_rss_mib() - started_mib, 1),
        "python_peak_mib": round(python_peak / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/ufo-raw-bench"))
    parser.add_argument(
        "--child", nargs=3, metavar=("ENGINE", "FORMAT", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return 0
    print(
        "| engine | format | rows | file MiB | records | wall s "
        "| worker RSS growth MiB | Python peak MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    failed = 0
    for rows in args.rows:
        files = make_data(rows, args.work)
        for engine in args.engines:
            for raw_format in args.formats:
                child = subprocess.run(
                    [sys.executable, "-m", "benchmarks.raw_read", "--child", engine,
                     raw_format, str(files[raw_format])],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if child.returncode:
                    failed += 1
                    print(f"| {engine} | {raw_format} | {rows} | failed: "
                          f"{child.stderr.strip().splitlines()[-1:]} ||||||")  # fmt: skip
                    continue
                r = json.loads(child.stdout.strip().splitlines()[-1])
                ok = "" if r["records"] == r["classified"] else " (classified differs!)"
                print(f"| {engine} | {raw_format} | {rows} | {r['file_mib']} | {r['records']}{ok} "
                      f"| {r['wall_s']} | {r['rss_growth_mib']} | {r['python_peak_mib']} |",
                      flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
