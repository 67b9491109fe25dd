"""Reliability, part 1: bad input, bad settings and path tricks, on DuckDB and Spark.

Every attack either fails loudly, with an error that names the file (or the
setting) and the problem, or lands each record in ``sightings`` or ``rejects``
with reconciliation (raw records = sightings + rejects) holding.

The crash tests are in ``test_reliability_crash.py``, the concurrency and
secrets tests (through luigid) in ``test_reliability_scheduler.py``.

This module also keeps the catalogue of attacks (:data:`ATTACKS`) and writes
the results table of ``docs/reliability.md``: run the tests with
``UFO_RELIABILITY_RESULTS=<file.jsonl>`` (every test that passes appends what it
tried), then ``python tests/test_reliability.py <file.jsonl> docs/reliability.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from pg_fixtures import set_options

import etl
import etl.tasks
import transforms
from backends import (
    Backend,
    ConfigurationError,
    DatasetError,
    DatasetLocation,
    RawInputError,
    ReconciliationError,
    expand_raw_path,
)
from etl.datasets import DATASETS as REGISTRY
from etl.generate import generate
from transforms import HEADER, RAW_FIELDS

RUN_DATE = dt.date(2024, 5, 17)
DATASETS = tuple(REGISTRY)
RESULTS_ENV = "UFO_RELIABILITY_RESULTS"

# --------------------------------------------------------------------------------------
# The catalogue of attacks and the results table
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    category: str
    title: str
    engines: tuple[str, ...] = ("duckdb", "spark")
    """The engines the attack applies to."""


ATTACKS: dict[str, Attack] = {
    # Bad input
    "empty_file": Attack("input", "empty file (TSV, CSV)"),
    "header_only": Attack("input", "header only (TSV, CSV; and through the whole pipeline)"),
    "missing_column": Attack("input", "a missing column in the header"),
    "renamed_column": Attack("input", "a renamed column in the header"),
    "extra_column": Attack("input", "an extra column in the header"),
    "wrong_field_count": Attack("input", "a data record with an extra or a missing field"),
    "csv_as_tsv": Attack("input", "a CSV file read as TSV"),
    "tsv_as_csv": Attack("input", "a TSV file read as CSV (with and without quotes in it)"),
    "invalid_utf8": Attack("input", "invalid UTF-8 bytes (Latin-1 in TSV and CSV, UTF-16)"),
    "crlf": Attack("input", "CRLF line ends (TSV, CSV) and CR-only line ends"),
    "quoted_newlines": Attack("input", "quoted newlines (CSV: data; TSV: quotes are literal)"),
    "tsv_stray_quotes": Attack("input", "stray quotes in TSV"),
    "csv_bad_quotes": Attack("input", "stray quotes in CSV; an unterminated CSV quote"),
    "csv_tab": Attack("input", "a tab inside a CSV field"),
    "big_field": Attack("input", "a 1 MB field (TSV, CSV)"),
    "control_chars": Attack("input", "NUL, VT, FF, U+0085, U+2028 inside fields"),
    "blank_lines": Attack(
        "input", "empty and whitespace-only lines, no final newline, a UTF-8 BOM"
    ),
    "binary_garbage": Attack(
        "input", "binary garbage: random bytes, a gzip file named .tsv, garbage after the header"
    ),
    "no_match": Attack(
        "input", "a raw path that matches no file (glob, missing file, empty directory)"
    ),
    "mixed_directory": Attack(
        "input", "a directory mixing raw files with other files and a sub-directory"
    ),
    "poisoned_directory": Attack("input", "one bad file among good ones"),
    "corrupt_parquet": Attack(
        "input", "a truncated, empty or non-Parquet part file as input to an aggregate task"
    ),
    "corrupt_parquet_pages": Attack("input", "a Parquet part with corrupt pages (bytes flipped)"),
    "parquet_parts_changed": Attack(
        "input", "a part deleted from, or a foreign part added to, a complete dataset"
    ),
    "bad_date": Attack("input", "an invalid --date (an impossible date, a path, a time)"),
    "bad_setting": Attack(
        "input",
        "an invalid setting: backend, raw_format, data_root, duckdb threads, spark conf, "
        "spark master",
    ),
    # Crashes
    "kill_chosen_local": Attack(
        "crash", "kill -9 of the Luigi worker at chosen moments of each kind of write, local disk"
    ),
    "kill_chosen_s3": Attack(
        "crash", "kill -9 of the Luigi worker at chosen moments of each kind of write, S3"
    ),
    "kill_random_local": Attack("crash", "kill -9 of the Luigi worker at random moments, local"),
    "kill_random_s3": Attack("crash", "kill -9 of the Luigi worker at random moments, S3"),
    "kill_spark_worker": Attack(
        "crash",
        "kill -9 of the Spark standalone worker JVM mid-job, then a new worker",
        engines=("spark",),
    ),
    "kill_pg_load": Attack("crash", "kill -9 of the PostgreSQL load inside its transaction"),
    # Concurrency
    "two_workers_same_date": Attack(
        "concurrency", "two Luigi workers, one luigid, the same pipeline and date at once"
    ),
    "two_workers_two_dates": Attack(
        "concurrency", "two Luigi workers, one luigid, two dates at once"
    ),
    # Security
    "dataset_name_traversal": Attack("security", "dataset names with '..', '/', NUL"),
    "date_traversal": Attack("security", "a --date or date parameter holding a path"),
    "data_root_dotdot": Attack(
        "security", "'..' in data_root (local: resolved; S3: refused); outputs stay inside"
    ),
    "raw_path_dotdot": Attack(
        "security", "'..' in raw_path (local: resolved, it is the user's input; S3: refused)"
    ),
    "secrets_in_outputs": Attack(
        "security",
        "PostgreSQL password and S3 keys in logs, task parameters, luigid's API, task history, "
        "run metrics",
    ),
    "secrets_wrong_credentials": Attack(
        "security", "wrong S3 secret and wrong PostgreSQL password: messages without secrets"
    ),
    "compose_loopback": Attack("security", "compose publishes UIs and databases on 127.0.0.1 only"),
    "compose_non_root": Attack("security", "every container runs as a non-root user"),
}

CATEGORY_TITLES = {
    "input": "Bad input",
    "crash": "Crashes",
    "concurrency": "Concurrency",
    "security": "Security",
}


@dataclass
class Result:
    attack: str
    backend: str
    """``duckdb``, ``spark``, or ``any`` when no engine is involved."""
    outcome: str
    test: str
    inputs: int = 0
    faults: int = 0
    rows_lost: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Appends what a test tried to ``$UFO_RELIABILITY_RESULTS`` (when set)."""

    def __init__(self, test: str) -> None:
        self.test = test

    def record(
        self,
        attack: str,
        backend: str,
        outcome: str,
        *,
        inputs: int = 0,
        faults: int = 0,
        rows_lost: int = 0,
        **details: Any,
    ) -> None:
        assert attack in ATTACKS, attack
        assert backend in ("duckdb", "spark", "any"), backend
        target = os.environ.get(RESULTS_ENV)
        if not target:
            return
        result = Result(attack, backend, outcome, self.test, inputs, faults, rows_lost, details)
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result), default=str) + "\n")


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Recorder:
    return Recorder(request.node.nodeid)


def load_results(path: Path) -> list[Result]:
    """The results of a file; of a test run several times, its last run's."""
    latest: dict[tuple[str, str, str], Result] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            result = Result(**json.loads(line))
            latest[(result.test, result.attack, result.backend)] = result
    return list(latest.values())


def _test_name(nodeid: str) -> str:
    module, _, name = nodeid.rpartition("::")
    return f"`{Path(module).name}::{name.split('[')[0]}`"


def render_table(results: list[Result]) -> str:
    """The Markdown results table: one row per attack, totals at the bottom."""
    lines = []
    totals = {"inputs": 0, "faults": 0, "rows_lost": 0}
    missing = []
    for category, heading in CATEGORY_TITLES.items():
        lines += [
            f"### {heading}",
            "",
            "| attack | tried by | DuckDB | Spark | inputs | faults | rows lost |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        for attack_id, attack in ATTACKS.items():
            if attack.category != category:
                continue
            mine = [r for r in results if r.attack == attack_id]
            if not mine:
                missing.append(attack.title)
            cells = {}
            for engine in ("duckdb", "spark"):
                # One table row: an engine's message may hold a newline or a "|".
                outcomes = [
                    " ".join(r.outcome.split()).replace("|", "/")
                    for r in mine
                    if r.backend in (engine, "any")
                ]
                unique = list(dict.fromkeys(outcomes))
                cells[engine] = "<br>".join(unique) if unique else "not run"
                if engine not in attack.engines:
                    cells[engine] = "n/a"
            if mine and all(r.backend == "any" for r in mine):
                cells["spark"] = "same (no engine involved)"
            tests = ", ".join(sorted({_test_name(r.test) for r in mine})) or "—"
            inputs = sum(r.inputs for r in mine)
            faults = sum(r.faults for r in mine)
            lost = sum(r.rows_lost for r in mine)
            totals["inputs"] += inputs
            totals["faults"] += faults
            totals["rows_lost"] += lost
            lines.append(
                f"| {attack.title} | {tests} | {cells['duckdb']} | {cells['spark']} "
                f"| {inputs} | {faults} | {lost} |"
            )
        lines.append("")
    lines += [
        "### Totals",
        "",
        "| attacks | inputs tried | faults injected | rows lost |",
        "|---:|---:|---:|---:|",
        f"| {len(ATTACKS) - len(missing)} of {len(ATTACKS)} | {totals['inputs']} "
        f"| {totals['faults']} | {totals['rows_lost']} |",
        "",
    ]
    if missing:
        lines += ["Not run: " + "; ".join(missing) + ".", ""]
    return "\n".join(lines)


BEGIN, END = "<!-- reliability-table:begin -->", "<!-- reliability-table:end -->"


def update_document(results_path: Path, document: Path) -> None:
    """Replace the generated block of ``document`` with the table of ``results_path``."""
    text = document.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    table = render_table(load_results(results_path))
    document.write_text(text[:start] + "\n" + table + text[end:], encoding="utf-8")


def test_the_document_lists_every_attack() -> None:
    document = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert BEGIN in document and END in document
    table = document[document.index(BEGIN) : document.index(END)]
    missing = [a.title for a in ATTACKS.values() if f"| {a.title} |" not in table]
    assert not missing, f"docs/reliability.md lacks {missing}: regenerate it"
    assert re.search(r"\| rows lost \|\n\|[-:|]+\|\n\| .* \| 0 \|", table), "rows lost must be 0"


# --------------------------------------------------------------------------------------
# Raw files: building them
# --------------------------------------------------------------------------------------

TSV_HEADER = "\t".join(HEADER)
CSV_HEADER = ",".join(HEADER)


def fields(city: str, **overrides: str) -> list[str]:
    """The seven fields of a clean record; ``city`` keeps records of different
    cases distinct (duplicates are found across all files of a run)."""
    values = {
        "date_time": "1/2/14 21:00",
        "city": city,
        "state": "AZ",
        "shape": "light",
        "duration": "5 minutes",
        "summary": "a light over the hills",
        "posted": "1/3/14",
        **overrides,
    }
    return [values[name] for name in RAW_FIELDS]


def tsv_line(city: str, **overrides: str) -> str:
    return "\t".join(fields(city, **overrides))


def csv_text(rows: list[list[str]], terminator: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def csv_record(row: list[str]) -> str:
    """One record as ``csv_text`` writes it, without its line break."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue().removesuffix("\r\n")


def tsv_text(lines: list[str], terminator: str = "\n") -> str:
    return "".join(line + terminator for line in [TSV_HEADER, *lines])


MB = 1_000_000
_BIG_END = ', "quoted", \t'
BIG = "x" * (MB - len(_BIG_END)) + _BIG_END
"""A field of exactly 1 MB (characters), with a comma, quotes and a tab at its end."""
CONTROL = "a\x00b\x0bc\x0cd\u0085e\u2028f"


@dataclass(frozen=True)
class Accepted:
    """A raw file that the run must accept: each record a sighting or a reject."""

    attack: str
    name: str
    data: bytes
    reasons: dict[str | None, int]
    """Records per reason (None: sightings)."""
    check: Callable[[list[dict[str, Any]]], None] | None = None
    """Called with the file's raw records (their ``reason`` included)."""


def _one_summary(expected: str) -> Callable[[list[dict[str, Any]]], None]:
    def check(rows: list[dict[str, Any]]) -> None:
        assert [r["summary"] for r in rows] == [expected]

    return check


def _no_cr(rows: list[dict[str, Any]]) -> None:
    assert len(rows) == 2
    for row in rows:
        assert all("\r" not in (row[name] or "") for name in RAW_FIELDS), row
        assert row["posted"] == "1/3/14"


def _literal_quotes(rows: list[dict[str, Any]]) -> None:
    assert sorted((r["city"], r["shape"], r["summary"]) for r in rows) == [
        ('"quoted" town', '"', 'he said "look'),
        ("q2", "light", '"'),
    ]


def _malformed_lines(*texts: str) -> Callable[[list[dict[str, Any]]], None]:
    def check(rows: list[dict[str, Any]]) -> None:
        assert sorted(r["raw_line"] for r in rows if r["reason"] == "malformed") == sorted(texts)

    return check


ACCEPTED_TSV = [
    Accepted("header_only", "header_only.tsv", tsv_text([]).encode(), {}),
    Accepted(
        "wrong_field_count",
        "field_count.tsv",
        tsv_text(
            [
                tsv_line("extra") + "\tmore",
                "\t".join(fields("missing")[:6]),
                tsv_line("clean"),
            ]
        ).encode(),
        {"malformed": 2, None: 1},
        _malformed_lines(tsv_line("extra") + "\tmore", "\t".join(fields("missing")[:6])),
    ),
    Accepted(
        "crlf",
        "crlf.tsv",
        tsv_text([tsv_line("crlf 1"), tsv_line("crlf 2")], "\r\n").encode(),
        {None: 2},
        _no_cr,
    ),
    Accepted(
        "crlf",
        "cr_only.tsv",
        tsv_text([tsv_line("cr 1"), tsv_line("cr 2")], "\r").encode(),
        {None: 2},
        _no_cr,
    ),
    Accepted(
        "quoted_newlines",
        "quoted_newline.tsv",
        tsv_text([tsv_line("qnl", summary='"two\nlines"')]).encode(),
        {"malformed": 2},
        _malformed_lines('1/2/14 21:00\tqnl\tAZ\tlight\t5 minutes\t"two', 'lines"\t1/3/14'),
    ),
    Accepted(
        "tsv_stray_quotes",
        "stray_quotes.tsv",
        tsv_text(
            [
                tsv_line('"quoted" town', shape='"', summary='he said "look'),
                tsv_line("q2", summary='"'),
            ]
        ).encode(),
        {None: 2},
        _literal_quotes,
    ),
    Accepted(
        "big_field",
        "big_field.tsv",
        tsv_text([tsv_line("big tsv", summary=BIG.replace("\t", " "))]).encode(),
        {None: 1},
        _one_summary(BIG.replace("\t", " ")),
    ),
    Accepted(
        "control_chars",
        "control_chars.tsv",
        tsv_text([tsv_line("ctl tsv", summary=CONTROL)]).encode(),
        {None: 1},
        _one_summary(CONTROL),
    ),
    Accepted(
        "blank_lines",
        "blank_lines.tsv",
        (
            "\ufeff"
            + TSV_HEADER
            + "\n\n"
            + tsv_line("blank 1")
            + "\n   \n\n"
            + tsv_line("blank 2")
            + "\n\n"
            + tsv_line("blank 3")  # no final newline
        ).encode(),
        {None: 3, "malformed": 1},
        _malformed_lines("   "),
    ),
]

ACCEPTED_CSV = [
    Accepted("header_only", "header_only.csv", csv_text([]).encode(), {}),
    Accepted(
        "wrong_field_count",
        "field_count.csv",
        csv_text([[*fields("extra csv"), "more"], fields("missing csv")[:6]]).encode(),
        {"malformed": 2},
    ),
    Accepted(
        "wrong_field_count",
        "trailing_empty_fields.csv",
        csv_text(
            [
                [*fields("trail 1"), ""],
                [*fields("trail 2"), "", ""],
                fields("trail 3", posted=""),
                fields("trail 4"),
            ]
        ).encode(),
        {"malformed": 2, None: 2},
        _malformed_lines(
            csv_record([*fields("trail 1"), ""]), csv_record([*fields("trail 2"), "", ""])
        ),
    ),
    Accepted(
        "wrong_field_count",
        "long_malformed.csv",
        csv_text([fields("long bad", summary=BIG)[:6], fields("long ok")], "\r\n").encode(),
        {"malformed": 1, None: 1},
        _malformed_lines(csv_record(fields("long bad", summary=BIG)[:6])),
    ),
    Accepted(
        "quoted_newlines",
        "quoted_newline_malformed.csv",
        csv_text([[*fields("qnl bad", summary="a\r\nb"), "extra"]], "\r\n").encode(),
        {"malformed": 1},
        _malformed_lines(csv_record([*fields("qnl bad", summary="a\r\nb"), "extra"])),
    ),
    Accepted(
        "blank_lines",
        "blank_lines.csv",
        (
            "\ufeff"
            + CSV_HEADER
            + "\r\n\r\n"
            + csv_record(fields("blank csv 1"))
            + "\r\n\r\n\r\n"
            + csv_record(fields("blank csv 2"))  # no final line break
        ).encode(),
        {None: 2},
    ),
    Accepted(
        "crlf",
        "crlf.csv",
        csv_text([fields("crlf csv 1"), fields("crlf csv 2")], "\r\n").encode(),
        {None: 2},
        _no_cr,
    ),
    Accepted(
        "quoted_newlines",
        "quoted_newline.csv",
        csv_text(
            [fields("qnl csv", summary='two\nlines, and "quotes"\r\nand CRLF')], "\r\n"
        ).encode(),
        {None: 1},
        _one_summary('two\nlines, and "quotes"\r\nand CRLF'),
    ),
    Accepted(
        "csv_bad_quotes",
        "stray_quotes.csv",
        (
            CSV_HEADER + '\n1/2/14 21:00,stray csv,AZ,light,5 minutes,he said "look" twice,1/3/14\n'
        ).encode(),
        {None: 1},
        _one_summary('he said "look" twice'),
    ),
    Accepted(
        "csv_tab",
        "tab.csv",
        csv_text([fields("tab csv", summary="left\tright")]).encode(),
        {None: 1},
        _one_summary("left\tright"),
    ),
    Accepted(
        "big_field",
        "big_field.csv",
        csv_text([fields("big csv", summary=BIG)]).encode(),
        {None: 1},
        _one_summary(BIG),
    ),
    Accepted(
        "control_chars",
        "control_chars.csv",
        csv_text([fields("ctl csv", summary=CONTROL)]).encode(),
        {None: 1},
        _one_summary(CONTROL),
    ),
]


def _litter(directory: Path) -> list[str]:
    """Files beside the raw files that a run must not read."""
    (directory / "notes.txt").write_text("not a raw file\n")
    (directory / "part-0.parquet").write_bytes(random.Random(1).randbytes(2048))
    (directory / "archive.tsv.gz").write_bytes(gzip.compress(tsv_text([tsv_line("gz")]).encode()))
    (directory / "UPPER.TSV").write_text(tsv_text([tsv_line("upper")]))
    (directory / "._mac.tsv").write_bytes(b"\x00\x05\x16\x07" + bytes(range(256)))
    sub = directory / "sub.tsv"
    sub.mkdir()
    (sub / "inner.tsv").write_text(tsv_text([tsv_line("inner")]))
    return ["notes.txt", "part-0.parquet", "archive.tsv.gz", "UPPER.TSV", "._mac.tsv", "sub.tsv"]


@pytest.fixture(scope="module")
def accepted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("accepted")
    for case in ACCEPTED_TSV + ACCEPTED_CSV:
        (directory / case.name).write_bytes(case.data)
    _litter(directory)
    return directory


@dataclass(frozen=True)
class Classified:
    files: dict[str, int]
    """Records counted by the inspection, by file name."""
    rows: dict[str, list[dict[str, Any]]]
    """Classified raw records, by file name."""
    by_reason: dict[str | None, int]


def reconcile(expected_records: int, records_by_reason: dict[str | None, int]) -> None:
    """Raise unless every raw record is a sighting or a reject, exactly once."""
    unknown = set(records_by_reason) - {None, *transforms.REJECT_REASONS}
    total = sum(records_by_reason.values())
    if unknown or total != expected_records:
        raise ReconciliationError(
            f"raw records ({expected_records}) != sightings + rejects ({total}): "
            f"{records_by_reason}"
        )


def classify_all(backend: Backend, raw_path: str, raw_format: str) -> Classified:
    """Read and classify as ReadUFOs does, then check that every raw record has
    one known outcome, file by file; two engine jobs."""
    raw = backend.read_raw(raw_path, raw_format)
    classified = backend.materialize(transforms.record_reasons(transforms.classify(raw.records)))
    by_reason = {
        row["reason"]: row["records"]
        for row in backend.to_rows(transforms.reason_counts(classified))
    }
    reconcile(raw.expected_records, by_reason)
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in backend.to_rows(classified):
        rows.setdefault(Path(row["source_file"]).name, []).append(row)
    return Classified({Path(f.path).name: f.records for f in raw.files}, rows, by_reason)


@pytest.fixture(scope="module")
def classified(backend: Backend, accepted_dir: Path) -> dict[str, Classified]:
    """Every accepted file of each format, read in one run per format."""
    return {fmt: classify_all(backend, str(accepted_dir), fmt) for fmt in ("tsv", "csv")}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in ACCEPTED_TSV + ACCEPTED_CSV])
def test_accepted_input_reconciles(
    backend: Backend, classified: dict[str, Classified], case: Accepted, reliability: Recorder
) -> None:
    run = classified[case.name.rsplit(".", 1)[1]]
    rows = run.rows.get(case.name, [])
    assert dict(Counter(r["reason"] for r in rows)) == case.reasons, case.name
    # Reconciliation, file by file: the independent count equals the records classified.
    assert run.files[case.name] == len(rows) == sum(case.reasons.values())
    if case.check:
        case.check(rows)
    sightings = case.reasons.get(None, 0)
    reasons = {str(k): v for k, v in case.reasons.items() if k is not None}
    outcome = f"accepted: {sightings} sighting(s)" + (f", rejects {reasons}" if reasons else "")
    reliability.record(case.attack, backend.name, outcome, inputs=1, rows_lost=0)


def test_a_mixed_directory_reads_only_its_raw_files(
    backend: Backend, classified: dict[str, Classified], reliability: Recorder
) -> None:
    for fmt, cases in (("tsv", ACCEPTED_TSV), ("csv", ACCEPTED_CSV)):
        assert sorted(classified[fmt].files) == sorted(c.name for c in cases)
        total = sum(classified[fmt].files.values())
        assert sum(classified[fmt].by_reason.values()) == total
    reliability.record(
        "mixed_directory",
        backend.name,
        "only *.tsv (or *.csv) files read; .txt, .parquet, .tsv.gz, .TSV, hidden files "
        "and sub-directories ignored",
        inputs=2,
    )


@dataclass(frozen=True)
class Refused:
    """A raw file (or path) that must fail the run with a clear error."""

    attack: str
    name: str
    raw_format: str
    data: bytes | None
    message: str
    """A regular expression the error must match (after the file name)."""


GARBAGE = b"\xff\xfe" + random.Random(7).randbytes(4096)
REFUSED = [
    Refused("empty_file", "empty.tsv", "tsv", b"", "the file is empty"),
    Refused("empty_file", "empty.csv", "csv", b"", "the file is empty"),
    Refused(
        "missing_column",
        "missing_column.tsv",
        "tsv",
        tsv_text([tsv_line("x")]).replace("\tPosted", "", 1).encode(),
        "the first record must be the header .*Summary'",
    ),
    Refused(
        "renamed_column",
        "renamed_column.tsv",
        "tsv",
        tsv_text([tsv_line("x")]).replace("Shape", "Form", 1).encode(),
        r"the first record must be the header .*\\\\tForm\\\\t",
    ),
    Refused(
        "extra_column",
        "extra_column.tsv",
        "tsv",
        tsv_text([tsv_line("x") + "\textra"]).replace("Posted", "Posted\tExtra", 1).encode(),
        r"the first record must be the header .*Posted\\\\tExtra'",
    ),
    Refused(
        "csv_as_tsv",
        "really_csv.tsv",
        "tsv",
        csv_text([fields("x")]).encode(),
        "the first record must be the header .*this looks like a csv file: set raw_format = csv",
    ),
    Refused(
        "tsv_as_csv",
        "really_tsv.csv",
        "csv",
        tsv_text([tsv_line("x")]).encode(),
        "the first record must be the header .*this looks like a tsv file: set raw_format = tsv",
    ),
    Refused(
        "tsv_as_csv",
        "really_tsv_with_quotes.csv",
        "csv",
        tsv_text([tsv_line("x"), '"an open quote\t' + tsv_line("y")]).encode(),
        "this looks like a tsv file: set raw_format = tsv",
    ),
    Refused(
        "invalid_utf8",
        "latin1.tsv",
        "tsv",
        tsv_text([tsv_line("x"), tsv_line("M\u00fcnchen")]).encode("latin-1"),
        r"line 3: invalid UTF-8 \(byte 0xfc\)",
    ),
    Refused(
        "invalid_utf8",
        "latin1.csv",
        "csv",
        csv_text([fields("x"), fields("M\u00fcnchen")]).encode("latin-1"),
        r"line 3: invalid UTF-8 \(byte 0xfc\)",
    ),
    Refused(
        "invalid_utf8",
        "utf16.tsv",
        "tsv",
        tsv_text([tsv_line("x")]).encode("utf-16"),
        r"line 1: invalid UTF-8 \(byte 0xff\)",
    ),
    Refused("binary_garbage", "random.tsv", "tsv", GARBAGE, r"line 1: invalid UTF-8"),
    Refused("binary_garbage", "random.csv", "csv", GARBAGE, r"line 1: invalid UTF-8"),
    Refused(
        "binary_garbage",
        "gzipped.tsv",
        "tsv",
        gzip.compress(tsv_text([tsv_line("x")]).encode(), mtime=0),
        r"line 1: invalid UTF-8 \(byte 0x8b\)",
    ),
    Refused(
        "binary_garbage",
        "garbage_after_header.tsv",
        "tsv",
        tsv_text([tsv_line("x")]).encode() + GARBAGE,
        r"line 3: invalid UTF-8 \(byte 0xff\)",
    ),
    Refused(
        "csv_bad_quotes",
        "unterminated.csv",
        "csv",
        csv_text([fields("x")]).encode() + b'1/2/14,"open,AZ,light,5 min,s,1/3/14\n',
        r"line \d+: bad CSV quoting: unexpected end of data",
    ),
    Refused("no_match", "nothing-*.tsv", "tsv", None, r"matches no tsv file"),
    Refused("no_match", "missing.csv", "csv", None, r"matches no csv file"),
    Refused("no_match", "empty_dir", "tsv", None, r"matches no tsv file"),
    Refused("no_match", "only_litter", "csv", None, r"matches no csv file"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in REFUSED])
def test_refused_input_fails_naming_the_file_and_the_problem(
    backend: Backend, tmp_path: Path, case: Refused, reliability: Recorder
) -> None:
    path = tmp_path / case.name
    if case.data is not None:
        path.write_bytes(case.data)
    elif case.name == "empty_dir":
        path.mkdir()
    elif case.name == "only_litter":
        path.mkdir()
        _litter(path)
    with pytest.raises(RawInputError) as caught:
        backend.read_raw(str(path), case.raw_format)
    message = str(caught.value)
    assert message.startswith((f"{path}: ", f"raw_path '{path}'")), message
    assert re.search(case.message, message), message
    assert "Traceback" not in message and len(message) < 600
    reliability.record(case.attack, backend.name, f"refused: {_shorten(message, path)}", inputs=1)


def _shorten(message: str, path: Path) -> str:
    """The message for the table: without temporary directories or the expected header."""
    text = message.replace(str(path), path.name).replace("|", "\\|")
    text = re.sub(r"the header '[^']*'", "the header", text)
    return re.sub(r", not '(.{70}).+?'", r", not '\1…'", text)


def test_one_bad_file_among_good_ones_fails_the_whole_run(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    generate(300, raw / "a.tsv", seed=21)
    generate(300, raw / "c.tsv", seed=22)
    (raw / "b.tsv").write_bytes(tsv_text([tsv_line("x")]).encode() + b"\xc3\x28\n")
    data_root = tmp_path / "out"
    with set_options("etl", {"raw_path": str(raw), "raw_format": "tsv",
                             "data_root": str(data_root)}):  # fmt: skip
        monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
        with pytest.raises(RawInputError, match=r"b\.tsv: line 3: invalid UTF-8 \(byte 0xc3\)"):
            etl.ReadUFOs(date=RUN_DATE).run()
        assert not luigi.build([etl.ReadUFOs(date=RUN_DATE)], local_scheduler=True)
    for name in DATASETS:
        assert not list(data_root.glob(f"ufo/etl/{name}/**/*.parquet")), name
    reliability.record(
        "poisoned_directory",
        backend.name,
        "refused: the run fails naming b.tsv and line 3; nothing written",
        inputs=1,
    )


def test_header_only_input_runs_the_whole_pipeline(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    raw = tmp_path / "header_only.tsv"
    raw.write_text(tsv_text([]))
    data_root = tmp_path / "out"
    with set_options("etl", {"raw_path": str(raw), "raw_format": "tsv",
                             "data_root": str(data_root)}):  # fmt: skip
        monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
        assert luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
    for name in DATASETS:
        location = DatasetLocation(str(data_root), name, RUN_DATE)
        assert location.rows() == 0, name
        table = pa.concat_tables([pq.read_table(f) for f in location.data_files()])
        assert table.num_rows == 0 and table.num_columns > 0, name
    reliability.record(
        "header_only",
        backend.name,
        "accepted: the pipeline completes with every dataset empty",
        inputs=1,
    )


# --------------------------------------------------------------------------------------
# A corrupt Parquet input to an aggregate task
# --------------------------------------------------------------------------------------


@pytest.fixture
def sightings_root(backend: Backend, tmp_path: Path) -> Path:
    """A data root with a complete ``sightings`` dataset of RUN_DATE."""
    raw = tmp_path / "raw.tsv"
    generate(3_000, raw, seed=31)
    root = tmp_path / "out"
    classified = transforms.classify(backend.read_raw(str(raw), "tsv").records)
    location = DatasetLocation(str(root), "sightings", RUN_DATE)
    backend.write_dataset(transforms.sightings(classified), location)
    return root


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_column(path: Path, column: str) -> None:
    """Flip the middle half of the bytes of ``column``'s pages: the footer stays
    intact, and an aggregate on ``column`` must read the damage."""
    metadata = pq.read_metadata(path)
    data = bytearray(path.read_bytes())
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            chunk = metadata.row_group(group).column(index)
            if chunk.path_in_schema != column:
                continue
            start = chunk.dictionary_page_offset or chunk.data_page_offset
            size = chunk.total_compressed_size
            for i in range(start + size // 4, start + 3 * size // 4):
                data[i] ^= 0x5A
    path.write_bytes(bytes(data))


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "empty": lambda path: path.write_bytes(b""),
    "not_parquet": lambda path: path.write_text("Date / Time\tCity\n" * 100),
}


def _run_by_state(backend: Backend, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    with set_options("etl", {"data_root": str(root)}):
        etl.AggregateUFOsByState(date=RUN_DATE).run()


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupt_parquet_input_fails_naming_the_file(
    backend: Backend,
    sightings_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    corruption: str,
    reliability: Recorder,
) -> None:
    location = DatasetLocation(str(sightings_root), "sightings", RUN_DATE)
    part = Path(location.data_files()[0])
    CORRUPTIONS[corruption](part)
    with pytest.raises(DatasetError) as caught:
        _run_by_state(backend, sightings_root, monkeypatch)
    message = str(caught.value)
    assert str(part) in message and "is not a readable Parquet file" in message, message
    assert not DatasetLocation(str(sightings_root), "by_state", RUN_DATE).exists()
    reliability.record(
        "corrupt_parquet",
        backend.name,
        f"refused ({corruption}): DatasetError names the part: "
        f"{message.split(': ', 2)[-1].split('. ')[0]}",
        inputs=1,
    )


def test_corrupt_parquet_pages_fail_naming_the_file(
    backend: Backend, sightings_root: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    location = DatasetLocation(str(sightings_root), "sightings", RUN_DATE)
    part = Path(location.data_files()[0])
    _flip_column(part, "state")
    # The footer is intact: the engine meets the damage when it reads the pages.
    with pytest.raises(DatasetError) as caught:
        _run_by_state(backend, sightings_root, monkeypatch)
    message = str(caught.value)
    assert f"{part} is corrupt: " in message, message
    assert not DatasetLocation(str(sightings_root), "by_state", RUN_DATE).exists()
    engine_said = str(caught.value.__cause__).strip().splitlines()[0][:100]
    reliability.record(
        "corrupt_parquet_pages",
        backend.name,
        f"refused: DatasetError names the part: `{message.split(' is corrupt: ')[1][:80]}` "
        f"(the engine said `{engine_said.replace(str(sightings_root), '…').replace('|', '/')}`)",
        inputs=1,
    )


@pytest.mark.parametrize("change", ["part_deleted", "foreign_part_added"])
def test_changed_parts_of_a_complete_dataset_are_refused(
    backend: Backend,
    sightings_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    reliability: Recorder,
) -> None:
    location = DatasetLocation(str(sightings_root), "sightings", RUN_DATE)
    parts = [Path(f) for f in location.data_files()]
    recorded = location.rows()
    assert recorded is not None and recorded > 0
    if change == "part_deleted":
        parts[-1].unlink()
    else:
        pq.write_table(pq.read_table(parts[0]).slice(0, 5), parts[0].with_name("zz-extra.parquet"))
    with pytest.raises(DatasetError, match=rf"_SUCCESS records {recorded}") as caught:
        _run_by_state(backend, sightings_root, monkeypatch)
    assert location.uri in str(caught.value)
    reliability.record(
        "parquet_parts_changed",
        backend.name,
        f"refused ({change}): the parts' rows do not add up to what _SUCCESS records",
        inputs=1,
    )


# --------------------------------------------------------------------------------------
# Bad dates and settings on the command line
# --------------------------------------------------------------------------------------


def luigi_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m luigi --module etl ...`` with the project's luigi.cfg and no PG*
    settings, run in ``cwd``: a relative default such as ``data_root = data`` stays
    in there."""
    return subprocess.run(
        [sys.executable, "-m", "luigi", "--module", "etl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
            "LUIGI_CONFIG_PATH": str(ROOT / "luigi.cfg"),
            **(env or {}),
        },
    )


SAMPLE = str(ROOT / "data" / "raw" / "ufo_sample.tsv")
_BAD_DATE = (
    r"ConfigurationError: --date must be a date YYYY-MM-DD, not '{0}': "
    r"time data '{0}' (does not match format|unconverted data remains)"
)
BAD_SETTINGS = {
    # case: (arguments, what the error must say, attack)
    # (An empty value, e.g. --date "", is no value to Luigi: the default applies.)
    "date_impossible": (["--date", "2024-13-45"], _BAD_DATE.format("2024-13-45"), "bad_date"),
    "date_path": (
        ["--date", "../../etc/passwd"],
        _BAD_DATE.format("../../etc/passwd"),
        "bad_date",
    ),
    "date_time": (
        ["--date", "2024-05-17T00:00"],
        r"unconverted data remains: T00:00",
        "bad_date",
    ),
    "backend": (
        ["--etl-backend", "oracle"],
        r"ConfigurationError: \[etl\] backend \(--etl-backend\) must be one of duckdb, spark, "
        r"not 'oracle'",
        "bad_setting",
    ),
    "raw_format": (
        ["--etl-raw-format", "xml"],
        r"ConfigurationError: \[etl\] raw_format \(--etl-raw-format\) must be one of csv, tsv, "
        r"not 'xml'",
        "bad_setting",
    ),
    "data_root_s3_dotdot": (
        ["--etl-data-root", "s3://ufo/a/../../other"],
        r"ConfigurationError: data_root 's3://ufo/a/../../other' must not contain",
        "bad_setting",
    ),
    "data_root_under_a_file": (
        ["--etl-data-root", "{tmp}/a-file/out"],
        r"ConfigurationError: data_root '[^']*a-file/out' cannot be a directory: "
        r"'[^']*a-file' is a file",
        "bad_setting",
    ),
    "duckdb_threads": (
        ["--duckdb-threads", "many"],
        r"invalid literal for int\(\)[^\n]*many",
        "bad_setting",
    ),
    "spark_conf": (
        ["--etl-backend", "spark", "--spark-conf", "{not json"],
        r"Expecting property name enclosed in double quotes",
        "bad_setting",
    ),
}


@pytest.fixture(scope="module")
def bad_setting_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every bad setting on the command line, four at a time."""
    root = tmp_path_factory.mktemp("bad-settings")
    (root / "a-file").write_text("")

    def run(case: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        args = [a.replace("{tmp}", str(root)) for a in BAD_SETTINGS[case][0]]
        work = root / case
        work.mkdir()
        extra = [] if "--etl-data-root" in args else ["--etl-data-root", str(work / "out")]
        done = luigi_cli(
            "UFOPipeline", "--local-scheduler", "--etl-raw-path", SAMPLE, *extra, *args, cwd=work
        )
        return done, work

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(BAD_SETTINGS, pool.map(run, BAD_SETTINGS)))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_fails_before_anything_is_written(
    bad_setting_runs: dict[str, Any], case: str, reliability: Recorder
) -> None:
    done, work = bad_setting_runs[case]
    _, expected, attack = BAD_SETTINGS[case]
    # 30: a task failed; 35: scheduling failed; 40: the command line was refused.
    assert done.returncode in (30, 35, 40), done.stderr[-3000:]
    message = re.search(expected + r"[^\n]*", done.stderr)
    assert message is not None, done.stderr[-3000:]
    # One line that names the setting, not a wall of traceback.
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    written = [
        p
        for p in work.rglob("*")
        if p.name == "_SUCCESS" or (p.suffix == ".parquet" and "_runs" not in p.parts)
    ]
    assert not written, written
    reliability.record(
        attack,
        "any",
        f"refused (exit {done.returncode}), nothing written: "
        f"`{_shorten(message.group(0), work.parent)[:110].replace('|', '/')}` "
        "(one line, no traceback)",
        inputs=1,
    )


@pytest.mark.spark
def test_an_unreachable_spark_master_fails_clearly(tmp_path: Path, reliability: Recorder) -> None:
    from conftest import free_port

    master = f"spark://127.0.0.1:{free_port()}"
    done = luigi_cli(
        "ReadUFOs", "--local-scheduler", "--etl-backend", "spark", "--spark-master", master,
        "--etl-data-root", str(tmp_path / "out"), "--etl-raw-path", SAMPLE,
        "--spark-conf", json.dumps({"spark.ui.enabled": "false"}),
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 30, done.stderr[-3000:]
    assert re.search(
        rf"BackendUnavailableError: cannot reach the Spark master {master} within 10 s",
        done.stderr,
    )
    assert not list((tmp_path / "out").rglob("_SUCCESS"))
    reliability.record(
        "bad_setting",
        "spark",
        "refused (exit 30) at once: `BackendUnavailableError: cannot reach the Spark master "
        "spark://… within 10 s`",
        inputs=1,
    )


# --------------------------------------------------------------------------------------
# Paths: nothing escapes data_root
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../sightings", "..", "a/b", "sightings/../../x", "/etc", "x\x00y", "", "Sightings"]
)
def test_dataset_names_cannot_leave_the_data_root(
    name: str, tmp_path: Path, reliability: Recorder
) -> None:
    with pytest.raises(ConfigurationError, match="invalid dataset name"):
        DatasetLocation(str(tmp_path), name, RUN_DATE)
    reliability.record("dataset_name_traversal", "any", "refused: invalid dataset name", inputs=1)


@pytest.mark.parametrize("value", ["../../etc", "2024-05-17/../../x", "2024-05-17\x00", "."])
def test_a_date_cannot_hold_a_path(value: str, reliability: Recorder) -> None:
    with pytest.raises(ValueError, match="does not match format|unconverted data remains"):
        luigi.DateParameter().parse(value)
    with pytest.raises(TypeError):
        etl.ReadUFOs(date=value)  # a string is not a date: Luigi refuses it
    reliability.record(
        "date_traversal",
        "any",
        "refused: a date parameter only holds a date (parsed as YYYY-MM-DD)",
        inputs=2,
    )


def _files_under(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if p.is_file()}


def test_outputs_stay_inside_a_data_root_written_with_dotdot(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    generate(500, raw_dir / "a.tsv", seed=41)
    (tmp_path / "elsewhere").mkdir()
    # raw_path and data_root both go up and down again.
    raw_path = str(tmp_path / "elsewhere" / ".." / "raw" / "." / "a.tsv")
    data_root = str(tmp_path / "elsewhere" / ".." / "out")
    before = _files_under(tmp_path)
    with set_options("etl", {"raw_path": raw_path, "raw_format": "tsv", "data_root": data_root}):
        monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
        assert luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True)
    new = _files_under(tmp_path) - before
    out = (tmp_path / "out").resolve()
    assert new and all(p.resolve().is_relative_to(out) for p in new), sorted(new)[:5]
    assert not list((tmp_path / "elsewhere").iterdir())
    rejects = pq.read_table(DatasetLocation(str(out), "rejects", RUN_DATE).data_files())
    assert set(rejects.column("source_file").to_pylist()) == {str(raw_dir / "a.tsv")}
    assert expand_raw_path(raw_path, "tsv") == [str(raw_dir / "a.tsv")]
    reliability.record(
        "data_root_dotdot",
        backend.name,
        f"resolved: all {len(new)} files written land under the resolved data_root",
        inputs=1,
    )
    reliability.record(
        "raw_path_dotdot",
        backend.name,
        "resolved: read as the normalised absolute path, which source_file records",
        inputs=1,
    )


def test_dotdot_in_s3_urls_is_refused(reliability: Recorder) -> None:
    for url in ("s3://ufo/raw/../../other/", "s3://ufo/./raw/a.tsv"):
        with pytest.raises(ConfigurationError, match=r"raw_path .* must not contain '\.'"):
            expand_raw_path(url, "tsv")
    for root in ("s3://ufo/../other", "s3://ufo/x/./y"):
        with pytest.raises(ConfigurationError, match=r"data_root .* must not contain '\.'"):
            DatasetLocation(root, "sightings", RUN_DATE)
    reliability.record(
        "data_root_dotdot", "any", "S3: refused (ConfigurationError names data_root)", inputs=2
    )
    reliability.record(
        "raw_path_dotdot", "any", "S3: refused (ConfigurationError names raw_path)", inputs=2
    )


def test_compose_binds_loopback_and_runs_as_non_root(reliability: Recorder) -> None:
    """Covered by tests/test_compose.py; its checks are re-run here for the table."""
    compose = pytest.importorskip("test_compose")
    stack = compose.load_stack()
    assert compose.check_ports_bind_loopback(stack) == []
    assert compose.check_non_root(stack) == []
    reliability.record(
        "compose_loopback",
        "any",
        "every published port binds 127.0.0.1; other ports only on the stack's network "
        "(test_compose.py::test_stack[ports_bind_loopback])",
    )
    reliability.record(
        "compose_non_root",
        "any",
        "every service has a non-root user (test_compose.py::test_stack[non_root])",
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tests/test_reliability.py RESULTS.jsonl docs/reliability.md")
    update_document(Path(sys.argv[1]), Path(sys.argv[2]))


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 7, 997, 65_537])
def test_the_inspection_finds_the_same_whatever_the_block_size(
    accepted_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """Blocks end anywhere (inside quotes, between CR and LF, in a UTF-8
    character): the counts, the header and the flags do not change, nor do the
    errors of refused files. (Tiny blocks skip the 1 MB files: a line longer
    than a block is carried over whole, which takes time quadratic in its
    length over the block size.)"""
    from backends import _rawfiles

    files = [(accepted_dir / c.name, c.name.rsplit(".", 1)[1]) for c in ACCEPTED_TSV + ACCEPTED_CSV]
    for case in REFUSED:
        if case.data:
            (tmp_path / case.name).write_bytes(case.data)
            files.append((tmp_path / case.name, case.raw_format))
    if block_bytes < 1000:
        files = [(path, fmt) for path, fmt in files if path.stat().st_size < 100_000]

    def inspect_all() -> list[object]:
        return [_rawfiles.inspect_path(str(path), fmt) for path, fmt in files]

    expected = inspect_all()
    monkeypatch.setattr(_rawfiles, "_CHUNK_BYTES", block_bytes)
    assert inspect_all() == expected
