"""Benchmark ufo-etl against hand-written DuckDB SQL, PySpark and pandas.

``python -m benchmarks.run`` (from the repository root) does, for each row count:

1. generates the raw TSV file with ``etl.generate`` (seed 0), cached in
   ``--cache`` between runs;
2. runs every variant as its own subprocess, repetitions interleaved (round 1:
   every variant, round 2: every variant, ...), measuring wall time, CPU time
   and the peak memory of the whole process tree:

   - ``ufo-etl-duckdb``, ``ufo-etl-spark``: ``python -m luigi --module
     benchmarks.pipeline UFODatasets --local-scheduler``, as a user runs it:
     the seven dataset tasks of ``UFOPipeline``, without its report and
     PostgreSQL load (``PG*`` variables are removed too);
   - ``duckdb-sql``, ``pyspark``, ``pandas``: the hand-written baselines;

3. checks after each variant's first run that its seven datasets equal the
   reference's (ufo-etl on DuckDB) and fails the run on any difference;
4. measures Luigi's own overhead with no data (``benchmarks.luigi_overhead``);
5. prints the report and writes it into ``--out`` (``docs/benchmarks.md``),
   with the raw numbers in ``<cache>/last-run.json``.

Every variant gets the same ``--threads`` and ``--memory-limit``: DuckDB's
``threads``/``memory_limit`` (spilling to the run's directory), Spark's
``local[threads]`` and ``spark.driver.memory``; pandas runs on one thread and
cannot be limited (Arrow's pools get ``--threads``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from benchmarks import _report
from benchmarks._common import DATASETS, memory_bytes
from benchmarks._compare import compare_datasets
from benchmarks._measure import Measurement, log_tail, run_measured
from benchmarks._report import Result

ROOT: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JAVA_HOME: Final = "/usr/lib/jvm/java-17-openjdk-amd64"


@dataclass(frozen=True)
class Variant:
    name: str
    module: str | None = None
    """The baseline's module; None for ufo-etl, which runs through Luigi."""
    baseline: str | None = None
    """The variant this one's time is divided by in the report."""
    spark: bool = False

    @property
    def ufo_etl(self) -> bool:
        return self.module is None


VARIANTS: Final = {
    v.name: v
    for v in (
        Variant("ufo-etl-duckdb", baseline="duckdb-sql"),
        Variant("ufo-etl-spark", baseline="pyspark", spark=True),
        Variant("duckdb-sql", module="benchmarks.baseline_duckdb_sql"),
        Variant("pyspark", module="benchmarks.baseline_pyspark", spark=True),
        Variant("pandas", module="benchmarks.baseline_pandas"),
    )
}
REFERENCE: Final = "ufo-etl-duckdb"


@dataclass(frozen=True)
class Settings:
    threads: int
    memory_limit: str
    date: dt.date
    java_home: str | None
    timeout_s: float
    interval_s: float

    @property
    def spark_memory(self) -> str:
        """The memory limit as the JVM reads it (MiB)."""
        return f"{memory_bytes(self.memory_limit) >> 20}m"


def command(variant: Variant, raw: str, out: str, settings: Settings) -> list[str]:
    """The command line that runs ``variant`` on ``raw``, writing under ``out``."""
    python = sys.executable
    if variant.module:
        return [
            python,
            "-m",
            variant.module,
            "--raw",
            raw,
            "--out",
            out,
            "--threads",
            str(settings.threads),
            "--memory-limit",
            settings.memory_limit,
        ]
    luigi = [
        python,
        "-m",
        "luigi",
        "--module",
        "benchmarks.pipeline",
        "UFODatasets",
        "--local-scheduler",
        "--date",
        settings.date.isoformat(),
        "--etl-raw-path",
        raw,
        "--etl-data-root",
        out,
    ]
    if variant.spark:
        conf = {"spark.driver.memory": settings.spark_memory, "spark.ui.enabled": "false"}
        return [
            *luigi,
            "--etl-backend",
            "spark",
            "--spark-master",
            f"local[{settings.threads}]",
            "--spark-conf",
            json.dumps(conf),
        ]
    return [
        *luigi,
        "--etl-backend",
        "duckdb",
        "--duckdb-threads",
        str(settings.threads),
        "--duckdb-memory-limit",
        settings.memory_limit,
        "--duckdb-temp-directory",
        os.path.join(out, ".duckdb-spill"),
    ]


def dataset_dirs(variant: Variant, out: str, date: dt.date) -> dict[str, str]:
    """Where ``variant`` wrote each dataset."""
    if variant.ufo_etl:
        return {d: os.path.join(out, "ufo", "etl", d, f"date={date.isoformat()}") for d in DATASETS}
    return {d: os.path.join(out, d) for d in DATASETS}


def environment(settings: Settings) -> dict[str, str]:
    """The variants' environment: no PostgreSQL, the same thread caps, Java for Spark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    threads = str(settings.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = threads
    if settings.java_home:
        env["JAVA_HOME"] = settings.java_home
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ensure_raw(cache: str, rows: int, seed: int) -> str:
    """The generated raw file for ``rows`` and ``seed``, made once and reused
    while the generator's source is unchanged."""
    from etl import generate as generator

    with open(generator.__file__, "rb") as source:
        version = hashlib.sha256(source.read()).hexdigest()[:16]
    raw_dir = os.path.join(cache, "raw")
    os.makedirs(raw_dir, exist_ok=True)
    path = os.path.join(raw_dir, f"ufo-{rows}-seed{seed}.tsv")
    meta_path = path + ".json"
    want = {"rows": rows, "seed": seed, "generator": version}
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if {k: meta.get(k) for k in want} == want and meta.get("bytes") == os.path.getsize(path):
            return path
    started = time.perf_counter()
    partial = path + ".partial"
    generator.generate(rows, partial, seed=seed)
    os.replace(partial, path)
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump({**want, "bytes": os.path.getsize(path)}, f)
    print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def repeats(rows: int, args: argparse.Namespace) -> int:
    return int(args.repeat_large if rows >= args.large_from else args.repeat_small)


def _print_run(result: Result, run: Measurement, index: int, total: int) -> None:
    status = "ok" if run.ok else ("TIMED OUT" if run.timed_out else f"EXIT {run.returncode}")
    print(
        f"{result.rows:>12,} rows  {result.variant:<15} run {index}/{total}: "
        f"{run.wall_s:7.1f} s  CPU {run.cpu_s:7.1f} s  peak {run.peak_rss_bytes / 1e6:8,.0f} MB"
        f"  load {run.load_before:4.1f}  {status}",
        flush=True,
    )


def measure_size(
    rows: int,
    raw: str,
    variants: Sequence[Variant],
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
) -> tuple[list[Result], str | None]:
    """Every variant's runs at one size; returns the results and the reference's
    output directory (a complete ufo-etl data root when the reference is ufo-etl)."""
    reference = variants[0]
    results = {v.name: Result(v.name, rows) for v in variants}
    reference_out: str | None = None
    total = repeats(rows, args)
    runs_dir = os.path.join(args.cache, "runs", str(rows))
    for index in range(1, total + 1):
        for variant in variants:
            result = results[variant.name]
            out = os.path.join(runs_dir, variant.name, f"run-{index}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            log = os.path.join(args.cache, "logs", f"{rows}-{variant.name}-{index}.log")
            run = run_measured(
                command(variant, raw, out, settings),
                cwd=ROOT,
                env=env,
                log_path=log,
                timeout_s=settings.timeout_s,
                interval_s=settings.interval_s,
            )
            result.runs.append(run)
            _print_run(result, run, index, total)
            if not run.ok:
                print(f"--- last lines of {log}:\n{log_tail(log)}\n---", file=sys.stderr)
            keep = index == 1 and variant is reference
            if index == 1 and variant is not reference and run.ok:
                if reference_out is None:
                    result.problems.append("reference run failed: not compared")
                else:
                    check(result, variant, out, reference, reference_out, settings)
            if keep and run.ok:
                reference_out = out
            elif not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)
    return list(results.values()), reference_out


def check(
    result: Result,
    variant: Variant,
    out: str,
    reference: Variant,
    reference_out: str,
    settings: Settings,
) -> None:
    started = time.perf_counter()
    checks = compare_datasets(
        dataset_dirs(reference, reference_out, settings.date),
        dataset_dirs(variant, out, settings.date),
        threads=settings.threads,
    )
    result.equal = all(c.equal for c in checks)
    for c in checks:
        result.problems += [f"{c.name}: {p}" for p in c.problems]
    verdict = "same seven datasets" if result.equal else "DIFFERENT OUTPUT"
    print(
        f"{'':>12}       {variant.name:<15} vs {reference.name}: {verdict} "
        f"({', '.join(f'{c.name} {c.rows:,}' for c in checks)}; "
        f"checked in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    for problem in result.problems:
        print(f"    {problem[:2000]}", file=sys.stderr, flush=True)


def luigi_overhead(
    data_root: str | None,
    raw_path: str,
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
) -> dict[str, float]:
    """Luigi with no data: in process (trivial tasks, the complete pipeline) and
    the whole CLI process on complete outputs."""
    import subprocess

    cmd = [sys.executable, "-m", "benchmarks.luigi_overhead", "--repeat", "5"]
    cmd += ["--date", settings.date.isoformat()]
    if data_root:
        cmd += ["--data-root", data_root, "--raw-path", raw_path]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring Luigi's overhead failed:\n{done.stderr[-3000:]}")
    overhead: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if data_root:
        cli = [
            sys.executable,
            "-m",
            "luigi",
            "--module",
            "benchmarks.pipeline",
            "UFODatasets",
            "--local-scheduler",
            "--date",
            settings.date.isoformat(),
            "--etl-data-root",
            data_root,
            "--etl-raw-path",
            raw_path,
        ]
        walls = []
        for index in range(3):
            log = os.path.join(args.cache, "logs", f"luigi-complete-{index + 1}.log")
            run = run_measured(cli, cwd=ROOT, env=env, log_path=log, timeout_s=600)
            if run.ok:
                walls.append(run.wall_s)
        if walls:
            overhead = {"cli_pipeline_complete": statistics.median(walls), **overhead}
    return overhead


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark ufo-etl against hand-written DuckDB SQL, PySpark and pandas.",
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat-small", type=int, default=3, help="runs below --large-from")
    parser.add_argument("--repeat-large", type=int, default=2, help="runs from --large-from on")
    parser.add_argument("--large-from", type=int, default=5_000_000, metavar="ROWS")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB", help="e.g. 2GB (10^9 bytes) or 2GiB")
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="NAME"
    )
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--cache", default=os.path.join(ROOT, "benchmarks", ".cache"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--date", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1), help="ufo-etl run date"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds, per run")
    parser.add_argument("--sample-interval", type=float, default=0.05, help="seconds")
    parser.add_argument(
        "--java-home",
        default=os.environ.get("JAVA_HOME")
        or (DEFAULT_JAVA_HOME if os.path.isdir(DEFAULT_JAVA_HOME) else None),
    )
    parser.add_argument("--keep-outputs", action="store_true", help="keep every run's datasets")
    parser.add_argument("--skip-luigi-overhead", action="store_true")
    args = parser.parse_args(argv)
    args.cache = os.path.abspath(args.cache)
    args.variants = list(dict.fromkeys(args.variants))
    if any(n < 1 for n in args.rows) or args.repeat_small < 1 or args.repeat_large < 1:
        parser.error("row counts and repetitions must be at least 1")
    memory_bytes(args.memory_limit)  # fails early on a bad size
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()[0]
    settings = Settings(
        threads=args.threads,
        memory_limit=args.memory_limit,
        date=args.date,
        java_home=args.java_home,
        timeout_s=args.timeout,
        interval_s=args.sample_interval,
    )
    selected = [VARIANTS[name] for name in args.variants]
    # The reference runs first in each round; every other variant is compared with it.
    selected.sort(key=lambda v: v.name != REFERENCE)
    env = environment(settings)
    notes = []
    if selected[0].name != REFERENCE:
        notes.append(
            f"Reference for the output check: {selected[0].name} (ufo-etl-duckdb not run)."
        )

    results: list[Result] = []
    overhead: dict[str, float] = {}
    for position, rows in enumerate(sorted(set(args.rows))):
        raw = ensure_raw(args.cache, rows, args.seed)
        size_results, reference_out = measure_size(rows, raw, selected, args, settings, env)
        results += size_results
        if position == 0 and not args.skip_luigi_overhead:
            complete_root = reference_out if selected[0].ufo_etl else None
            overhead = luigi_overhead(complete_root, str(raw), args, settings, env)
        if reference_out and not args.keep_outputs:
            shutil.rmtree(reference_out, ignore_errors=True)

    facts = _report.machine_facts(settings.java_home)
    baselines = {v.name: v.baseline for v in selected if v.baseline}
    block = _report.render(
        command="python -m benchmarks.run "
        + shlex.join(argv if argv is not None else sys.argv[1:]),
        started=started,
        facts=facts,
        settings={
            "threads": settings.threads,
            "memory limit": f"{settings.memory_limit} (Spark driver {settings.spark_memory})",
            "raw file": f"etl.generate seed {args.seed}",
        },
        results=results,
        baselines=baselines,
        memory_target_bytes=2_000_000_000,
        overhead=overhead,
        load=(load_start, os.getloadavg()[0]),
        notes=notes,
    )
    print()
    print(block)
    _report.write(args.out, block)
    with open(os.path.join(args.cache, "last-run.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "started": started.isoformat(),
                "argv": list(argv if argv is not None else sys.argv[1:]),
                "facts": facts,
                "luigi_overhead": overhead,
                "results": [
                    {
                        "variant": r.variant,
                        "rows": r.rows,
                        "equal": r.equal,
                        "problems": r.problems,
                        "runs": [dataclasses.asdict(m) for m in r.runs],
                    }
                    for r in results
                ],
            },
            f,
            indent=1,
        )
    failed = [f"{r.variant} at {r.rows:,} rows" for r in results if r.failed]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
