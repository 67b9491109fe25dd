"""Pure-Python reference implementation of docs/contract.md.

This module is the oracle that the real engines (DuckDB and Spark, via Ibis)
are tested against. It favours clarity over speed and uses the standard
library only. Every row is a plain ``dict`` of Python values (``str``,
``int``, ``float``, ``None``, naive ``datetime.datetime``, ``datetime.date``).

Pipeline: ``read_raw`` -> ``classify`` -> aggregates; ``run`` does all three.

Choices made where docs/contract.md leaves room (see also the module
constants below):

* A UTF-8 BOM is removed from the very start of each file's text before the
  file is split into records, so it never reaches the header's first field
  (for an unquoted header this is the same as stripping it from that field).
* Header check and the ``header_row`` rule compare trimmed fields with
  ASCII-only case folding.
* A two-digit ``Date / Time`` year whose "latest century on or before the
  posted year" would fall before year 1 gives null.
* ``duration_seconds``: alternatives of each part of the grammar are tried
  longest first, so ``approx.5 min`` reads as ``approx.`` + ``5`` (300 s),
  not ``approx`` + ``.5``; "spaces" means zero or more U+0020 characters;
  a range-end is a numeral only (``one to 2 hours`` parses, ``one to two
  hours`` does not); ``M:SS`` needs SS <= 59.
* Aggregate rows are returned sorted (nulls last) so that output is
  deterministic; the contract does not order them.
"""

from __future__ import annotations

import csv
import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

Row = dict[str, Any]

RAW_FIELDS = ("date_time", "city", "state", "shape", "duration", "summary", "posted")
HEADER = ("Date / Time", "City", "State", "Shape", "Duration", "Summary", "Posted")

SIGHTING_COLUMNS = (
    "sighted_at",
    "city",
    "state",
    "country",
    "shape",
    "duration_seconds",
    "summary",
    "posted",
)
REJECT_COLUMNS = ("source_file", *RAW_FIELDS, "raw_line", "reason")


# --------------------------------------------------------------------------
# Text helpers (ASCII only, like the engines)
# --------------------------------------------------------------------------

ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def trim(text: str) -> str:
    """Remove ASCII whitespace (space, TAB, LF, CR, VT, FF) from both ends."""
    return text.strip(ASCII_WHITESPACE)


def ascii_upper(text: str) -> str:
    """Upper-case a-z only; every other character is left alone."""
    return text.translate(_TO_UPPER)


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only; every other character is left alone."""
    return text.translate(_TO_LOWER)


def _is_header(fields: Sequence[str]) -> bool:
    """Fields equal the header names, trimmed and ASCII case-insensitive."""
    if len(fields) != len(HEADER):
        return False
    return all(ascii_lower(trim(field)) == ascii_lower(name) for field, name in zip(fields, HEADER))


# --------------------------------------------------------------------------
# Reading raw files
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    source_file: str
    fields: tuple[str, ...]
    raw_line: str


# One physical line with its terminator (LF, CRLF or CR), or a last line
# without one. Used instead of str.splitlines, which also splits on VT, FF,
# \x1c-\x1e, \x85, \u2028 and \u2029.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_TERMINATOR = re.compile(r"(?:\r\n|\r|\n)\Z")


def _lines(text: str) -> Iterator[str]:
    """Physical lines of ``text``, each with its own terminator (if any)."""
    for match in _LINE.finditer(text):
        yield match.group()


def _strip_terminator(line: str) -> str:
    return _TERMINATOR.sub("", line)


def _decode(path: str) -> str:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        line_number = before.count(b"\n") + 1
        raise ValueError(
            f"{path}: invalid UTF-8 at line {line_number} (byte offset {error.start})"
        ) from error
    return text.removeprefix("\ufeff")  # a UTF-8 BOM is ignored


def _tsv_records(path: str, text: str) -> Iterator[RawRecord]:
    for line in _lines(text):
        raw_line = _strip_terminator(line)
        if raw_line == "":
            continue  # empty lines are not records
        yield RawRecord(path, tuple(raw_line.split("\t")), raw_line)


def _csv_records(path: str, text: str) -> Iterator[RawRecord]:
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in _lines(text):
            consumed.append(line)
            yield line

    for fields in csv.reader(feed()):
        raw_line = _strip_terminator("".join(consumed))
        consumed.clear()
        if not fields:
            continue  # empty lines are not records
        yield RawRecord(path, tuple(fields), raw_line)


def read_raw(paths: Sequence[str], fmt: str) -> list[RawRecord]:
    """Read the data records of ``paths`` in the order given.

    Each file's first record must be the header; it is checked and dropped.
    """
    if fmt == "tsv":
        parse = _tsv_records
    elif fmt == "csv":
        parse = _csv_records
    else:
        raise ValueError(f"unknown format {fmt!r} (expected 'tsv' or 'csv')")
    records: list[RawRecord] = []
    for path in paths:
        file_records = parse(path, _decode(path))
        first = next(file_records, None)
        if first is None or not _is_header(first.fields):
            raise ValueError(f"{path}: first record is not the header {', '.join(HEADER)}")
        records.extend(file_records)
    return records


# --------------------------------------------------------------------------
# Field cleaning
# --------------------------------------------------------------------------

_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2}|[0-9]{4})")
_DATE_TIME = re.compile(
    r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2}|[0-9]{4})"
    r"(?: +([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)


def _moment(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime | None:
    """The datetime if it is a real moment (year >= 1, Gregorian), else None."""
    if year < 1:
        return None
    try:  # datetime validates month, day-in-month (leap years), h, m, s
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _fixed_century(yy: int) -> int:
    """Two-digit year without a reference: 00-68 -> 20YY, 69-99 -> 19YY."""
    return 2000 + yy if yy <= 68 else 1900 + yy


def clean_posted(text: str) -> date | None:
    """``M/D/YY`` or ``M/D/YYYY``; two-digit years 00-68 -> 20YY, 69-99 -> 19YY."""
    match = _DATE.fullmatch(trim(text))
    if match is None:
        return None
    month, day, year_text = match.groups()
    year = _fixed_century(int(year_text)) if len(year_text) == 2 else int(year_text)
    moment = _moment(year, int(month), int(day))
    return None if moment is None else moment.date()


def clean_sighted_at(text: str, posted: date | None) -> datetime | None:
    """``M/D/YY[YY][ H:MM[:SS]]``; a two-digit year takes the latest century
    that puts it on or before the year of ``posted``."""
    match = _DATE_TIME.fullmatch(trim(text))
    if match is None:
        return None
    month, day, year_text, hour, minute, second = match.groups()
    if len(year_text) == 4:
        year = int(year_text)
    elif posted is None:
        year = _fixed_century(int(year_text))
    else:
        # Largest year <= posted.year whose last two digits are year_text.
        year = posted.year - (posted.year - int(year_text)) % 100
    return _moment(
        year,
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
    )


def clean_city(text: str) -> str | None:
    city = trim(text)
    return city if city else None


US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT",
    "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI",
    "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "DC", "PR",
))  # fmt: skip
CA_PROVINCES = frozenset((
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
))  # fmt: skip
LEGACY_STATES = {"PQ": "QC", "NF": "NL", "YK": "YT"}
assert len(US_STATES) == 52 and len(CA_PROVINCES) == 13


def clean_state(text: str) -> str | None:
    state = ascii_upper(trim(text))
    state = LEGACY_STATES.get(state, state)
    return state if state in US_STATES or state in CA_PROVINCES else None


def country_of(state: str | None) -> str | None:
    if state in US_STATES:
        return "US"
    if state in CA_PROVINCES:
        return "CA"
    return None


def clean_shape(text: str) -> str | None:
    shape = ascii_lower(trim(text))
    return shape if shape else None


_ENTITIES = {
    "quot": '"',
    "amp": "&",
    "#39": "'",
    "#44": ",",
    "lt": "<",
    "gt": ">",
}
_ENTITY = re.compile(r"&(quot|amp|#39|#44|lt|gt);?")


def clean_summary(text: str) -> str:
    """Trim, then decode the six entities in one left-to-right pass."""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], trim(text))


# duration_seconds -------------------------------------------------------

DURATION_QUALIFIERS = (
    "~", "about", "around", "approx", "approx.", "approximately", "appx",
    "appx.", "aprox", "ca", "ca.", "<", ">", "+", "over", "under", "almost",
    "nearly", "less than", "more than", "at least",
)  # fmt: skip
DURATION_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
DURATION_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
DURATION_SUFFIXES = (".", "+", "?", "or so")
DURATION_RANGE_SEPARATORS = ("-", "to", "or")


def _one_of(words: Sequence[str]) -> str:
    """Regex alternation of literal words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
_SP = " *"  # spaces are optional between the parts
_DURATION = re.compile(
    f"(?:(?:{_one_of(DURATION_QUALIFIERS)}){_SP})?"
    f"(?P<quantity>{_NUMBER}|{_one_of(list(DURATION_WORDS))}){_SP}"
    f"(?:(?:{_one_of(DURATION_RANGE_SEPARATORS)}){_SP}(?P<end>{_NUMBER}){_SP})?"
    f"(?P<unit>{_one_of(list(DURATION_UNITS))})"
    f"(?:{_SP}(?:{_one_of(DURATION_SUFFIXES)}))?"
)
_MINUTES_SECONDS = re.compile(r"(?P<minutes>[0-9]*):(?P<seconds>[0-5][0-9])")


def parse_duration_seconds(text: str) -> float | None:
    """Seconds from a free-text duration (rules in docs/contract.md), or None.

    ``[qualifier] quantity [range-end] unit [suffix]`` gives quantity x unit,
    or the midpoint of quantity and range-end x unit; ``[M]:SS`` gives
    M * 60 + SS.
    """
    duration = ascii_lower(trim(text))
    match = _DURATION.fullmatch(duration)
    if match is not None:
        quantity_text = match.group("quantity")
        if quantity_text in DURATION_WORDS:
            quantity = float(DURATION_WORDS[quantity_text])
        else:
            quantity = float(quantity_text)
        end = match.group("end")
        value = quantity if end is None else (quantity + float(end)) / 2
        return value * DURATION_UNITS[match.group("unit")]
    match = _MINUTES_SECONDS.fullmatch(duration)
    if match is not None:
        minutes = float(match.group("minutes") or 0)
        return minutes * 60 + float(match.group("seconds"))
    return None


# --------------------------------------------------------------------------
# Classification: sightings and rejects
# --------------------------------------------------------------------------


def _sighting(fields: Sequence[str]) -> Row:
    date_time, city, state, shape, duration, summary, posted = fields
    posted_date = clean_posted(posted)
    state_code = clean_state(state)
    return {
        "sighted_at": clean_sighted_at(date_time, posted_date),
        "city": clean_city(city),
        "state": state_code,
        "country": country_of(state_code),
        "shape": clean_shape(shape),
        "duration_seconds": parse_duration_seconds(duration),
        "summary": clean_summary(summary),
        "posted": posted_date,
    }


def _reject(record: RawRecord, reason: str, raw_line: str | None) -> Row:
    padded: list[str | None] = [*record.fields[: len(RAW_FIELDS)]]
    padded += [None] * (len(RAW_FIELDS) - len(padded))
    return {
        "source_file": record.source_file,
        **dict(zip(RAW_FIELDS, padded)),
        "raw_line": raw_line,
        "reason": reason,
    }


def classify(records: Sequence[RawRecord]) -> tuple[list[Row], list[Row]]:
    """Split records into (sightings, rejects); first applicable rule wins."""
    sightings: list[Row] = []
    rejects: list[Row] = []
    seen: set[tuple[str, ...]] = set()
    for record in records:
        if len(record.fields) != len(RAW_FIELDS):
            rejects.append(_reject(record, "malformed", record.raw_line))
        elif _is_header(record.fields):
            rejects.append(_reject(record, "header_row", None))
        elif record.fields in seen:
            rejects.append(_reject(record, "duplicate", None))
        else:
            seen.add(record.fields)
            sightings.append(_sighting(record.fields))
    return sightings, rejects


# --------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------


def _nulls_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def _count_by(rows: Sequence[Row], key: str) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for row in rows:
        counts[row[key]] = counts.get(row[key], 0) + 1
    return counts


def by_state(sightings: Sequence[Row]) -> list[Row]:
    groups: dict[str | None, list[Row]] = {}
    for row in sightings:
        groups.setdefault(row["state"], []).append(row)
    out: list[Row] = []
    for state in sorted(groups, key=_nulls_last):
        group = groups[state]
        moments = [row["sighted_at"] for row in group if row["sighted_at"] is not None]
        out.append(
            {
                "state": state,
                "country": country_of(state),
                "sightings": len(group),
                "first_sighted_at": min(moments) if moments else None,
                "last_sighted_at": max(moments) if moments else None,
            }
        )
    return out


def by_shape(sightings: Sequence[Row]) -> list[Row]:
    counts = _count_by(sightings, "shape")
    return [
        {"shape": shape, "sightings": counts[shape]} for shape in sorted(counts, key=_nulls_last)
    ]


def by_month(sightings: Sequence[Row]) -> list[Row]:
    counts: dict[tuple[int, int], int] = {}
    for row in sightings:
        moment = row["sighted_at"]
        if moment is not None:
            year_month = (moment.year, moment.month)
            counts[year_month] = counts.get(year_month, 0) + 1
    return [
        {"year": year, "month": month, "sightings": counts[(year, month)]}
        for year, month in sorted(counts)
    ]


def top_n(rows: Sequence[Row], key: str, n: int = 10) -> list[Row]:
    """The n non-null keys with most sightings; ties by key ascending."""
    ranked = sorted(
        (row for row in rows if row[key] is not None),
        key=lambda row: (-row["sightings"], row[key]),
    )
    return [
        {"rank": rank, key: row[key], "sightings": row["sightings"]}
        for rank, row in enumerate(ranked[:n], start=1)
    ]


def top10_states(by_state_rows: Sequence[Row]) -> list[Row]:
    return top_n(by_state_rows, "state")


def top10_shapes(by_shape_rows: Sequence[Row]) -> list[Row]:
    return top_n(by_shape_rows, "shape")


def by_country(sightings: Sequence[Row]) -> list[Row]:
    counts = _count_by(sightings, "country")
    return [
        {"country": country, "sightings": counts[country]}
        for country in sorted(counts, key=_nulls_last)
    ]


def by_year(sightings: Sequence[Row]) -> list[Row]:
    counts: dict[int, int] = {}
    for row in sightings:
        if row["sighted_at"] is not None:
            counts[row["sighted_at"].year] = counts.get(row["sighted_at"].year, 0) + 1
    return [{"year": year, "sightings": counts[year]} for year in sorted(counts)]


# --------------------------------------------------------------------------
# Whole run
# --------------------------------------------------------------------------


def oracle(dataset: str) -> Any:
    """The reference function of a registry dataset: the function of this module
    with the dataset's name, over the reference rows of its inputs."""
    function = globals().get(dataset)
    if not callable(function):
        raise LookupError(
            f"tests/reference.py has no oracle for dataset {dataset!r}: "
            f"add a function {dataset}(...) computing its rows"
        )
    return function


def run(paths: Sequence[str], fmt: str) -> dict[str, list[Row]]:
    """The reference rows of every dataset of the registry (its wiring; the
    computations are this module's own)."""
    from etl.datasets import DATASETS

    sightings, rejects = classify(read_raw(paths, fmt))
    out: dict[str, list[Row]] = {"sightings": sightings, "rejects": rejects}
    for spec in DATASETS.values():
        if not spec.from_raw:
            out[spec.name] = oracle(spec.name)(*(out[name] for name in spec.inputs))
    return out
