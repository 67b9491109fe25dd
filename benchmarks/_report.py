"""The benchmark report: machine facts, one table per scenario with every ratio
against the experts, and the issue's targets marked met or missed, as Markdown
written between two markers of ``docs/benchmarks.md``."""

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

SCENARIO_TITLES = {
    "rows": "the generator's file",
    "overlap": "overlapping scrapes",
    "csv": "CSV against TSV",
    "pipeline": "UFOPipeline with its report, and a run on complete outputs",
    "scale": "scale",
}


@dataclass
class Result:
    """Every run of one variant in one scenario, and its output check."""

    variant: str
    rows: int
    """Data lines the variant read (for the cost per row)."""
    raw_format: str = "tsv"
    runs: list[Measurement] = field(default_factory=list)
    equal: bool | None = None
    """True: same datasets as the scenario's reference; None: not compared."""
    compared_with: str | None = None
    known_deviation: int = 0
    """Against an expert: the sightings whose ``sighted_at`` it leaves null
    (``benchmarks._compare.KNOWN_DEVIATION``), accepted."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    task_seconds: list[dict[str, float]] = field(default_factory=list)
    """ufo-etl: for each run, the seconds of each Luigi task (its run metrics)."""
    command: str = ""

    @property
    def label(self) -> str:
        return (
            self.variant
            if self.raw_format == "tsv"
            else f"{self.variant} ({self.raw_format.upper()})"
        )

    @property
    def slug(self) -> str:
        """The label as a file name."""
        return self.variant if self.raw_format == "tsv" else f"{self.variant}-{self.raw_format}"

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

    def per_row_us(self) -> float | None:
        median = self.median()
        return None if median is None or not self.rows else median / self.rows * 1e6


@dataclass
class Scenario:
    """One scenario at one size: its variants' results and what else it measured."""

    name: str
    rows: int
    """Rows of one generated file."""
    description: str
    results: list[Result] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """What did not run, with the reason (a variant, or the whole scenario)."""
    failures: list[str] = field(default_factory=list)
    """What failed besides the variants' runs (the fixed-cost runs)."""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.rows}"

    @property
    def title(self) -> str:
        return f"`{self.name}`: {SCENARIO_TITLES.get(self.name, self.name)}, {self.rows:,} rows"

    def result(self, variant: str, raw_format: str = "tsv") -> Result | None:
        for r in self.results:
            if r.variant == variant and r.raw_format == raw_format:
                return r
        return None


@dataclass(frozen=True)
class Target:
    """A target of the issue, evaluated on the measured numbers (None: not measured)."""

    what: str
    value: float | None
    limit: float
    unit: str
    """``x`` (a ratio), ``s``, ``MB`` or ``ok`` (1 when it completed)."""
    at_most: bool = True
    why_not: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
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
    failed = [r for r in result.runs if not r.ok]
    if failed:
        return "timed out" if failed[0].timed_out else "run failed"
    if result.equal is None:
        return "reference" if result.compared_with is None else "not compared"
    if result.equal and result.known_deviation:
        return f"yes, except {result.known_deviation:,} null `sighted_at` (known)"
    return "yes" if result.equal else "**NO**"


def ratios(scenario: Scenario, result: Result, yardstick: str | None) -> tuple[str, str]:
    """The time and peak-memory ratios of ``result`` against its expert, as text."""
    if not yardstick or result.raw_format != "tsv":
        return "—", "—"
    other = scenario.result(yardstick)
    if other is None:
        return "—", "—"
    mine, theirs = result.median(), other.median()
    my_peak, their_peak = result.peak(), other.peak()
    time = f"{mine / theirs:.2f}x" if mine is not None and theirs else "—"
    peak = f"{my_peak / their_peak:.2f}x" if my_peak and their_peak else "—"
    return time, peak


def results_table(scenario: Scenario, yardsticks: Mapping[str, str]) -> str:
    """One row per variant (and format) of the scenario."""
    rows = [
        "| variant | rows read | runs | median s | min–max s | CPU s | peak MB | µs/row "
        "| time vs expert | peak vs expert | expert | same output | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for result in scenario.results:
        ok = result.ok_runs
        walls = [r.wall_s for r in ok]
        spread = f"{min(walls):.1f}–{max(walls):.1f}" if walls else "—"
        cpu = statistics.median(r.cpu_s for r in ok) if ok else None
        yardstick = yardsticks.get(result.variant)
        time, peak = ratios(scenario, result, yardstick)
        per_row = result.per_row_us()
        load = max((r.load_before for r in result.runs), default=0.0)
        rows.append(
            f"| {result.label} | {result.rows:,} | {len(result.runs)} "
            f"| {_seconds(result.median())} | {spread} | {_seconds(cpu)} "
            f"| {_megabytes(result.peak())} | {'—' if per_row is None else f'{per_row:.2f}'} "
            f"| {time} | {peak} | {yardstick if time != '—' else '—'} "
            f"| {_check(result)} | {load:.1f} |"
        )
    return "\n".join(rows)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _pair(
    scenario: Scenario, variant: str, expert: str, *, peak: bool = False
) -> tuple[float | None, str]:
    mine, theirs = scenario.result(variant), scenario.result(expert)
    if mine is None or theirs is None:
        missing = variant if mine is None else expert
        return None, f"{missing} did not run"
    value = _ratio(mine.peak(), theirs.peak()) if peak else _ratio(mine.median(), theirs.median())
    return value, "" if value is not None else "a run failed"


def scenario_targets(
    scenario: Scenario, everything: Sequence[Scenario], selected: Sequence[str]
) -> list[Target]:
    """The issue's targets for one scenario. ``selected``: the variants asked for;
    a target of a ufo-etl variant not asked for is left out."""
    found: list[Target] = []
    if scenario.name in ("rows", "overlap"):
        limit = 1.1 if scenario.name == "rows" and scenario.rows >= 10_000_000 else 1.2
        if "ufo-etl-duckdb" in selected:
            value, why = _pair(scenario, "ufo-etl-duckdb", "expert-duckdb-sql")
            found.append(
                Target("ufo-etl-duckdb time / expert-duckdb-sql", value, limit, "x", why_not=why)
            )
            value, why = _pair(scenario, "ufo-etl-duckdb", "expert-duckdb-sql", peak=True)
            found.append(
                Target("ufo-etl-duckdb peak RSS / expert-duckdb-sql", value, 1.0, "x", why_not=why)
            )
        if "ufo-etl-spark" in selected:
            value, why = _pair(scenario, "ufo-etl-spark", "expert-pyspark")
            found.append(
                Target("ufo-etl-spark time / expert-pyspark", value, 1.2, "x", why_not=why)
            )
            value, why = _pair(scenario, "ufo-etl-spark", "expert-pyspark", peak=True)
            found.append(
                Target(
                    "ufo-etl-spark process-tree peak RSS / expert-pyspark",
                    value,
                    1.3,
                    "x",
                    why_not=why,
                )
            )
    elif scenario.name == "csv":
        for variant in ("ufo-etl-duckdb", "ufo-etl-spark"):
            if variant not in selected:
                continue
            csv_result = scenario.result(variant, "csv")
            tsv_result, _ = tsv_counterpart(scenario, everything, variant)
            value = _ratio(
                csv_result.per_row_us() if csv_result else None,
                tsv_result.per_row_us() if tsv_result else None,
            )
            found.append(
                Target(
                    f"{variant}: cost per row, CSV / TSV",
                    value,
                    1.5,
                    "x",
                    why_not="" if value is not None else "not measured",
                )
            )
    elif scenario.name == "pipeline":
        value, why = _pair(scenario, "ufo-etl-duckdb-pipeline", "expert-duckdb-sql")
        found.append(
            Target(
                "UFOPipeline (report included) / expert-duckdb-sql", value, 1.3, "x", why_not=why
            )
        )
        report = scenario.result("ufo-etl-duckdb-pipeline")
        report_s = _median(
            [t["UFOReport"] for t in report.task_seconds if "UFOReport" in t] if report else []
        )
        found.append(
            Target("the report itself (UFOReport task)", report_s, 0.5, "s", why_not="not measured")
        )
        complete = _median(scenario.extras.get("complete_runs_s", []))
        found.append(
            Target(
                "`python -m luigi --module etl UFOPipeline` on complete outputs",
                complete,
                1.0,
                "s",
                why_not="not measured",
            )
        )
    elif scenario.name == "scale":
        mine = scenario.result("ufo-etl-duckdb")
        if mine is not None:
            found.append(
                Target(
                    "ufo-etl-duckdb completes under memory limit "
                    + str(scenario.extras.get("memory_limit", "")),
                    1.0 if mine.ok_runs else 0.0,
                    1.0,
                    "ok",
                    at_most=False,
                )
            )
            peak = mine.peak()
            found.append(
                Target(
                    "ufo-etl-duckdb peak RSS",
                    None if peak is None else peak / MB,
                    3000,
                    "MB",
                    why_not="the run failed",
                )
            )
            base, base_rows = larger_rows_result(everything, "ufo-etl-duckdb", scenario.rows)
            value = _ratio(mine.per_row_us(), base.per_row_us() if base else None)
            found.append(
                Target(
                    f"ufo-etl-duckdb cost per row / at {base_rows:,} rows"
                    if base_rows
                    else "ufo-etl-duckdb cost per row / at 10,000,000 rows",
                    value,
                    1.2,
                    "x",
                    why_not="no `rows` scenario below this size in this run"
                    if base is None
                    else "a run failed",
                )
            )
    return found


def tsv_counterpart(
    scenario: Scenario, everything: Sequence[Scenario], variant: str
) -> tuple[Result | None, str]:
    """The TSV result to set a CSV one against: in the scenario itself, or the
    ``rows`` scenario at the same size."""
    own = scenario.result(variant, "tsv")
    if own is not None:
        return own, "this scenario"
    for other in everything:
        if other.name == "rows" and other.rows == scenario.rows:
            found = other.result(variant, "tsv")
            if found is not None:
                return found, f"scenario `rows` at {other.rows:,}"
    return None, ""


def larger_rows_result(
    everything: Sequence[Scenario], variant: str, below: int
) -> tuple[Result | None, int]:
    """The ``rows`` scenario's result of ``variant`` at the largest size below ``below``."""
    candidates = [s for s in everything if s.name == "rows" and s.rows < below]
    for scenario in sorted(candidates, key=lambda s: -s.rows):
        found = scenario.result(variant)
        if found is not None:
            return found, scenario.rows
    return None, 0


def targets_table(found: Sequence[Target]) -> str:
    if not found:
        return "No target applies to the variants of this scenario."
    rows = ["| target | measured | limit | met |", "|---|---:|---:|---|"]
    for t in found:
        sign = "≤" if t.at_most else "≥"
        limit = "completes" if t.unit == "ok" else f"{sign} {_value(t.limit, t.unit)}"
        rows.append(f"| {t.what} | {_value(t.value, t.unit)} | {limit} | {_met(t)} |")
    return "\n".join(rows)


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ok":
        return "completed" if value >= 1 else "failed"
    return f"{value:.2f}x"


def _met(t: Target) -> str:
    if t.met is None:
        return f"not measured ({t.why_not})" if t.why_not else "not measured"
    return "met" if t.met else "**missed**"


def _scenario_extras(scenario: Scenario, everything: Sequence[Scenario]) -> list[str]:
    """The scenario's own figures beside its table."""
    parts: list[str] = []
    if scenario.name == "csv":
        rows = [
            "| variant | TSV µs/row | CSV µs/row | CSV / TSV | TSV measured in |",
            "|---|---:|---:|---:|---|",
        ]
        for result in scenario.results:
            if result.raw_format != "csv":
                continue
            tsv, where = tsv_counterpart(scenario, everything, result.variant)
            t_row, c_row = (tsv.per_row_us() if tsv else None), result.per_row_us()
            ratio = _ratio(c_row, t_row)
            rows.append(
                f"| {result.variant} | {'—' if t_row is None else f'{t_row:.2f}'} "
                f"| {'—' if c_row is None else f'{c_row:.2f}'} "
                f"| {'—' if ratio is None else f'{ratio:.2f}x'} | {where or '—'} |"
            )
        parts += ["Cost per row, CSV against TSV (the experts read TSV only):", "", *rows, ""]
    if scenario.name == "scale":
        rows = [
            "| variant | rows | µs/row | µs/row at the largest `rows` size | ratio |",
            "|---|---:|---:|---:|---:|",
        ]
        for result in scenario.results:
            base, base_rows = larger_rows_result(everything, result.variant, scenario.rows)
            mine, theirs = result.per_row_us(), base.per_row_us() if base else None
            ratio = _ratio(mine, theirs)
            rows.append(
                f"| {result.variant} | {result.rows:,} | {'—' if mine is None else f'{mine:.2f}'} "
                f"| {'—' if theirs is None else f'{theirs:.2f} ({base_rows:,})'} "
                f"| {'—' if ratio is None else f'{ratio:.2f}x'} |"
            )
        parts += ["Cost per row against the largest size of the `rows` scenario:", "", *rows, ""]
    if scenario.name == "pipeline":
        parts += [_fixed_costs(scenario), ""]
    return parts


def _fixed_costs(scenario: Scenario) -> str:
    rows = ["| what | runs | median s | min–max s |", "|---|---:|---:|---:|"]

    def line(what: str, values: Sequence[float]) -> None:
        if values:
            rows.append(
                f"| {what} | {len(values)} | {statistics.median(values):.3f} "
                f"| {min(values):.3f}–{max(values):.3f} |"
            )
        else:
            rows.append(f"| {what} | 0 | — | — |")

    pipeline = scenario.result("ufo-etl-duckdb-pipeline")
    if pipeline:
        line(
            "the report itself: the `UFOReport` task's time in its run metrics",
            [t["UFOReport"] for t in pipeline.task_seconds if "UFOReport" in t],
        )
    line(
        "`python -m luigi --module etl UFOPipeline --local-scheduler` on complete outputs "
        "(whole process: interpreter, imports, scheduling; nothing runs)",
        scenario.extras.get("complete_runs_s", []),
    )
    labels = {
        "pipeline_complete": "`luigi.build([UFOPipeline])` in process, outputs complete",
        "trivial_seven": "`luigi.build` of seven trivial tasks (each writes a small file)",
        "trivial_seven_complete": "the same seven trivial tasks, outputs complete",
    }
    for key, value in scenario.extras.get("luigi_overhead", {}).items():
        rows.append(f"| {labels.get(key, key)} | 5 | {value:.3f} | — |")
    return "Fixed costs:\n\n" + "\n".join(rows)


def render(
    *,
    command: str,
    started: dt.datetime,
    facts: Mapping[str, str],
    settings: Mapping[str, Any],
    scenarios: Sequence[Scenario],
    yardsticks: Mapping[str, str],
    selected: Sequence[str],
    load: tuple[float, float],
    notes: Sequence[str] = (),
) -> str:
    """The results block of ``docs/benchmarks.md``."""
    facts_line = "; ".join(f"{k}: {v}" for k, v in facts.items())
    settings_line = ", ".join(f"{k} {v}" for k, v in settings.items())
    per_scenario = [(s, scenario_targets(s, scenarios, selected)) for s in scenarios]
    every = [t for _, found in per_scenario for t in found]
    met = sum(t.met is True for t in every)
    missed = sum(t.met is False for t in every)
    unmeasured = sum(t.met is None for t in every)
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
        f"- Targets: {met} met, {missed} missed, {unmeasured} not measured.",
        "",
        "Each table: median wall time, fastest and slowest run, median CPU time (user + "
        "system of the whole process tree), peak resident memory of the process tree "
        "(MB = 10^6 bytes), wall time per row read, the ratios of the medians and of the "
        "peaks against the expert of the same engine, and whether the datasets equal the "
        "scenario's reference (the first variant); against an expert, up to its known "
        "deviation, a `sighted_at` it leaves null where the contract allows a double space "
        "before the time (counted in the column, explained under the table).",
    ]
    for scenario, found in per_scenario:
        parts += ["", f"### {scenario.title}", "", scenario.description, ""]
        if scenario.results:
            parts += [results_table(scenario, yardsticks), ""]
        for line in scenario.skipped:
            parts.append(f"- Skipped: {line}")
        for line in scenario.failures:
            parts.append(f"- **Failed: {line}**")
        for result in scenario.results:
            for note in result.notes:
                parts.append(f"- {result.label}: {note}")
            for problem in result.problems:
                parts.append(f"- {result.label}: **{problem[:500]}**")
        if (
            scenario.skipped
            or scenario.failures
            or any(r.notes or r.problems for r in scenario.results)
        ):
            parts.append("")
        parts += _scenario_extras(scenario, scenarios)
        parts += ["Targets:", "", targets_table(found)]
    parts.append(END)
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
