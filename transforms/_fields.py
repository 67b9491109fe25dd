"""Typed values from the raw text fields: dates, codes, durations and summaries.

Cleaning runs in stages (see :func:`transforms.records.sightings`): text first,
then the parts that regular expressions extract, then the values built from
those parts. Each stage reads the columns of the one before, so that no
expression is repeated inside another: Ibis inlines a reused expression every
time it appears, and Spark's code generator gives up on the result.

Patterns use only syntax that RE2 (DuckDB) and ``java.util.regex`` (Spark) read
alike: ``[0-9]`` rather than ``\\d``, no look-around, no back-references.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from transforms._text import ascii_upper, blank_to_null, trim
from transforms.schema import CANADIAN_PROVINCES, LEGACY_STATE_CODES, US_STATES

_DATE = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2}|[0-9]{4})"
DATE_TIME_PATTERN = rf"^{_DATE}(?: +([0-9]{{1,2}}):([0-9]{{2}})(?::([0-9]{{2}}))?)?$"
POSTED_PATTERN = rf"^{_DATE}$"


def date_pieces(text: ir.StringValue, prefix: str, with_time: bool) -> dict[str, ir.Value]:
    """Columns ``<prefix>_matches`` (whether ``text`` is a date, with a time of day
    when ``with_time``) and ``<prefix>_pieces``, the pieces :func:`date_parts` reads.

    One regex search decides; the parts are then the pieces of ``text`` split on
    ``/`` after spaces and ``:`` became ``/`` (one replace), rather than one regex
    extraction per part. The padding with ``/`` makes every piece asked for exist,
    as the empty string when a time part is absent.
    """
    pattern = DATE_TIME_PATTERN if with_time else POSTED_PATTERN
    if with_time:
        # A plain replace where one space separates the date from the time (far
        # cheaper than a regex); the regex only for a run of spaces.
        slashed = ibis.ifelse(
            text.contains("  "),
            text.re_replace(" +|:", "/"),
            text.replace(" ", "/").replace(":", "/"),
        )
        padded = slashed + "//////"
    else:
        padded = text + "///"
    return {f"{prefix}_matches": text.re_search(pattern), f"{prefix}_pieces": padded.split("/")}


def date_parts(
    matches: ir.BooleanValue, pieces: ir.ArrayValue, prefix: str, with_time: bool
) -> dict[str, ir.Value]:
    """Columns ``<prefix>_month``, ``_day``, ``_year`` (as written), ``_year_digits``
    (its length); with ``with_time`` also ``_hour``, ``_minute``, ``_second`` (0
    when absent). All null when the text is not a date."""

    def piece(index: int) -> ir.StringValue:
        return ibis.ifelse(matches, pieces[index], ibis.null("string"))

    parts: dict[str, ir.Value] = {
        f"{prefix}_month": piece(0).try_cast("int32"),
        f"{prefix}_day": piece(1).try_cast("int32"),
        f"{prefix}_year": piece(2).try_cast("int32"),
        f"{prefix}_year_digits": piece(2).length(),
    }
    if with_time:
        for index, unit in enumerate(("hour", "minute", "second"), start=3):
            parts[f"{prefix}_{unit}"] = piece(index).try_cast("int32").fill_null(0)
    return parts


def _is_leap_year(year: ir.IntegerValue) -> ir.BooleanValue:
    return ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)


def _days_in_month(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.IntegerValue:
    return ibis.cases(
        (month.isin([4, 6, 9, 11]), 30),
        (month == 2, ibis.ifelse(_is_leap_year(year), 29, 28)),
        else_=31,
    )


def is_real_date(
    year: ir.IntegerValue, month: ir.IntegerValue, day: ir.IntegerValue
) -> ir.BooleanValue:
    """Year >= 1, month 1-12 and a day that exists in that month (Gregorian)."""
    return (year >= 1) & month.between(1, 12) & (day >= 1) & (day <= _days_in_month(year, month))


def two_digit_year_default(yy: ir.IntegerValue) -> ir.IntegerValue:
    """00-68 -> 20YY, 69-99 -> 19YY (the POSIX ``%y`` pivot)."""
    return ibis.ifelse(yy <= 68, 2000 + yy, 1900 + yy)


def two_digit_year_before(yy: ir.IntegerValue, year: ir.IntegerValue) -> ir.IntegerValue:
    """The latest year ending in ``yy`` that is on or before ``year``."""
    century = year - year % 100
    return ibis.ifelse(yy <= year % 100, century + yy, century - 100 + yy)


def iso_date_text(
    year: ir.IntegerValue, month: ir.IntegerValue, day: ir.IntegerValue
) -> ir.StringValue:
    """``YYYY-MM-DD``, which every engine casts to a date."""
    return (
        year.cast("string").lpad(4, "0")
        + "-"
        + month.cast("string").lpad(2, "0")
        + "-"
        + day.cast("string").lpad(2, "0")
    )


def clock_text(
    hour: ir.IntegerValue, minute: ir.IntegerValue, second: ir.IntegerValue
) -> ir.StringValue:
    """``HH:MM:SS``."""
    return (
        hour.cast("string").lpad(2, "0")
        + ":"
        + minute.cast("string").lpad(2, "0")
        + ":"
        + second.cast("string").lpad(2, "0")
    )


def state_code(state_text: ir.StringValue) -> ir.StringValue:
    """Upper-cased, trimmed code with legacy codes (PQ, NF, YK) updated."""
    code = ascii_upper(trim(state_text))
    return code.cases(*LEGACY_STATE_CODES.items(), else_=code)


def known_state(code: ir.StringValue) -> ir.StringValue:
    """The code when it is a US state, DC, PR or a Canadian province; else null."""
    known = sorted(US_STATES | CANADIAN_PROVINCES)
    return ibis.ifelse(code.isin(known), code, ibis.null("string"))


def country(state: ir.StringValue) -> ir.StringValue:
    """``CA`` for a Canadian province, ``US`` for any other code, null for null."""
    return ibis.cases(
        (state.isin(sorted(CANADIAN_PROVINCES)), "CA"),
        (state.notnull(), "US"),
        else_=ibis.null("string"),
    )


_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
NUMBER_WORDS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
}
_QUALIFIER = (
    r"(?:(?:~|about|around|approximately|approx\.?|appx\.?|aprox|ca\.?|<|>|\+|over|under"
    r"|almost|nearly|less than|more than|at least) *)?"
)
_UNIT = r"(seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d)"
_SUFFIX = r"(?: *(?:\.|\+|\?|or so))?"
DURATION_PATTERN = (
    rf"^{_QUALIFIER}({_NUMBER}|an|a|one|two|three|four|five|six|seven|eight|nine|ten)"
    rf" *(?:(?:-|to|or) *({_NUMBER}) *)?{_UNIT}{_SUFFIX}$"
)
CLOCK_PATTERN = r"^([0-9]*):([0-5][0-9])$"
UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_groups(text: ir.StringValue) -> dict[str, ir.Value]:
    """Columns ``_du_quantity``, ``_du_range_end`` and ``_du_unit``: the groups of
    :data:`DURATION_PATTERN` in trimmed, lower-cased duration text, as text (empty
    or null when absent), each extracted once."""
    return {
        "_du_quantity": text.re_extract(DURATION_PATTERN, 1),
        "_du_range_end": text.re_extract(DURATION_PATTERN, 2),
        "_du_unit": text.re_extract(DURATION_PATTERN, 3),
    }


def duration_parts(
    text: ir.StringValue,
    quantity: ir.StringValue,
    range_end: ir.StringValue,
    unit: ir.StringValue,
) -> dict[str, ir.Value]:
    """Columns ``_quantity``, ``_range_end``, ``_unit_seconds``, ``_clock_minutes``
    and ``_clock_seconds`` from the duration text and its :func:`duration_groups`.

    The unit, which the pattern requires, is empty or null exactly when the
    pattern does not match; the clock pattern is tried only there.
    """
    no_unit = unit.isnull() | (unit == "")
    clock_seconds = ibis.ifelse(
        no_unit, text.re_extract(CLOCK_PATTERN, 2), ibis.null("string")
    ).try_cast("float64")
    return {
        "_quantity": ibis.ifelse(
            no_unit,
            ibis.null("float64"),
            quantity.cases(*NUMBER_WORDS.items(), else_=quantity.try_cast("float64")),
        ),
        "_range_end": ibis.ifelse(no_unit, ibis.null("string"), range_end).try_cast("float64"),
        "_unit_seconds": unit.substr(0, 1).cases(*UNIT_SECONDS.items(), else_=ibis.null("float64")),
        "_clock_minutes": ibis.ifelse(
            clock_seconds.notnull(),
            text.re_extract(CLOCK_PATTERN, 1).try_cast("float64").fill_null(0.0),
            ibis.null("float64"),
        ),
        "_clock_seconds": clock_seconds,
    }


def duration_seconds(
    quantity: ir.FloatingValue,
    range_end: ir.FloatingValue,
    unit_seconds: ir.FloatingValue,
    clock_minutes: ir.FloatingValue,
    clock_seconds: ir.FloatingValue,
) -> ir.FloatingValue:
    """Quantity (or the midpoint of a range) times the unit; else minutes:seconds."""
    amount = ibis.ifelse(range_end.isnull(), quantity, (quantity + range_end) / 2)
    return (amount * unit_seconds).coalesce(clock_minutes * 60 + clock_seconds)


# Applied in this order, `&amp;` last, chained replacements equal one left-to-right
# pass: no replacement produces a `&` that a later one could match, except `&amp;`
# itself, which is the last.
_ENTITIES = (
    ("&quot;?", '"'),
    ("&#39;?", "'"),
    ("&#44;?", ","),
    ("&lt;?", "<"),
    ("&gt;?", ">"),
    ("&amp;?", "&"),
)


def summary(summary_text: ir.StringValue) -> ir.StringValue:
    """Trimmed summary with ``&quot; &amp; &#39; &#44; &lt; &gt;`` decoded once."""
    text = trim(summary_text)
    decoded = text
    for pattern, replacement in _ENTITIES:
        decoded = decoded.re_replace(pattern, replacement)
    # Most summaries hold no entity: decode only those with an `&`.
    return ibis.ifelse(text.contains("&"), decoded, text)


def city(city_text: ir.StringValue) -> ir.StringValue:
    """Trimmed city; null when blank."""
    return blank_to_null(trim(city_text))
