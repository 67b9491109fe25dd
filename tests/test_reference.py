"""Tests of the pure-Python reference implementation (tests/reference.py).

The real-file tests need the shared UFO data; they are skipped when it is
absent. Its folder is ``<repo>/../shared/data/ufo``, or ``$UFO_SHARED_DATA``.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from etl.datasets import DATASETS

sys.path.insert(0, str(Path(__file__).parent))

import reference as ref
from reference import (
    HEADER,
    RAW_FIELDS,
    RawRecord,
    ascii_lower,
    ascii_upper,
    by_month,
    by_shape,
    by_state,
    classify,
    clean_city,
    clean_posted,
    clean_shape,
    clean_sighted_at,
    clean_state,
    clean_summary,
    country_of,
    parse_duration_seconds,
    read_raw,
    run,
    top10_shapes,
    top10_states,
    top_n,
    trim,
)

HEADER_TSV = "\t".join(HEADER)
HEADER_CSV = ",".join(HEADER)


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------


def test_trim_removes_ascii_whitespace_only() -> None:
    assert trim(" \t\r\n\x0b\x0cabc \t\r\n\x0b\x0c") == "abc"
    assert trim("a b") == "a b"
    for unicode_space in ("\u00a0", "\u2028", "\x85", "\u3000", "\x1c"):
        assert trim(f"{unicode_space}x{unicode_space}") == f"{unicode_space}x{unicode_space}"


def test_case_changes_touch_ascii_letters_only() -> None:
    assert ascii_upper("abc xyz-09 éß\u0131") == "ABC XYZ-09 éß\u0131"
    assert ascii_lower("ABC XYZ-09 É\u0130K") == "abc xyz-09 É\u0130k"
    assert ascii_lower("\u212a") == "\u212a"  # KELVIN SIGN is not an ASCII K


# --------------------------------------------------------------------------
# sighted_at / posted
# --------------------------------------------------------------------------


def test_sighted_at_contract_examples() -> None:
    assert clean_sighted_at("6/30/65", date(2005, 1, 1)) == datetime(1965, 6, 30)
    assert clean_sighted_at("3/19/14", clean_posted("3/18/14")) == datetime(2014, 3, 19)
    assert clean_sighted_at("2/29/2001", None) is None
    assert clean_sighted_at("2/29/2000", None) == datetime(2000, 2, 29)


@pytest.mark.parametrize(
    ("text", "posted", "expected"),
    [
        ("3/21/19 04:30", date(2019, 3, 21), datetime(2019, 3, 21, 4, 30)),
        ("12/31/14 23:59", date(2015, 1, 7), datetime(2014, 12, 31, 23, 59)),
        ("11/02/2014 23:00:00", date(2014, 12, 5), datetime(2014, 11, 2, 23)),
        ("12/01/2014 2:00:00", None, datetime(2014, 12, 1, 2)),
        ("  7/4/1999   9:05  ", None, datetime(1999, 7, 4, 9, 5)),
        ("\t1/2/03\r\n", None, datetime(2003, 1, 2)),
        # two-digit years: latest century on or before the posted year
        ("1/1/00", date(2000, 6, 1), datetime(2000, 1, 1)),
        ("1/1/01", date(2000, 6, 1), datetime(1901, 1, 1)),
        ("1/1/99", date(2000, 6, 1), datetime(1999, 1, 1)),
        ("6/30/65", date(2065, 1, 1), datetime(2065, 6, 30)),
        ("6/30/65", date(1965, 1, 1), datetime(1965, 6, 30)),
        ("6/30/65", date(1964, 12, 31), datetime(1865, 6, 30)),
        ("6/30/65", date(65, 1, 1), datetime(65, 6, 30)),
        ("6/30/65", date(64, 1, 1), None),  # would be before year 1
        ("2/29/00", date(2003, 1, 1), datetime(2000, 2, 29)),
        ("2/29/00", date(1999, 1, 1), None),  # 1900 is not a leap year
        # without posted: 00-68 -> 20YY, 69-99 -> 19YY
        ("1/1/68", None, datetime(2068, 1, 1)),
        ("1/1/69", None, datetime(1969, 1, 1)),
        # four-digit years ignore posted
        ("1/1/1850", date(2000, 1, 1), datetime(1850, 1, 1)),
        ("1/1/0001", None, datetime(1, 1, 1)),
        ("1/1/0000", None, None),
        # impossible moments
        ("2/29/1900", None, None),
        ("4/31/2000", None, None),
        ("13/1/2000", None, None),
        ("0/1/2000", None, None),
        ("1/0/2000", None, None),
        ("1/1/2000 24:00", None, None),
        ("1/1/2000 23:60", None, None),
        ("1/1/2000 23:59:60", None, None),
        # not the pattern
        ("", None, None),
        ("   ", None, None),
        ("23:00", None, None),
        ("9/?/99 22:30", None, None),
        ("09/0?/96 22:30", None, None),
        ("september 1993 22:15", None, None),
        ("4/ 23:22", None, None),
        ("1/1/199 10:00", None, None),
        ("1/1/19999", None, None),
        ("001/1/2000", None, None),
        ("1/1/2000 1:5", None, None),
        ("1/1/2000 100:00", None, None),
        ("1/1/2000\t10:00", None, None),  # only spaces separate date and time
        ("1/1/200010:00", None, None),
        ("1/1/2000 10:00:0", None, None),
        ("1/1/2000 10:00 PM", None, None),
        ("1/1/2000\n", None, datetime(2000, 1, 1)),  # trimmed first
        ("1/1/2000 \n10:00", None, None),
        ("\u0661/1/2000", None, None),  # ARABIC-INDIC DIGIT ONE
        ("\uff11/1/2000", None, None),  # FULLWIDTH DIGIT ONE
        ("1/1/20\u0662\u0660", None, None),
    ],
)
def test_sighted_at(text: str, posted: date | None, expected: datetime | None) -> None:
    assert clean_sighted_at(text, posted) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/18/14", date(2014, 3, 18)),
        ("3/21/19", date(2019, 3, 21)),
        ("1/07/2015", date(2015, 1, 7)),
        ("12/05/2014", date(2014, 12, 5)),
        (" 11/26/14 ", date(2014, 11, 26)),
        ("6/30/68", date(2068, 6, 30)),
        ("6/30/69", date(1969, 6, 30)),
        ("1/1/00", date(2000, 1, 1)),
        ("2/29/2000", date(2000, 2, 29)),
        ("2/29/2001", None),
        ("2/29/00", date(2000, 2, 29)),
        ("1/1/0000", None),
        ("3/18/14 10:00", None),
        ("", None),
        ("unknown", None),
        ("3-18-14", None),
        ("\u0663/18/14", None),
    ],
)
def test_posted(text: str, expected: date | None) -> None:
    assert clean_posted(text) == expected


# --------------------------------------------------------------------------
# city, state, country, shape, summary
# --------------------------------------------------------------------------


def test_city() -> None:
    assert clean_city("  Mumbai (India) ") == "Mumbai (India)"
    assert clean_city("") is None
    assert clean_city(" \t ") is None
    assert clean_city("\u00a0") == "\u00a0"  # NBSP is not ASCII whitespace


@pytest.mark.parametrize(
    ("text", "state", "country"),
    [
        ("CA", "CA", "US"),
        (" fl ", "FL", "US"),
        ("Fl", "FL", "US"),
        ("DC", "DC", "US"),
        ("PR", "PR", "US"),
        ("ON", "ON", "CA"),
        ("PQ", "QC", "CA"),
        ("pq", "QC", "CA"),
        ("NF", "NL", "CA"),
        ("YK", "YT", "CA"),
        ("NU", "NU", "CA"),
        ("SA", None, None),
        ("VI", None, None),
        ("GU", None, None),
        ("", None, None),
        ("C A", None, None),
        ("CAL", None, None),
    ],
)
def test_state_and_country(text: str, state: str | None, country: str | None) -> None:
    assert clean_state(text) == state
    assert country_of(clean_state(text)) == country


def test_state_lists() -> None:
    assert len(ref.US_STATES) == 52
    assert len(ref.CA_PROVINCES) == 13
    assert not ref.US_STATES & ref.CA_PROVINCES
    assert country_of(None) is None


def test_shape() -> None:
    assert clean_shape("Light") == "light"
    assert clean_shape(" TRIANGULAR ") == "triangular"
    assert clean_shape("") is None
    assert clean_shape("  ") is None
    assert clean_shape("\u0130") == "\u0130"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("&amp;quot;", "&quot;"),
        ("&quot;hi&quot;", '"hi"'),
        ("&quothi&quot", '"hi"'),
        ("a&#44b&#44; c", "a,b, c"),
        ("it&#39;s", "it's"),
        ("&lt;b&gt;", "<b>"),
        ("&lt&gt", "<>"),
        ("&amp;amp;", "&amp;"),
        ("&amp;&amp;", "&&"),
        ("&&amp;", "&&"),
        ("&#8217;", "&#8217;"),
        ("&AMP;", "&AMP;"),
        ("&nbsp;", "&nbsp;"),
        ("&#390;", "'0;"),  # `;` is optional, so `&#39` matches first
        ("  spaced  ", "spaced"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_summary(text: str, expected: str) -> None:
    assert clean_summary(text) == expected


# --------------------------------------------------------------------------
# duration_seconds
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # contract examples
        ("5 minutes", 300.0),
        ("~30 seconds", 30.0),
        ("1-2 hours", 5400.0),
        ("2:00", 120.0),
        # numbers
        ("2.5 hrs", 9000.0),
        (".5 hour", 1800.0),
        ("0.5 min", 30.0),
        ("10 sec", 10.0),
        ("3 days", 259200.0),
        ("1 d", 86400.0),
        ("5m", 300.0),
        ("5 s", 5.0),
        ("2MIN.", 120.0),
        ("  15 Minutes  ", 900.0),
        ("5  minutes", 300.0),
        # words
        ("a minute", 60.0),
        ("an hour", 3600.0),
        ("one hour", 3600.0),
        ("ten seconds", 10.0),
        ("about an hour", 3600.0),
        ("Two Minutes", 120.0),
        # qualifiers
        ("about 5 minutes", 300.0),
        ("around 10 min", 600.0),
        ("approx 5 min", 300.0),
        ("approx. 5 min", 300.0),
        ("approximately 20 seconds", 20.0),
        ("appx. 3 hrs", 10800.0),
        ("aprox 2 hours", 7200.0),
        ("ca. 5 min", 300.0),
        ("ca 5 min", 300.0),
        ("<1 min", 60.0),
        ("> 2 hours", 7200.0),
        ("+10 minutes", 600.0),
        ("over 1 hour", 3600.0),
        ("under 30 seconds", 30.0),
        ("almost 1 hour", 3600.0),
        ("nearly 2 minutes", 120.0),
        ("less than 1 minute", 60.0),
        ("more than 3 hours", 10800.0),
        ("at least 45 minutes", 2700.0),
        ("~5min", 300.0),
        # ranges: midpoint
        ("5-10 minutes", 450.0),
        ("5 - 10 minutes", 450.0),
        ("2 to 3 hours", 9000.0),
        ("2 or 3 hours", 9000.0),
        ("about 2-3 minutes", 150.0),
        ("1.5-2.5 hrs", 7200.0),
        ("one to 2 hours", 5400.0),
        # suffixes
        ("5 minutes.", 300.0),
        ("5 minutes+", 300.0),
        ("5 minutes?", 300.0),
        ("5 minutes or so", 300.0),
        ("10 mins +", 600.0),
        # [M]:SS
        (":30", 30.0),
        ("1:30", 90.0),
        ("10:00", 600.0),
        ("0:05", 5.0),
        # longest alternative first: `approx.` + `5`, not `approx` + `.5`
        ("approx.5 min", 300.0),
        ("ca.5 min", 300.0),
        # null
        ("", None),
        ("   ", None),
        ("unknown", None),
        ("few seconds", None),
        ("a few seconds", None),
        ("1/2 hour", None),
        ("seconds", None),
        ("5", None),
        ("?", None),
        ("30+ minutes", None),
        ("1 1/2 hours", None),
        ("5 mintues", None),
        ("one to two hours", None),  # a range-end is a number, not a word
        ("eleven minutes", None),
        ("5 minutes then it went a", None),
        ("2:00 minutes", None),
        ("1:30:00", None),
        ("1:5", None),
        ("~1:30", None),
        ("5. min", None),
        ("5 min..", None),
        ("5\tminutes", None),
        ("\u0665 minutes", None),  # ARABIC-INDIC DIGIT FIVE
        ("\u0665:00", None),
        ("1,000 seconds", None),
    ],
)
def test_duration(text: str, expected: float | None) -> None:
    result = parse_duration_seconds(text)
    assert result == expected
    if result is not None:
        assert type(result) is float


# --------------------------------------------------------------------------
# read_raw
# --------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


ROW_A = ("1/1/19 10:00", "Town", "CA", "Light", "5 min", "Hello", "1/2/19")
ROW_B = ("1/3/19", "Other", "on", "", "", "x", "1/4/19")


def test_tsv_line_endings_and_empty_lines(tmp_path: Path) -> None:
    text = (
        HEADER_TSV + "\r\n"
        + "\t".join(ROW_A) + "\r"
        + "\n"
        + "\t".join(ROW_B) + "\n"
        + "\r\n\r\n"
        + '"q"\t"x' + "\n"
        + "a\x0bb\x0cc\x1cd\x85e\u2028f\tg"
    )  # fmt: skip
    path = write(tmp_path, "a.tsv", text)
    records = read_raw([path], "tsv")
    assert records == [
        RawRecord(path, ROW_A, "\t".join(ROW_A)),
        RawRecord(path, ROW_B, "\t".join(ROW_B)),
        RawRecord(path, ('"q"', '"x'), '"q"\t"x'),
        RawRecord(
            path,
            ("a\x0bb\x0cc\x1cd\x85e\u2028f", "g"),
            "a\x0bb\x0cc\x1cd\x85e\u2028f\tg",
        ),
    ]


def test_tsv_whitespace_line_is_a_record(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", HEADER_TSV + "\n \n\t\n")
    assert read_raw([path], "tsv") == [
        RawRecord(path, (" ",), " "),
        RawRecord(path, ("", ""), "\t"),
    ]


def test_csv_quotes_newlines_and_raw_line(tmp_path: Path) -> None:
    multi = '1/1/19,"Town, ST",CA,Light,"5\r\nmin","say ""hi""\r\n\nthere",1/2/19'
    text = (
        HEADER_CSV + "\r\n"
        + ",".join(ROW_A) + "\r\n"
        + "\r\n"
        + multi + "\r\n"
        + "\n"
        + ",".join(ROW_B) + "\r"
        + '""\n'
        + "a,b"
    )  # fmt: skip
    path = write(tmp_path, "a.csv", text)
    records = read_raw([path], "csv")
    assert records == [
        RawRecord(path, ROW_A, ",".join(ROW_A)),
        RawRecord(
            path,
            (
                "1/1/19",
                "Town, ST",
                "CA",
                "Light",
                "5\r\nmin",
                'say "hi"\r\n\nthere',
                "1/2/19",
            ),
            multi,
        ),
        RawRecord(path, ROW_B, ",".join(ROW_B)),
        RawRecord(path, ("",), '""'),
        RawRecord(path, ("a", "b"), "a,b"),
    ]


def test_csv_vertical_tab_is_not_a_line_break(tmp_path: Path) -> None:
    row = ("1/1/19", "a\x0bb", "CA", "x\u2028y", "", "s\x85t", "1/2/19")
    path = write(tmp_path, "a.csv", HEADER_CSV + "\n" + ",".join(row) + "\n")
    assert read_raw([path], "csv") == [RawRecord(path, row, ",".join(row))]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_header_is_checked_trimmed_case_insensitive_bom_ignored(tmp_path: Path, fmt: str) -> None:
    sep = "\t" if fmt == "tsv" else ","
    header = sep.join(f" {ascii_upper(name)}  " for name in HEADER)
    path = write(tmp_path, f"a.{fmt}", "\ufeff" + header + "\n" + sep.join(ROW_A) + "\n")
    assert [r.fields for r in read_raw([path], fmt)] == [ROW_A]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "Date / Time\n",
        "Date/Time,City,State,Shape,Duration,Summary,Posted\n",
        "Date / Time,City,State,Shape,Duration,Summary,Posted,Extra\n",
        "Date / Time\tCity\tState\tShape\tDuration\tSummary\n",
        "1/1/19,a,CA,b,c,d,1/2/19\n",
    ],
)
def test_bad_header_names_the_file(tmp_path: Path, fmt: str, text: str) -> None:
    good = write(tmp_path, f"good.{fmt}", (HEADER_TSV if fmt == "tsv" else HEADER_CSV) + "\n")
    bad = write(tmp_path, f"bad.{fmt}", text)
    with pytest.raises(ValueError, match="bad"):
        read_raw([good, bad], fmt)


def test_header_of_the_other_format_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", HEADER_CSV + "\n")
    with pytest.raises(ValueError, match="a.tsv"):
        read_raw([path], "tsv")


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_invalid_utf8_names_file_and_line(tmp_path: Path, fmt: str) -> None:
    sep = "\t" if fmt == "tsv" else ","
    data = (sep.join(HEADER) + "\r\n" + sep.join(ROW_A) + "\r" + sep.join(ROW_B)).encode()
    path = write(tmp_path, f"broken.{fmt}", data + b"\n\xff\xfe\n")
    with pytest.raises(ValueError, match=r"broken\.(tsv|csv).*line 4"):
        read_raw([path], fmt)


def test_unknown_format(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", HEADER_TSV + "\n")
    with pytest.raises(ValueError):
        read_raw([path], "parquet")


def test_files_are_read_in_the_given_order(tmp_path: Path) -> None:
    first = write(tmp_path, "b.tsv", HEADER_TSV + "\n" + "\t".join(ROW_B) + "\n")
    second = write(tmp_path, "a.tsv", HEADER_TSV + "\n" + "\t".join(ROW_A) + "\n")
    records = read_raw([first, second], "tsv")
    assert [(r.source_file, r.fields) for r in records] == [
        (first, ROW_B),
        (second, ROW_A),
    ]


# --------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------


def test_classify_rules_in_order() -> None:
    header_again = tuple(f" {ascii_lower(name)} " for name in HEADER)
    records = [
        RawRecord("f1", ROW_A, "line-a"),
        RawRecord("f1", ("a", "b"), "a\tb"),
        RawRecord("f1", (*ROW_A, "extra"), "line-8"),
        RawRecord("f1", header_again, "h"),
        RawRecord("f1", header_again, "h"),  # header_row beats duplicate
        RawRecord("f2", ROW_A, "line-a2"),  # duplicate across files
        RawRecord("f2", (" " + ROW_A[0], *ROW_A[1:]), "x"),  # untrimmed: not equal
        RawRecord("f2", ROW_B, "line-b"),
        RawRecord("f2", ROW_B, "line-b"),
    ]
    sightings, rejects = classify(records)
    assert len(sightings) == 3
    assert [tuple(r) for r in rejects] == [ref.REJECT_COLUMNS] * 6
    assert rejects == [
        {
            "source_file": "f1", "date_time": "a", "city": "b", "state": None,
            "shape": None, "duration": None, "summary": None, "posted": None,
            "raw_line": "a\tb", "reason": "malformed",
        },
        {
            "source_file": "f1", **dict(zip(RAW_FIELDS, ROW_A)),
            "raw_line": "line-8", "reason": "malformed",
        },
        {
            "source_file": "f1", **dict(zip(RAW_FIELDS, header_again)),
            "raw_line": None, "reason": "header_row",
        },
        {
            "source_file": "f1", **dict(zip(RAW_FIELDS, header_again)),
            "raw_line": None, "reason": "header_row",
        },
        {
            "source_file": "f2", **dict(zip(RAW_FIELDS, ROW_A)),
            "raw_line": None, "reason": "duplicate",
        },
        {
            "source_file": "f2", **dict(zip(RAW_FIELDS, ROW_B)),
            "raw_line": None, "reason": "duplicate",
        },
    ]  # fmt: skip


def test_sighting_row() -> None:
    fields = (
        " 6/30/65 21:00 ", " Town ", " pq ", " Disk ", " 1-2 hours ",
        " &quot;big&quot; &amp; bright ", " 1/5/05 ",
    )  # fmt: skip
    sightings, rejects = classify([RawRecord("f", fields, "")])
    assert rejects == []
    assert sightings == [
        {
            "sighted_at": datetime(1965, 6, 30, 21, 0),
            "city": "Town",
            "state": "QC",
            "country": "CA",
            "shape": "disk",
            "duration_seconds": 5400.0,
            "summary": '"big" & bright',
            "posted": date(2005, 1, 5),
        }
    ]
    assert tuple(sightings[0]) == ref.SIGHTING_COLUMNS


def test_blank_sighting_row() -> None:
    sightings, _ = classify([RawRecord("f", ("",) * 7, "")])
    assert sightings == [
        {
            "sighted_at": None, "city": None, "state": None, "country": None,
            "shape": None, "duration_seconds": None, "summary": "", "posted": None,
        }
    ]  # fmt: skip


def test_two_digit_year_without_posted() -> None:
    fields = ("6/30/65", "", "", "", "", "", "")
    sightings, _ = classify([RawRecord("f", fields, "")])
    assert sightings[0]["sighted_at"] == datetime(2065, 6, 30)


# --------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------


def sighting(state: str | None, shape: str | None, at: datetime | None) -> ref.Row:
    return {
        "sighted_at": at, "city": None, "state": state, "country": country_of(state),
        "shape": shape, "duration_seconds": None, "summary": "", "posted": None,
    }  # fmt: skip


SAMPLE = [
    sighting("CA", "light", datetime(2001, 5, 1, 10)),
    sighting("CA", "disk", None),
    sighting("CA", "light", datetime(1999, 5, 2)),
    sighting("ON", None, datetime(2001, 5, 31, 23, 59)),
    sighting("ON", "disk", None),
    sighting("AB", "Light", None),
    sighting(None, "light", datetime(2001, 6, 1)),
    sighting(None, None, None),
]


def test_by_state() -> None:
    assert sorted(by_state(SAMPLE), key=lambda r: str(r["state"])) == [
        {
            "state": "AB", "country": "CA", "sightings": 1,
            "first_sighted_at": None, "last_sighted_at": None,
        },
        {
            "state": "CA", "country": "US", "sightings": 3,
            "first_sighted_at": datetime(1999, 5, 2),
            "last_sighted_at": datetime(2001, 5, 1, 10),
        },
        {
            "state": None, "country": None, "sightings": 2,
            "first_sighted_at": datetime(2001, 6, 1),
            "last_sighted_at": datetime(2001, 6, 1),
        },
        {
            "state": "ON", "country": "CA", "sightings": 2,
            "first_sighted_at": datetime(2001, 5, 31, 23, 59),
            "last_sighted_at": datetime(2001, 5, 31, 23, 59),
        },
    ]  # fmt: skip


def test_by_shape_and_month() -> None:
    assert Counter({r["shape"]: r["sightings"] for r in by_shape(SAMPLE)}) == Counter(
        {"light": 3, "disk": 2, None: 2, "Light": 1}
    )
    assert by_month(SAMPLE) == [
        {"year": 1999, "month": 5, "sightings": 1},
        {"year": 2001, "month": 5, "sightings": 2},
        {"year": 2001, "month": 6, "sightings": 1},
    ]
    assert by_month([]) == []


def test_top_n_ties_nulls_and_ranks() -> None:
    rows: list[ref.Row] = [
        {"state": None, "sightings": 100},
        {"state": "b", "sightings": 5},
        {"state": "a", "sightings": 5},
        {"state": "B", "sightings": 5},  # code point order: "B" < "a" < "b"
        {"state": "c", "sightings": 7},
        {"state": "d", "sightings": 1},
    ]
    assert top_n(rows, "state", n=4) == [
        {"rank": 1, "state": "c", "sightings": 7},
        {"rank": 2, "state": "B", "sightings": 5},
        {"rank": 3, "state": "a", "sightings": 5},
        {"rank": 4, "state": "b", "sightings": 5},
    ]
    assert len(top_n(rows, "state")) == 5
    many: list[ref.Row] = [{"shape": f"s{i:02d}", "sightings": i % 4} for i in range(12)]
    top = top10_shapes(many)
    assert [r["rank"] for r in top] == list(range(1, 11))
    assert [r["shape"] for r in top[:4]] == ["s03", "s07", "s11", "s02"]
    assert top10_states(by_state(SAMPLE)) == [
        {"rank": 1, "state": "CA", "sightings": 3},
        {"rank": 2, "state": "ON", "sightings": 2},
        {"rank": 3, "state": "AB", "sightings": 1},
    ]
    assert top10_shapes(by_shape(SAMPLE)) == [
        {"rank": 1, "shape": "light", "sightings": 3},
        {"rank": 2, "shape": "disk", "sightings": 2},
        {"rank": 3, "shape": "Light", "sightings": 1},
    ]


def test_run_end_to_end(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.tsv",
        "\n".join([HEADER_TSV, "\t".join(ROW_A), "\t".join(ROW_A), HEADER_TSV, "x"]),
    )
    out = run([path], "tsv")
    assert set(out) == set(DATASETS)
    assert [r["reason"] for r in out["rejects"]] == [
        "duplicate",
        "header_row",
        "malformed",
    ]
    assert out["top10_states"] == [{"rank": 1, "state": "CA", "sightings": 1}]
    assert out["by_month"] == [{"year": 2019, "month": 1, "sightings": 1}]


# --------------------------------------------------------------------------
# Real files (shared data)
# --------------------------------------------------------------------------


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ufo"
    folder = Path(os.environ.get("UFO_SHARED_DATA", default))
    if not folder.is_dir():
        pytest.skip(f"shared UFO data not found at {folder} (set UFO_SHARED_DATA)")
    return folder


NUFORC_2019 = "nuforc_index_2019-03-21.csv"
ITAM_FILES = ("itam_raw_UFO-Dic-2014.tsv", "itam_raw_UFO-Nov-2014.tsv")


@pytest.fixture(scope="module")
def nuforc_records() -> list[RawRecord]:
    return read_raw([str(shared_data() / NUFORC_2019)], "csv")


@pytest.fixture(scope="module")
def nuforc_run(nuforc_records: list[RawRecord]) -> dict[str, list[ref.Row]]:
    sightings, rejects = classify(nuforc_records)
    state_rows = by_state(sightings)
    return {"sightings": sightings, "rejects": rejects, "by_state": state_rows}


@pytest.mark.slow
def test_nuforc_2019_counts(
    nuforc_records: list[RawRecord], nuforc_run: dict[str, list[ref.Row]]
) -> None:
    assert len(nuforc_records) == 119_727
    reasons = Counter(r["reason"] for r in nuforc_run["rejects"])
    assert reasons == Counter({"header_row": 930, "duplicate": 33})
    assert len(nuforc_run["sightings"]) == 118_764
    multi_line = [r for r in nuforc_records if "\n" in r.raw_line]
    assert len(multi_line) == 4  # 3 in Duration, 1 in Summary


@pytest.mark.slow
def test_nuforc_2019_durations_parse(nuforc_records: list[RawRecord]) -> None:
    durations = [
        r.fields[4]
        for r in nuforc_records
        if len(r.fields) == 7 and not ref._is_header(r.fields) and trim(r.fields[4])
    ]
    parsed = [d for d in durations if parse_duration_seconds(d) is not None]
    assert len(parsed) / len(durations) >= 0.85


@pytest.mark.slow
def test_nuforc_2019_values(nuforc_run: dict[str, list[ref.Row]]) -> None:
    sightings = nuforc_run["sightings"]
    assert all(s["posted"] is not None for s in sightings)
    assert top10_states(nuforc_run["by_state"])[0] == {
        "rank": 1, "state": "CA", "sightings": 13_507,
    }  # fmt: skip
    # the century fix puts the sighting year on or before the posted year
    assert all(
        s["sighted_at"].year <= s["posted"].year for s in sightings if s["sighted_at"] is not None
    )
    assert sum(1 for s in sightings if s["sighted_at"] is None) < 400


def test_itam_files() -> None:
    folder = shared_data()
    dic = run([str(folder / ITAM_FILES[0])], "tsv")
    assert Counter(r["reason"] for r in dic["rejects"]) == Counter({"duplicate": 3})
    assert len(dic["sightings"]) == 495
    both = run([str(folder / name) for name in sorted(ITAM_FILES)], "tsv")
    assert len(both["sightings"]) == 495 + 529
    assert all(s["sighted_at"] is not None and s["posted"] is not None for s in both["sightings"])
    assert [(r["state"], r["sightings"]) for r in both["top10_states"][:3]] == [
        ("CA", 122),
        ("FL", 86),
        ("WA", 43),
    ]
