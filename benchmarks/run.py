"""Benchmark ufo-etl against the expert hand-written DuckDB SQL, PySpark and pandas.

``python -m benchmarks.run`` (from the repository root) runs scenarios
(``--scenarios``, all by default), each at the same threads and memory limit for
every variant:

``rows``
    the generator's TSV file at each ``--rows`` (1M and 10M);
``overlap``
    a directory holding the ``--overlap-rows`` file twice (half the records are
    duplicates): ufo-etl gets the directory, the experts both files;
``csv``
    the same ``--csv-rows`` records as RFC 4180 CSV, ufo-etl only (the experts
    read TSV only): its cost per row against its TSV cost per row;
``pipeline``
    ``UFOPipeline`` (every dataset and the report) on DuckDB at
    ``--pipeline-rows``, against the DuckDB expert; the report task's own time;
    then ``python -m luigi --module etl UFOPipeline`` on the complete outputs
    (``--complete-runs`` times): the fixed cost of every run;
``scale``
    ``--scale-rows`` (100M) on DuckDB, ufo-etl and the expert, one run each,
    after checking that the disk has room.

The variants (``--variants``) run as subprocesses of their own, repetitions
interleaved (round 1: every variant, round 2: every variant, ...), measuring
wall time, CPU time and the peak memory of the whole process tree:

- ``ufo-etl-duckdb``, ``ufo-etl-spark``: ``python -m luigi --module etl
  UFODatasets --local-scheduler`` (every dataset, no report, no load);
- ``expert-duckdb-sql``, ``expert-pyspark``, ``expert-pandas``: the scripts of
  ``--baselines`` (``<repo>/../shared/baselines``), run in place; skipped, with
  the reason printed and in the report, when that folder is absent. Every
  ratio is against them;
- ``duckdb-sql``, ``pyspark``, ``pandas``: the project's own baselines
  (``benchmarks/baseline_*.py``), not in the default list.

After each variant's first run its datasets are compared with the scenario's
reference (the first variant, ufo-etl on DuckDB): see ``benchmarks/_compare.py``
for what is compared with an expert, and for the experts' one known deviation
(a ``sighted_at`` they leave null where the contract allows a double space
before the time), which is accepted and reported. The report is printed and
written into ``--out`` (``docs/benchmarks.md``), the raw numbers into
``<cache>/last-run.json``. A failed run or a different output makes the exit
status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from benchmarks import _inputs, _report
from benchmarks._common import memory_bytes
from benchmarks._compare import DatasetCheck, Mode, Side, compare_outputs, known_deviation, mode
from benchmarks._inputs import Input
from benchmarks._measure import Measurement, log_tail, run_measured
from benchmarks._report import Result, Scenario
from benchmarks._servers import Server, connect_server
from benchmarks._variants import (
    DEFAULT_BASELINES,
    DEFAULT_VARIANTS,
    PIPELINE,
    ROOT,
    VARIANTS,
    Settings,
    Variant,
    command,
    dataset_paths,
    environment,
    missing_expert,
    working_directory,
)

DEFAULT_JAVA_HOME: Final = "/usr/lib/jvm/java-17-openjdk-amd64"
SCENARIOS: Final = ("rows", "overlap", "csv", "pipeline", "scale")


@dataclass
class Entry:
    """A variant on an input, in a scenario."""

    variant: Variant
    input: Input
    result: Result


def _print_run(entry: Entry, run: Measurement, index: int, total: int, key: str) -> None:
    status = "ok" if run.ok else ("TIMED OUT" if run.timed_out else f"EXIT {run.returncode}")
    print(
        f"{key:<18} {entry.result.label:<24} run {index}/{total}: "
        f"{run.wall_s:7.1f} s  CPU {run.cpu_s:7.1f} s  peak {run.peak_rss_bytes / 1e6:8,.0f} MB"
        f"  load {run.load_before:4.1f}  {status}",
        flush=True,
    )


def task_seconds(out: str, date: dt.date) -> dict[str, float]:
    """The seconds of each Luigi task of a ufo-etl run, from its run metrics."""
    import pyarrow.dataset as pads

    runs = os.path.join(out, "ufo", "etl", "_runs", f"date={date.isoformat()}")
    if not os.path.isdir(runs):
        return {}
    table = pads.dataset(runs, format="parquet").to_table(columns=["task", "seconds"])
    seconds: dict[str, float] = {}
    for task, value in zip(table.column("task").to_pylist(), table.column("seconds").to_pylist()):
        seconds[task] = seconds.get(task, 0.0) + float(value or 0.0)
    return seconds


@contextlib.contextmanager
def scenario_servers(
    scenario: Scenario,
    entries: Sequence[Entry],
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
) -> Iterator[dict[str, Server]]:
    """The Spark Connect servers the entries need, by kind, running for the
    ``with`` block (the whole scenario)."""
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        for kind in dict.fromkeys(e.variant.server for e in entries if e.variant.server):
            work = os.path.join(args.cache, "servers", f"{scenario.key}-{kind}")
            print(f"{scenario.key:<18} starting the {kind} server ({work}/server.log)", flush=True)
            servers[kind] = stack.enter_context(connect_server(kind, settings, env, work))
        yield servers


def measure_scenario(
    scenario: Scenario,
    entries: Sequence[Entry],
    repeat: int,
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
    servers: Mapping[str, Server],
) -> str | None:
    """Every entry's runs; returns the reference's (the first entry's) output
    directory of its first run, kept for the caller, or None. ``servers``: the
    Spark Connect servers of :func:`scenario_servers`."""
    reference = entries[0]
    reference_out: str | None = None
    runs_dir = os.path.join(args.cache, "runs", scenario.key)
    for index in range(1, repeat + 1):
        for entry in entries:
            variant, result = entry.variant, entry.result
            out = os.path.join(runs_dir, result.slug, f"run-{index}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            log = os.path.join(args.cache, "logs", f"{scenario.key}-{result.slug}-{index}.log")
            cmd = command(
                variant,
                entry.input.raw_path,
                entry.input.files,
                entry.input.raw_format,
                out,
                settings,
                remote=servers[variant.server].url if variant.server else None,
            )
            if index == 1:
                result.command = shlex.join(cmd)
            run = run_measured(
                cmd,
                cwd=working_directory(variant, out),
                env=env,
                log_path=log,
                timeout_s=settings.timeout_s,
                interval_s=settings.interval_s,
                max_load=settings.max_load,
                server_pids=[servers[variant.server].pid] if variant.server else [],
            )
            result.runs.append(run)
            _print_run(entry, run, index, repeat, scenario.key)
            if not run.ok:
                print(f"--- last lines of {log}:\n{log_tail(log)}\n---", file=sys.stderr)
            elif variant.kind == "ufo-etl":
                result.task_seconds.append(task_seconds(out, settings.date))
            is_reference = entry is reference
            if index == 1 and not is_reference and run.ok:
                if reference_out is None:
                    result.compared_with = reference.result.label
                    result.problems.append("the reference run failed: not compared")
                else:
                    check(result, entry, out, reference, reference_out, args, settings)
            if index == 1 and is_reference and run.ok:
                reference_out = out
            elif not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)
    return reference_out


def check(
    result: Result,
    entry: Entry,
    out: str,
    reference: Entry,
    reference_out: str,
    args: argparse.Namespace,
    settings: Settings,
) -> None:
    started = time.perf_counter()
    expected = Side(
        dataset_paths(reference.variant, reference_out, settings.date),
        reference.variant.kind,
        reference.input.raw_format,
    )
    actual = Side(
        dataset_paths(entry.variant, out, settings.date),
        entry.variant.kind,
        entry.input.raw_format,
    )
    how = mode(expected, actual)
    checks = compare_outputs(
        expected,
        actual,
        threads=settings.threads,
        spill_dir=os.path.join(args.cache, "compare-spill"),
    )
    record(result, checks, how, reference.result.label)
    verdict = "same datasets" if result.equal else "DIFFERENT OUTPUT"
    if result.equal and result.known_deviation:
        verdict += f", except {known_deviation(result.known_deviation)}"
    print(
        f"{'':>18} {result.label:<24} vs {reference.result.label}: {verdict} ({how}; "
        f"{', '.join(f'{c.name} {c.rows:,}' for c in checks)}; "
        f"checked in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    for problem in result.problems:
        print(f"    {problem[:2000]}", file=sys.stderr, flush=True)


def record(result: Result, checks: Sequence[DatasetCheck], how: Mode, reference: str) -> None:
    """Put the output check against ``reference`` into ``result``: equal or not,
    the problems, the experts' known deviation, and a note saying what was
    compared (the casts, the rejects by reason)."""
    result.compared_with = reference
    result.equal = all(c.equal for c in checks)
    for c in checks:
        result.problems += [f"{c.name}: {p}" for p in c.problems]
    casts: dict[tuple[str, str, str], list[str]] = {}
    for c in checks:
        for column, want, got, family in c.casts:
            casts.setdefault((want, got, family), []).append(f"{c.name}.{column}")
    reasons = next((c.reasons for c in checks if c.name == "rejects" and c.reasons), {})
    summary = f"compared with {reference} ({how} check"
    if how == "expert":
        summary += ": sightings without duration_seconds, rejects without source_file"
    elif how == "cross-format":
        summary += ": rejects without source_file and raw_line"
    summary += ")"
    tolerated = {c.name: c.tolerated for c in checks if c.tolerated}
    result.known_deviation = tolerated.pop("sightings", 0)
    if result.known_deviation:
        # The experts' one accepted difference, and the aggregate rows it changes.
        summary += "; equal" if result.equal else "; the sightings equal"
        summary += f", except {known_deviation(result.known_deviation)}"
        if tolerated:
            summary += ", and so " + ", ".join(
                f"{n:,} {name} row{'' if n == 1 else 's'}" for name, n in tolerated.items()
            )
    if reasons:
        summary += "; rejects by reason " + ", ".join(
            f"{r} {w:,}" if w == g else f"{r} {w:,} vs {g:,}" for r, (w, g) in reasons.items()
        )
    if casts:
        summary += "; types that differ, compared after a cast: " + "; ".join(
            f"{want} vs {got} as {family} ({', '.join(columns)})"
            for (want, got, family), columns in casts.items()
        )
    result.notes.append(summary)


def fixed_costs(
    scenario: Scenario,
    entry: Entry,
    data_root: str,
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
) -> None:
    """``python -m luigi --module etl UFOPipeline`` on the complete outputs under
    ``data_root``, ``--complete-runs`` times; and Luigi's in-process overhead."""
    cmd = command(
        entry.variant,
        entry.input.raw_path,
        entry.input.files,
        entry.input.raw_format,
        data_root,
        settings,
    )
    walls = []
    for index in range(1, args.complete_runs + 1):
        log = os.path.join(args.cache, "logs", f"{scenario.key}-complete-{index}.log")
        run = run_measured(
            cmd, cwd=ROOT, env=env, log_path=log, timeout_s=600, max_load=settings.max_load
        )
        print(
            f"{scenario.key:<18} {'UFOPipeline, complete':<24} run {index}/{args.complete_runs}: "
            f"{run.wall_s:7.2f} s  {'ok' if run.ok else 'EXIT ' + str(run.returncode)}",
            flush=True,
        )
        if run.ok:
            walls.append(run.wall_s)
        else:
            scenario.failures.append(f"a run on complete outputs failed (see {log})")
    scenario.extras["complete_runs_s"] = walls
    overhead = [
        sys.executable,
        "-m",
        "benchmarks.luigi_overhead",
        "--repeat",
        "5",
        "--date",
        settings.date.isoformat(),
        "--data-root",
        data_root,
        "--raw-path",
        entry.input.raw_path,
    ]
    done = subprocess.run(overhead, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        scenario.failures.append(f"Luigi's in-process overhead failed: {done.stderr[-500:]}")
        return
    scenario.extras["luigi_overhead"] = json.loads(done.stdout.strip().splitlines()[-1])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark ufo-etl against the expert hand-written DuckDB SQL, PySpark "
        "and pandas of ../shared/baselines.",
    )
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), metavar="NAME"
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--overlap-rows", type=int, default=1_000_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--pipeline-rows", type=int, default=1_000_000)
    parser.add_argument("--scale-rows", type=int, default=100_000_000)
    parser.add_argument("--repeat-small", type=int, default=3, help="runs below --large-from")
    parser.add_argument("--repeat-large", type=int, default=2, help="runs from --large-from on")
    parser.add_argument("--large-from", type=int, default=5_000_000, metavar="ROWS")
    parser.add_argument("--repeat-scale", type=int, default=1, help="runs in scenario scale")
    parser.add_argument(
        "--complete-runs", type=int, default=5, help="runs of UFOPipeline on complete outputs"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB", help="e.g. 2GB (10^9 bytes) or 2GiB")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS),
        default=list(DEFAULT_VARIANTS),
        metavar="NAME",
    )
    parser.add_argument("--baselines", default=DEFAULT_BASELINES, help="the expert scripts' folder")
    parser.add_argument(
        "--expert-duckdb-memory-limit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the DuckDB expert under --memory-limit (through benchmarks/_duckdb_limits.py; "
        "--no-expert-duckdb-memory-limit runs it as written, with DuckDB's default limit)",
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
        "--max-load",
        type=float,
        default=None,
        metavar="LOAD",
        help="start each run once the one-minute load average is below LOAD (waiting at most "
        "180 s; the previous run's own load decays in seconds); default: start at once",
    )
    parser.add_argument(
        "--java-home",
        default=os.environ.get("JAVA_HOME")
        or (DEFAULT_JAVA_HOME if os.path.isdir(DEFAULT_JAVA_HOME) else None),
    )
    parser.add_argument("--keep-outputs", action="store_true", help="keep every run's datasets")
    args = parser.parse_args(argv)
    args.cache = os.path.abspath(args.cache)
    args.baselines = os.path.abspath(args.baselines)
    args.variants = list(dict.fromkeys(args.variants))
    args.scenarios = [s for s in SCENARIOS if s in args.scenarios]
    sizes = [*args.rows, args.overlap_rows, args.csv_rows, args.pipeline_rows, args.scale_rows]
    counts = [args.repeat_small, args.repeat_large, args.repeat_scale, args.complete_runs]
    if any(n < 1 for n in sizes) or any(n < 1 for n in counts):
        parser.error("row counts and repetitions must be at least 1")
    memory_bytes(args.memory_limit)  # fails early on a bad size
    return args


def repeats(rows: int, args: argparse.Namespace) -> int:
    return int(args.repeat_large if rows >= args.large_from else args.repeat_small)


def _ordered(names: Sequence[str]) -> list[Variant]:
    """The variants in the order of ``VARIANTS`` (ufo-etl on DuckDB, the reference, first)."""
    return [v for name, v in VARIANTS.items() if name in names]


def plan(
    name: str,
    rows: int,
    args: argparse.Namespace,
    settings: Settings,
    done: Sequence[Scenario],
) -> tuple[Scenario, list[tuple[Variant, str]], int]:
    """The scenario, the (variant, format) pairs it runs, and how often."""
    selected = _ordered(args.variants)
    descriptions = {
        "rows": "The generator's TSV file (`etl.generate`, seed "
        f"{args.seed}), read by every variant.",
        "overlap": "A directory holding the generated file twice, as two overlapping "
        "scrapes: ufo-etl reads the directory (`--etl-raw-path DIR`), the experts get "
        "both files; half the records are duplicates.",
        "csv": "The same records as RFC 4180 CSV (`csv.writer`: CRLF, quoted where "
        "needed), read by ufo-etl with `--etl-raw-format csv`; the experts read TSV only.",
        "pipeline": "`python -m luigi --module etl UFOPipeline` on DuckDB (every dataset and "
        "the HTML report; no PostgreSQL load: `PG*` is unset) against the DuckDB expert, "
        "which writes no report.",
        "scale": f"The generator's file on DuckDB, memory limit {settings.memory_limit}, "
        "one run each (DuckDB must spill, not fail).",
    }
    scenario = Scenario(name, rows, descriptions[name])
    pairs: list[tuple[Variant, str]] = []
    repeat = repeats(rows, args)
    if name == "rows":
        pairs = [(v, "tsv") for v in selected]
    elif name == "overlap":
        for v in selected:
            if v.takes_several_files:
                pairs.append((v, "tsv"))
            else:
                scenario.skipped.append(f"{v.name}: the project's baselines read one file")
    elif name == "csv":
        ufo = [v for v in selected if v.kind == "ufo-etl"]
        pairs = [(v, "csv") for v in ufo]
        measured_tsv = any(s.name == "rows" and s.rows == rows for s in done)
        if not measured_tsv:
            pairs += [(v, "tsv") for v in ufo]
    elif name == "pipeline":
        if VARIANTS["ufo-etl-duckdb"] in selected:
            pairs = [(PIPELINE, "tsv")]
            pairs += [(v, "tsv") for v in selected if v.name == "expert-duckdb-sql"]
        else:
            scenario.skipped.append("the whole scenario: ufo-etl-duckdb is not in --variants")
    elif name == "scale":
        repeat = args.repeat_scale
        pairs = [(v, "tsv") for v in selected if v.name in ("ufo-etl-duckdb", "expert-duckdb-sql")]
        if not pairs:
            scenario.skipped.append(
                "the whole scenario: neither ufo-etl-duckdb nor expert-duckdb-sql is in --variants"
            )
    runnable = []
    for variant, raw_format in pairs:
        why = missing_expert(variant, settings)
        if why:
            scenario.skipped.append(f"{variant.name}: {why}")
        else:
            runnable.append((variant, raw_format))
    if name == "scale" and runnable:
        needed = _inputs.disk_needed(args.cache, rows, args.seed)
        free = _inputs.disk_free(args.cache)
        if free < needed:
            scenario.skipped.append(
                f"the whole scenario: {free / 1e9:,.1f} GB free under {args.cache}, "
                f"about {needed / 1e9:,.1f} GB needed (the raw file, the outputs, DuckDB's "
                "spill and the output check's)"
            )
            runnable = []
    return scenario, runnable, repeat


def make_input(name: str, raw_format: str, rows: int, args: argparse.Namespace) -> Input:
    if name == "overlap":
        return _inputs.overlap_input(args.cache, rows, args.seed)
    if raw_format == "csv":
        return _inputs.csv_input(args.cache, rows, args.seed)
    return _inputs.tsv_input(args.cache, rows, args.seed)


def run_scenario(
    name: str,
    rows: int,
    args: argparse.Namespace,
    settings: Settings,
    env: dict[str, str],
    done: Sequence[Scenario],
) -> Scenario:
    scenario, pairs, repeat = plan(name, rows, args, settings, done)
    print(f"\n== scenario {scenario.key}: {repeat} run(s) each", flush=True)
    for line in scenario.skipped:
        print(f"   skipped: {line}", flush=True)
    if not pairs:
        return scenario
    entries = []
    for variant, raw_format in pairs:
        data = make_input(name, raw_format, rows, args)
        result = Result(variant.name, data.records, raw_format)
        entries.append(Entry(variant, data, result))
        scenario.results.append(result)
    if name == "scale":
        scenario.extras["memory_limit"] = settings.memory_limit
    with scenario_servers(scenario, entries, args, settings, env) as servers:
        reference_out = measure_scenario(scenario, entries, repeat, args, settings, env, servers)
    if reference_out and name == "pipeline":
        fixed_costs(scenario, entries[0], reference_out, args, settings, env)
    if reference_out and not args.keep_outputs:
        shutil.rmtree(reference_out, ignore_errors=True)
    return scenario


def settings_notes(args: argparse.Namespace, settings: Settings) -> list[str]:
    notes = []
    experts = [v for v in args.variants if VARIANTS[v].kind == "expert"]
    if experts:
        if os.path.isdir(args.baselines):
            notes.append(f"Experts: the scripts of `{args.baselines}`, run in place.")
        else:
            notes.append(
                f"Experts **not run**: `{args.baselines}` is absent (--baselines); no ratio "
                "against them."
            )
    if "expert-duckdb-sql" in experts:
        if settings.limit_expert_duckdb:
            notes.append(
                "expert-duckdb-sql: `duckdb_sql.py` takes `--threads` but no memory limit; it "
                "runs unchanged through `benchmarks/_duckdb_limits.py`, which sets DuckDB's "
                f"`memory_limit` ({settings.memory_limit}) and `temp_directory` on its "
                "connection."
            )
        else:
            notes.append(
                "expert-duckdb-sql: run as written, **without the memory limit** (DuckDB's "
                "default, 80% of RAM; `--no-expert-duckdb-memory-limit`)."
            )
    if "expert-pyspark" in experts:
        notes.append(
            f"expert-pyspark: `--master local[{settings.threads}] --driver-memory "
            f"{settings.spark_memory}`; its other Spark settings are its own "
            "(16 shuffle partitions, `-XX:-DontCompileHugeMethods`)."
        )
    remote = [v for v in args.variants if VARIANTS[v].server]
    if remote:
        notes.append(
            f"{' and '.join(remote)}: the Luigi worker is a Spark Connect client (no JVM in it) "
            "of a server the harness starts before the scenario's runs (its start is not timed): "
            f"Spark's own `SparkConnectServer` (`local[{settings.threads}]`, driver memory "
            f"{settings.spark_memory}, `docker/spark/spark-defaults.conf`) for ufo-etl-connect, "
            "Sail (`pysail`) for ufo-etl-sail. Each run's peak RSS and CPU time include the "
            "server's (its memory as held during the run, its CPU time spent then)."
        )
    if "expert-pandas" in experts or "pandas" in args.variants:
        notes.append(
            "pandas takes no memory limit and runs on one thread (Arrow's pool capped by "
            f"`OMP_NUM_THREADS={settings.threads}`)."
        )
    return notes


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
        baselines=args.baselines,
        limit_expert_duckdb=args.expert_duckdb_memory_limit,
        max_load=args.max_load,
    )
    env = environment(settings)
    if not os.path.isdir(args.baselines):
        print(
            f"expert variants skipped: {args.baselines} is absent (--baselines)",
            file=sys.stderr,
            flush=True,
        )
    scenarios: list[Scenario] = []
    sizes = {
        "rows": sorted(set(args.rows)),
        "overlap": [args.overlap_rows],
        "csv": [args.csv_rows],
        "pipeline": [args.pipeline_rows],
        "scale": [args.scale_rows],
    }
    for name in args.scenarios:
        for rows in sizes[name]:
            scenarios.append(run_scenario(name, rows, args, settings, env, scenarios))

    facts = _report.machine_facts(settings.java_home)
    yardsticks = {v.name: v.yardstick for v in [*VARIANTS.values(), PIPELINE] if v.yardstick}
    block = _report.render(
        command="python -m benchmarks.run "
        + shlex.join(argv if argv is not None else sys.argv[1:]),
        started=started,
        facts=facts,
        settings={
            "threads": settings.threads,
            "memory limit": f"{settings.memory_limit} (Spark driver {settings.spark_memory})",
            "raw files": f"etl.generate seed {args.seed}",
        },
        scenarios=scenarios,
        yardsticks=yardsticks,
        selected=args.variants,
        load=(load_start, os.getloadavg()[0]),
        notes=settings_notes(args, settings),
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
                "baselines": args.baselines,
                "scenarios": [
                    {
                        "name": s.name,
                        "rows": s.rows,
                        "skipped": s.skipped,
                        "failures": s.failures,
                        "extras": s.extras,
                        "results": [
                            {
                                "variant": r.variant,
                                "raw_format": r.raw_format,
                                "rows": r.rows,
                                "equal": r.equal,
                                "known_deviation": r.known_deviation,
                                "compared_with": r.compared_with,
                                "command": r.command,
                                "problems": r.problems,
                                "notes": r.notes,
                                "task_seconds": r.task_seconds,
                                "runs": [dataclasses.asdict(m) for m in r.runs],
                            }
                            for r in s.results
                        ],
                    }
                    for s in scenarios
                ],
            },
            f,
            indent=1,
        )
    failed = [f"{r.label} in {s.key}" for s in scenarios for r in s.results if r.failed] + [
        f"{s.key}: {p}" for s in scenarios for p in s.failures
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
