"""Tests for the dirty raw NUFORC TSV generator (``etl.generate``)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from etl.generate import HEADER_LINE, generate, main, plan_counts

HEADER_FIELDS = [h.lower() for h in HEADER_LINE.split("\t")]
DIRT_ROWS = 20_000

# The duration grammar of docs/contract.md, as a regex (for the parse rate).
_QUALIFIER = (
    r"(?:~|about|around|approx\.?|approximately|appx\.?|aprox|ca\.?|<|>|\+|over|under"
    r"|almost|nearly|less than|more than|at least)"
)
_QUANTITY = r"(?:\d+(?:\.\d+)?|\.\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
_UNIT = (
    r"(?:seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h"
    r"|days|day|d)"
)
DURATION = re.compile(
    rf"^(?:{_QUALIFIER}\s*)?{_QUANTITY}\s*(?:(?:-|to|or)\s*\d+(?:\.\d+)?\s*)?{_UNIT}"
    rf"\s*(?:\.|\+|\?|or so)?$|^\d*:\d\d$"
)


def _lines(path: Path) -> list[str]:
    """Return the file's lines after the header, without terminators."""
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert lines[0] == HEADER_LINE
    return lines[1:]


def _is_header(fields: list[str]) -> bool:
    return [f.strip().lower() for f in fields] == HEADER_FIELDS


@pytest.fixture(scope="module")
def dirty_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "ufo.tsv"
    generate(DIRT_ROWS, path, seed=7)
    return path


def test_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "c.tsv"
    generate(3_000, a, seed=1)
    generate(3_000, b, seed=1)
    generate(3_000, c, seed=2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_header_line_endings_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "ufo.tsv"
    generate(3_000, path)
    data = path.read_bytes()
    assert data.startswith(b"Date / Time\tCity\tState\tShape\tDuration\tSummary\tPosted\n")
    assert b"\r" not in data
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = _lines(path)
    assert len(lines) == 3_000
    plan = plan_counts(3_000)
    empty = sum(1 for line in lines if line == "")
    assert empty == plan["empty"]
    assert len(lines) - empty == 3_000 - plan["empty"]


@pytest.mark.parametrize("rows", [0, 1, 2, 999, 1_000])
def test_small_row_counts(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "small.tsv"
    generate(rows, path)
    assert len(_lines(path)) == rows


def test_field_counts(dirty_file: Path) -> None:
    plan = plan_counts(DIRT_ROWS)
    widths = Counter(len(line.split("\t")) for line in _lines(dirty_file) if line)
    assert set(widths) <= {6, 7, 8}
    assert widths[6] + widths[8] == plan["malformed"]
    assert widths[6] > 0
    assert widths[8] > 0
    assert widths[7] == DIRT_ROWS - plan["malformed"] - plan["empty"]


def test_structural_dirt_counts(dirty_file: Path) -> None:
    plan = plan_counts(DIRT_ROWS)
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    exact_headers = 0
    for line in _lines(dirty_file):
        fields = line.split("\t")
        if line == "":
            counts["empty"] += 1
        elif len(fields) != 7:
            counts["malformed"] += 1
        elif _is_header(fields):
            counts["header_row"] += 1
            exact_headers += line == HEADER_LINE
        elif line in seen:
            counts["duplicate"] += 1
        else:
            seen.add(line)
    for kind in ("empty", "malformed", "header_row", "duplicate"):
        assert counts[kind] == plan[kind] > 0, kind
    assert 0 < exact_headers < counts["header_row"]  # exact and case/space variants


def test_plan_counts_proportions() -> None:
    plan = plan_counts(10_000_000)
    assert plan == {
        "lines": 10_000_000,
        "header_row": 10_000,
        "duplicate": 5_000,
        "malformed": 5_000,
        "empty": 1_000,
        "clean": 9_979_000,
    }


def test_field_dirt_present(dirty_file: Path) -> None:
    records = [
        f
        for f in (line.split("\t") for line in _lines(dirty_file) if line)
        if len(f) == 7 and not _is_header(f)
    ]
    dates = [f[0] for f in records]
    states = [f[2] for f in records]
    summaries = [f[5] for f in records]
    assert any(re.fullmatch(r"\d{1,2}:\d{2}", d) for d in dates), "time-only date"
    assert any(re.match(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$", d) for d in dates)
    assert any(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", d) for d in dates), "date only"
    assert any(d == "" for d in dates), "blank date"
    assert any(d != d.strip() for d in dates), "padded date"
    assert any(re.fullmatch(r"[a-z]{2}", s) for s in states), "lowercase state"
    assert any(s == "" for s in states), "blank state"
    assert any(s in {"PQ", "NF", "YK"} for s in states), "legacy code"
    assert any(f[1].endswith("(Canada)") for f in records)
    assert any("(near " in f[1] for f in records)
    assert any(f[3] == "" for f in records), "blank shape"
    assert any(f[3].strip() and f[3] == f[3].lower() for f in records), "lowercase shape"
    assert any(re.search(r"&(quot|amp|#39|#44|lt|gt)", s) for s in summaries), "entity"
    assert any('"' in s for s in summaries), "stray quote"
    assert any("((NUFORC Note:" in s for s in summaries)
    assert any("((anonymous report))" in s for s in summaries)
    assert any(not s.isascii() for s in summaries), "non-ASCII"
    assert all(len(s) <= 135 for s in summaries)
    assert any(f[6] == "" for f in records), "blank posted"


def test_duration_parse_rate(dirty_file: Path) -> None:
    durations = [
        f[4].strip().lower()
        for f in (line.split("\t") for line in _lines(dirty_file) if line)
        if len(f) == 7
    ]
    non_blank = [d for d in durations if d]
    rate = sum(bool(DURATION.match(d)) for d in non_blank) / len(non_blank)
    assert 0.84 <= rate <= 0.91


def test_main_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.tsv"
    assert main(["--rows", "500", "--out", str(path), "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    reference = tmp_path / "ref.tsv"
    generate(500, reference, seed=3)
    assert path.read_bytes() == reference.read_bytes()
