"""The benchmark report: machine facts, the results table, ratios and targets,
as Markdown written between two markers of ``docs/benchmarks.md``."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]

from benchmarks._measure import Measurement

START = "<!-- benchmarks:results:start -->"
END = "<!-- benchmarks:results:end -->"
MB = 1_000_000


@dataclass
class Result:
    """Every run of one variant at one size, and its correctness check."""

    variant: str
    rows: int
    runs: list[Measurement] = field(default_factory=list)
    equal: bool | None = None
    """True: same seven datasets as the reference; None: not compared."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok_runs(self) -> list[Measurement]:
        return [r for r in self.runs if r.ok]

    @property
    def failed(self) -> bool:
        return any(not r.ok for r in self.runs) or self.equal is False

    def median(self) -> float | None:
        runs = self.ok_runs
        return statistics.median(r.wall_s for r in runs) if runs else None

    def peak(self) -> int | None:
        runs = self.ok_runs
        return max(r.peak_rss_bytes for r in runs) if runs else None


@dataclass(frozen=True)
class Target:
    """A target of the issue, evaluated on the measured numbers."""

    what: str
    rows: int
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def machine_facts(java_home: str | None) -> dict[str, str]:
    """CPU, cores, memory and the versions of everything measured."""
    facts = {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Java": _java_version(java_home),
    }
    for name, package in (
        ("DuckDB", "duckdb"),
        ("PySpark", "pyspark"),
        ("pandas", "pandas"),
        ("pyarrow", "pyarrow"),
        ("Ibis", "ibis-framework"),
        ("Luigi", "luigi"),
    ):
        try:
            facts[name] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            facts[name] = "not installed"
    facts["ufo-etl"] = _git_revision()
    return facts


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _java_version(java_home: str | None) -> str:
    java = os.path.join(java_home, "bin", "java") if java_home else "java"
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "not found"
    lines = (out.stderr or out.stdout).splitlines()
    return lines[0].strip() if lines else "unknown"


def _git_revision() -> str:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    return f"{head} (uncommitted changes)" if dirty else head


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _megabytes(value: int | None) -> str:
    return "—" if value is None else f"{value / MB:,.0f}"


def _check(result: Result) -> str:
    if any(not r.ok for r in result.runs):
        failed = [r for r in result.runs if not r.ok]
        return "run failed" if not failed[0].timed_out else "timed out"
    return {True: "yes", False: "**NO**", None: "reference"}[result.equal]


def results_table(results: Sequence[Result], baselines: Mapping[str, str]) -> str:
    """One row per variant and size."""
    rows = [
        "| variant | rows | runs | median s | min–max s | CPU s | peak MB "
        "| vs baseline | same output | load |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    by_key = {(r.variant, r.rows): r for r in results}
    for result in results:
        ok = result.ok_runs
        walls = [r.wall_s for r in ok]
        spread = f"{min(walls):.1f}–{max(walls):.1f}" if walls else "—"
        cpu = statistics.median(r.cpu_s for r in ok) if ok else None
        ratio = "—"
        baseline = baselines.get(result.variant)
        if baseline:
            other = by_key.get((baseline, result.rows))
            mine, theirs = result.median(), other.median() if other else None
            if mine is not None and theirs:
                ratio = f"{mine / theirs:.2f}x {baseline}"
        load = max((r.load_before for r in result.runs), default=0.0)
        rows.append(
            f"| {result.variant} | {result.rows:,} | {len(result.runs)} "
            f"| {_seconds(result.median())} | {spread} | {_seconds(cpu)} "
            f"| {_megabytes(result.peak())} | {ratio} | {_check(result)} | {load:.1f} |"
        )
    return "\n".join(rows)


def targets(results: Sequence[Result], memory_target_bytes: int) -> list[Target]:
    """The issue's targets that the measured variants and sizes allow to evaluate."""
    by_key = {(r.variant, r.rows): r for r in results}
    sizes = sorted({r.rows for r in results})
    if not sizes:
        return []
    large, small = sizes[-1], sizes[0]

    def median(variant: str, rows: int) -> float | None:
        result = by_key.get((variant, rows))
        return result.median() if result else None

    found: list[Target] = []
    duck, sql, pandas = (
        median("ufo-etl-duckdb", large),
        median("duckdb-sql", large),
        median("pandas", large),
    )
    if duck and sql:
        found.append(Target("ufo-etl DuckDB / DuckDB SQL", large, duck / sql, 1.2, "x"))
    if duck and pandas:
        found.append(
            Target("pandas / ufo-etl DuckDB (speed-up)", large, pandas / duck, 3.0, "x", False)
        )
    duck_result = by_key.get(("ufo-etl-duckdb", large))
    peak = duck_result.peak() if duck_result else None
    if peak:
        found.append(
            Target("ufo-etl DuckDB peak memory", large, peak / MB, memory_target_bytes / MB, "MB")
        )
    spark, pyspark = median("ufo-etl-spark", large), median("pyspark", large)
    if spark and pyspark:
        found.append(Target("ufo-etl Spark / PySpark", large, spark / pyspark, 1.2, "x"))
    if large != small:
        limit = 1.1 * large / small
        for variant in ("ufo-etl-duckdb", "ufo-etl-spark"):
            big, little = median(variant, large), median(variant, small)
            if big and little:
                found.append(
                    Target(
                        f"{variant}: time at {large:,} / time at {small:,}",
                        large,
                        big / little,
                        limit,
                        "x",
                    )
                )
    return found


def targets_table(found: Sequence[Target]) -> str:
    if not found:
        return "No target applies to the variants and sizes of this run."
    rows = ["| target | rows | measured | limit | met |", "|---|---:|---:|---:|---|"]
    for t in found:
        sign = "≤" if t.at_most else "≥"
        unit = "" if t.unit == "x" else f" {t.unit}"
        value = f"{t.value:,.0f}{unit}" if t.unit == "MB" else f"{t.value:.2f}x"
        limit = f"{t.limit:,.0f}{unit}" if t.unit == "MB" else f"{t.limit:.2f}x"
        rows.append(
            f"| {t.what} | {t.rows:,} | {value} | {sign} {limit} | {'yes' if t.met else '**no**'} |"
        )
    return "\n".join(rows)


def luigi_table(overhead: Mapping[str, float]) -> str:
    labels = {
        "cli_pipeline_complete": "`python -m luigi --module benchmarks.pipeline UFODatasets` "
        "on complete outputs (whole process: interpreter, imports, scheduling)",
        "pipeline_complete": "`luigi.build([UFODatasets])` in process, outputs complete "
        "(checks the seven datasets' `_SUCCESS` files, runs nothing)",
        "trivial_seven": "`luigi.build` of seven trivial tasks wired like the pipeline "
        "(each writes a small file)",
        "trivial_seven_complete": "the same seven trivial tasks, outputs complete",
    }
    if not overhead:
        return "Not measured in this run."
    rows = ["| what | median s |", "|---|---:|"]
    rows += [f"| {labels.get(k, k)} | {v:.3f} |" for k, v in overhead.items()]
    return "\n".join(rows)


def render(
    *,
    command: str,
    started: dt.datetime,
    facts: Mapping[str, str],
    settings: Mapping[str, Any],
    results: Sequence[Result],
    baselines: Mapping[str, str],
    memory_target_bytes: int,
    overhead: Mapping[str, float],
    load: tuple[float, float],
    notes: Sequence[str] = (),
) -> str:
    """The results block of ``docs/benchmarks.md``."""
    facts_line = "; ".join(f"{k}: {v}" for k, v in facts.items())
    settings_line = ", ".join(f"{k} {v}" for k, v in settings.items())
    found = targets(results, memory_target_bytes)
    parts = [
        START,
        "## Latest results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC: `{command}`",
        "",
        f"- Machine: {facts_line}.",
        f"- Every variant: {settings_line}.",
        f"- One-minute load average: {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        "(the `load` column: the highest at the start of a run; above the core count, "
        "other work shared the machine and the times are noisy).",
        *[f"- {note}" for note in notes],
        "",
        "### Time and memory",
        "",
        "Median wall time, fastest and slowest run, median CPU time (user + system of "
        "the whole process tree), peak resident memory of the process tree "
        "(MB = 10^6 bytes), ratio of medians against the baseline, and whether the "
        "seven datasets equal the reference's.",
        "",
        results_table(results, baselines),
        "",
        "### Targets",
        "",
        targets_table(found),
        "",
        "### Luigi's own overhead",
        "",
        luigi_table(overhead),
        END,
    ]
    return "\n".join(parts) + "\n"


_BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)


def write(path: str, block: str) -> None:
    """Put ``block`` between the markers of ``path``, or write a new page."""
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    if START in text and END in text:
        text = _BLOCK.sub(lambda _: block, text, count=1)
    else:
        text = (
            "# Benchmarks\n\nWritten by `python -m benchmarks.run`; see "
            "docs/benchmarks.md in the repository for what is measured.\n\n" + block
        )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
