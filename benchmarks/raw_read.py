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


def _read_bytes(pid: int | str = "self") -> int:
    """Bytes the process has read through read(2) and friends so far (``rchar``)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def _jvm_pid() -> int | None:
    """The Spark driver's JVM: the java child of this process."""
    import psutil  # type: ignore[import-untyped,unused-ignore]

    for child in psutil.Process().children(recursive=True):
        if child.name() == "java":
            return int(child.pid)
    return None


def _peak_rss_of_mib(pid: int) -> float:
    """Peak resident memory of another process (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_one(engine: str, raw_format: str, path: str, master: str) -> dict[str, Any]:
    """Read ``path`` on ``engine`` in this process and measure it."""
    import backends
    import transforms

    options: dict[str, Any] = {}
    if engine == "spark":
        options = {"master": master, "conf": {"spark.driver.memory": "2g"}}
        if master.startswith("spark://"):
            options["conf"] |= {"spark.executor.memory": "2g", "spark.driver.host": "127.0.0.1"}
    backend = backends.connect(engine, **options)
    jvm = _jvm_pid() if engine == "spark" else None
    try:
        started_mib = _peak_rss_mib()
        read_before = _read_bytes()
        jvm_read_before = _read_bytes(jvm) if jvm else 0
        tracemalloc.start()
        start = time.perf_counter()
        raw = backend.read_raw(path, raw_format)
        counts = backend.to_rows(
            transforms.reason_counts(transforms.record_reasons(transforms.classify(raw.records)))
        )
        wall = time.perf_counter() - start
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        python_read = _read_bytes() - read_before
        jvm_read = _read_bytes(jvm) - jvm_read_before if jvm else None
        jvm_peak = _peak_rss_of_mib(jvm) if jvm else None
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
        "python_read_mib": round(python_read / 2**20, 1),
        "jvm_read_mib": None if jvm_read is None else round(jvm_read / 2**20, 1),
        "jvm_peak_mib": None if jvm_peak is None else round(jvm_peak, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/ufo-raw-bench"))
    parser.add_argument(
        "--spark-master",
        default="local[2]",
        help="local[2] (default) or a standalone cluster's spark://host:port",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("ENGINE", "FORMAT", "PATH", "MASTER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return 0
    print(
        "| engine | format | rows | file MiB | records | wall s "
        "| worker RSS growth MiB | Python peak MiB | worker read MiB "
        "| driver JVM read MiB | driver JVM peak MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = 0
    for rows in args.rows:
        files = make_data(rows, args.work)
        for engine in args.engines:
            for raw_format in args.formats:
                child = subprocess.run(
                    [sys.executable, "-m", "benchmarks.raw_read", "--child", engine,
                     raw_format, str(files[raw_format]), args.spark_master],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if child.returncode:
                    failed += 1
                    print(f"| {engine} | {raw_format} | {rows} | failed: "
                          f"{child.stderr.strip().splitlines()[-1:]} ||||||")  # fmt: skip
                    continue
                r = json.loads(child.stdout.strip().splitlines()[-1])
                ok = "" if r["records"] == r["classified"] else " (classified differs!)"
                label = f"spark {args.spark_master}" if engine == "spark" else engine
                jvm = " | ".join(
                    "-" if r[k] is None else str(r[k]) for k in ("jvm_read_mib", "jvm_peak_mib")
                )
                print(f"| {label} | {raw_format} | {rows:,} | {r['file_mib']} | {r['records']}{ok} "
                      f"| {r['wall_s']} | {r['rss_growth_mib']} | {r['python_peak_mib']} "
                      f"| {r['python_read_mib']} | {jvm} |", flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
