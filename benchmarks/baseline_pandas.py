"""Hand-written baseline: the UFO pipeline in pandas.

``python -m benchmarks.baseline_pandas --raw FILE --out DIR --threads N --memory-limit M``

What a pandas user would write to docs/contract.md, for one TSV file, with
pandas 3's default string dtype (Arrow-backed), so that the ``.str`` methods run
as vectorised Arrow kernels:

* ``read_csv(dtype=str)`` with a NUL separator and quoting off reads each line
  as one string (a line holding a NUL would fail the run, not pass silently);
  ``skiprows=1`` drops the file's header, and empty lines come back as ``''``
  and are dropped. The C parser splits on LF and CRLF; generated files are LF.
* Field counts come from counting TABs; only 7-field lines are split.
* Duplicates: ``lines.duplicated()`` (the first copy is not one), which for
  7-field, non-header lines is the contract's rule: equal lines, equal fields.
* Cleaning uses ``.str`` methods (strip, extract, replace) on Arrow-typed
  strings (``pd.ArrowDtype(pa.string())``; pandas 3.1 runs ``extract`` with
  Python's ``re`` row by row either way, but about twice as fast on these as on
  the default ``str`` dtype), and numpy for the dates (days from the civil
  date, so that any year 1-9999 works, not just the years ``datetime64[ns]``
  holds).
* pandas has no thread or memory setting of its own: it runs on one thread and
  takes the memory it needs. ``--threads`` caps Arrow's thread pools (used by
  ``read_csv``'s Arrow conversion and the Parquet writer); ``--memory-limit`` is
  not enforced (the harness reports the peak).
"""

from __future__ import annotations

import csv
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._common import (
    CA_PROVINCES,
    CLOCK_PATTERN,
    DATE_TIME_PATTERN,
    DURATION_PATTERN,
    ENTITY_CHAIN,
    HEADER,
    LEGACY_STATES,
    NUMBER_WORDS,
    POSTED_PATTERN,
    RAW_FIELDS,
    UNIT_SECONDS,
    US_STATES,
    WHITESPACE,
    BaselineArgs,
    Steps,
    dataset_dir,
    parse_args,
)

ARROW_STRING = pd.ArrowDtype(pa.string())
"""Strings as Arrow arrays: most ``.str`` methods are Arrow kernels, and
``.str.extract`` takes half the time it takes on the default ``str`` dtype."""
COUNTRY_OF = {**dict.fromkeys(US_STATES, "US"), **dict.fromkeys(CA_PROVINCES, "CA")}
_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)

SCHEMAS = {
    "sightings": pa.schema(
        [
            ("sighted_at", pa.timestamp("us")),
            ("city", pa.string()),
            ("state", pa.string()),
            ("country", pa.string()),
            ("shape", pa.string()),
            ("duration_seconds", pa.float64()),
            ("summary", pa.string()),
            ("posted", pa.date32()),
        ]
    ),
    "rejects": pa.schema(
        [(name, pa.string()) for name in ("source_file", *RAW_FIELDS, "raw_line", "reason")]
    ),
    "by_state": pa.schema(
        [
            ("state", pa.string()),
            ("country", pa.string()),
            ("sightings", pa.int64()),
            ("first_sighted_at", pa.timestamp("us")),
            ("last_sighted_at", pa.timestamp("us")),
        ]
    ),
    "top10_states": pa.schema(
        [("rank", pa.int64()), ("state", pa.string()), ("sightings", pa.int64())]
    ),
    "by_shape": pa.schema([("shape", pa.string()), ("sightings", pa.int64())]),
    "top10_shapes": pa.schema(
        [("rank", pa.int64()), ("shape", pa.string()), ("sightings", pa.int64())]
    ),
    "by_month": pa.schema([("year", pa.int32()), ("month", pa.int32()), ("sightings", pa.int64())]),
}


def read_lines(path: str) -> pd.Series:
    """The file's non-empty lines after the header, as strings."""
    frame = pd.read_csv(
        path,
        sep="\x00",
        header=None,
        names=["line"],
        skiprows=1,
        dtype=str,
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        encoding="utf-8",
        engine="c",
    )
    lines = frame["line"]
    return lines[lines != ""].reset_index(drop=True)


def split_fields(lines: pd.Series) -> pd.DataFrame:
    """The 7 fields of lines that have exactly 7."""
    parts = lines.astype(ARROW_STRING).str.split("\t")
    return pd.DataFrame(
        {name: parts.list[i] for i, name in enumerate(RAW_FIELDS)}, index=lines.index
    )


def lower_ascii(s: pd.Series) -> pd.Series:
    """A-Z lowered, nothing else: ``str.lower`` where the text is ASCII."""
    lowered = s.str.lower()
    other = ~_mask(s.str.isascii().fillna(True))
    if other.any():
        lowered[other] = s[other].str.translate(_TO_LOWER)
    return lowered


def upper_ascii(s: pd.Series) -> pd.Series:
    """a-z raised, nothing else."""
    raised = s.str.upper()
    other = ~_mask(s.str.isascii().fillna(True))
    if other.any():
        raised[other] = s[other].str.translate(_TO_UPPER)
    return raised


def trim(s: pd.Series) -> pd.Series:
    return s.str.strip(WHITESPACE)


def is_header(fields: pd.DataFrame) -> pd.Series:
    """Fields equal to the header's names, trimmed and case-insensitive."""
    could_be = _mask(fields["date_time"].str.lower().str.contains("date / time", regex=False))
    result = pd.Series(False, index=fields.index)
    candidates = fields[could_be]
    if len(candidates):
        match = pd.Series(True, index=candidates.index)
        for name, header in zip(RAW_FIELDS, HEADER):
            match &= _mask(lower_ascii(trim(candidates[name])) == header.lower())
        result[match.index] = match
    return result


def _mask(condition: pd.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """A boolean Series (Arrow-typed, maybe with nulls) as numpy; null is False."""
    return np.asarray(condition.to_numpy(dtype=bool, na_value=False))


def _number(s: pd.Series) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Numbers from strings; NaN for missing or empty."""
    numbers = pd.to_numeric(s.mask(s == ""), errors="coerce")
    return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan))


def _days_from_civil(
    y: np.ndarray[Any, np.dtype[np.int64]],
    m: np.ndarray[Any, np.dtype[np.int64]],
    d: np.ndarray[Any, np.dtype[np.int64]],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468, dtype=np.int64)


def _real_date(
    y: np.ndarray[Any, np.dtype[np.float64]],
    m: np.ndarray[Any, np.dtype[np.float64]],
    d: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Year >= 1, month 1-12, and a day that exists in that month."""
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    dim = np.where(np.isin(m, (4, 6, 9, 11)), 30, np.where(m == 2, np.where(leap, 29, 28), 31))
    with np.errstate(invalid="ignore"):
        return np.asarray((y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= dim))


def _pivot(yy: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.where(yy <= 68, 2000 + yy, 1900 + yy)


def clean(fields: pd.DataFrame) -> pd.DataFrame:
    """Typed sightings from their raw fields."""
    index = fields.index
    # posted
    po = trim(fields["posted"]).str.extract(POSTED_PATTERN)
    py = _number(po[2])
    py = np.where(_mask(po[2].str.len() == 2), _pivot(py), py)
    pm, pd_ = _number(po[0]), _number(po[1])
    posted_ok = _real_date(py, pm, pd_)
    safe = np.where(posted_ok, 1.0, np.nan)
    posted_days = _days_from_civil(
        np.nan_to_num(py * safe, nan=1970).astype(np.int64),
        np.nan_to_num(pm * safe, nan=1).astype(np.int64),
        np.nan_to_num(pd_ * safe, nan=1).astype(np.int64),
    )
    posted = np.where(posted_ok, posted_days, np.iinfo(np.int64).min).astype("datetime64[D]")
    posted_year = np.where(posted_ok, py, np.nan)

    # sighted_at: a two-digit year takes the latest century on or before posted's year
    dt = trim(fields["date_time"]).str.extract(DATE_TIME_PATTERN)
    yy = _number(dt[2])
    with np.errstate(invalid="ignore"):
        before = np.where(
            yy <= posted_year % 100,
            posted_year - posted_year % 100 + yy,
            posted_year - posted_year % 100 - 100 + yy,
        )
    two_digit = np.where(np.isnan(posted_year), _pivot(yy), before)
    year = np.where(_mask(dt[2].str.len() == 2), two_digit, yy)
    month, day = _number(dt[0]), _number(dt[1])
    hour, minute, second = (np.nan_to_num(_number(dt[i]), nan=0.0) for i in (3, 4, 5))
    with np.errstate(invalid="ignore"):
        moment_ok = _real_date(year, month, day) & (hour <= 23) & (minute <= 59) & (second <= 59)
    safe = np.where(moment_ok, 1.0, np.nan)
    days = _days_from_civil(
        np.nan_to_num(year * safe, nan=1970).astype(np.int64),
        np.nan_to_num(month * safe, nan=1).astype(np.int64),
        np.nan_to_num(day * safe, nan=1).astype(np.int64),
    )
    micros = (days * 86_400 + (hour * 3600 + minute * 60 + second).astype(np.int64)) * 1_000_000
    sighted_at = np.where(moment_ok, micros, np.iinfo(np.int64).min).astype("datetime64[us]")

    # state and country
    code = upper_ascii(trim(fields["state"])).replace(LEGACY_STATES)
    state = code.where(code.isin(US_STATES + CA_PROVINCES))
    country = state.map(COUNTRY_OF)

    # duration
    dur = lower_ascii(trim(fields["duration"]))
    parts = dur.str.extract(DURATION_PATTERN)
    quantity = parts[0].map(NUMBER_WORDS).astype(float).fillna(pd.Series(_number(parts[0]), index))
    end = _number(parts[1])
    unit = parts[2].str[0].map(UNIT_SECONDS).astype(float)
    amount = np.where(np.isnan(end), quantity, (quantity + end) / 2)
    clock = dur.str.extract(CLOCK_PATTERN)
    clock_seconds = _number(clock[1])
    clock_minutes = np.where(np.isnan(clock_seconds), np.nan, np.nan_to_num(_number(clock[0])))
    duration = pd.Series(amount * unit, index=index).fillna(
        pd.Series(clock_minutes * 60 + clock_seconds, index=index)
    )

    # summary: entities decoded only where there is a '&'
    summary = trim(fields["summary"])
    has_entity = _mask(summary.str.contains("&", regex=False))
    if has_entity.any():
        decoded = summary[has_entity]
        for pattern, replacement in ENTITY_CHAIN:
            decoded = decoded.str.replace(pattern, replacement, regex=True)
        summary = summary.copy()
        summary[has_entity] = decoded

    city = trim(fields["city"])
    shape = lower_ascii(trim(fields["shape"]))
    return pd.DataFrame(
        {
            "sighted_at": sighted_at,
            "city": city.where(_mask(city != "")),
            "state": state,
            "country": country,
            "shape": shape.where(_mask(shape != "")),
            "duration_seconds": duration.astype(np.float64),
            "summary": summary,
            "posted": posted,
        },
        index=index,
    )


def rejects(path: str, lines: pd.Series, fields: pd.DataFrame, reason: pd.Series) -> pd.DataFrame:
    """Rejected records: malformed lines, header rows and duplicates."""
    malformed = lines[reason == "malformed"]
    padded = [(line.split("\t") + [None] * 7)[:7] for line in malformed]
    parts = [
        pd.DataFrame(padded, columns=list(RAW_FIELDS), dtype=object).assign(
            raw_line=list(malformed), reason="malformed"
        )
    ]
    for kind in ("header_row", "duplicate"):
        chosen = fields[reason.reindex(fields.index) == kind]
        parts.append(chosen.assign(raw_line=None, reason=kind))
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "source_file", path)
    return table


def write(frame: pd.DataFrame, out: str, name: str) -> None:
    table = pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False)
    pq.write_table(table, f"{dataset_dir(out, name)}/part-0.parquet", compression="zstd")


def top_n(counts: pd.DataFrame, key: str, n: int = 10) -> pd.DataFrame:
    known = counts[counts[key].notna()]
    ranked = known.sort_values(["sightings", key], ascending=[False, True]).head(n)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1, dtype=np.int64),
            key: ranked[key].to_numpy(),
            "sightings": ranked["sightings"].to_numpy(),
        }
    )


def run(args: BaselineArgs) -> None:
    steps = Steps("pandas")
    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)

    lines = read_lines(args.raw)
    steps.done("read lines")
    field_count = lines.str.count("\t") + 1
    well_formed = field_count == 7
    fields = split_fields(lines[well_formed])
    steps.done("split fields")
    header = is_header(fields)
    duplicate = lines.duplicated(keep="first")
    reason = pd.Series(None, index=lines.index, dtype=object)
    reason[~well_formed] = "malformed"
    reason[header[header].index] = "header_row"
    reason[duplicate & well_formed & reason.isna()] = "duplicate"
    steps.done("classify")

    sightings = clean(fields[reason.reindex(fields.index).isna()])
    steps.done("clean")
    write(sightings, args.out, "sightings")
    write(rejects(args.raw, lines, fields, reason), args.out, "rejects")
    steps.done("write sightings and rejects")
    del lines, fields

    by_state = (
        sightings.groupby(["state", "country"], dropna=False)
        .agg(
            sightings=("sighted_at", "size"),
            first_sighted_at=("sighted_at", "min"),
            last_sighted_at=("sighted_at", "max"),
        )
        .reset_index()
    )
    by_shape = sightings.groupby("shape", dropna=False).size().rename("sightings").reset_index()
    dated = sightings["sighted_at"].dropna()
    by_month = (
        dated.groupby([dated.dt.year.astype(np.int32), dated.dt.month.astype(np.int32)])
        .size()
        .rename("sightings")
        .rename_axis(["year", "month"])
        .reset_index()
    )
    write(by_state, args.out, "by_state")
    write(top_n(by_state, "state"), args.out, "top10_states")
    write(by_shape, args.out, "by_shape")
    write(top_n(by_shape, "shape"), args.out, "top10_shapes")
    write(by_month, args.out, "by_month")
    steps.done("aggregates")
    steps.total()


def main(argv: Sequence[str] | None = None) -> int:
    run(parse_args(__doc__.splitlines()[0] if __doc__ else "", argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
