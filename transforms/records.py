"""Raw records to ``sightings`` and ``rejects``."""

from __future__ import annotations

import functools
import operator

import ibis
import ibis.expr.types as ir

from transforms import _fields
from transforms._text import ascii_lower, blank_to_null, trim
from transforms.schema import (
    DUPLICATE,
    HEADER,
    HEADER_ROW,
    MALFORMED,
    RAW_FIELDS,
    REJECT_COLUMNS,
)


def classify(raw_records: ir.Table) -> ir.Table:
    """Give every raw record the reason it is rejected, or null when it is a sighting.

    The first rule that applies wins: ``malformed`` (not exactly 7 fields),
    ``header_row`` (the fields equal the header names, trimmed and
    case-insensitive), ``duplicate`` (the 7 untrimmed fields equal those of an
    earlier record: in a file that sorts earlier, or earlier in the same file;
    the first copy stays a sighting).

    Parameters
    ----------
    raw_records
        Input columns: ``source_file``, ``field_count``, the seven raw fields
        (``date_time`` ... ``posted``, strings, null when missing) and
        ``raw_line``. Grain: one row per raw data record.

    Returns
    -------
    ir.Table
        The input columns plus ``reason`` (string, null for a sighting).
        Grain: one row per raw data record, none added or lost.

    Examples
    --------
    >>> import ibis
    >>> from transforms import classify
    >>> fields = dict(date_time="1/2/03", city="x", state="CA", shape="", duration="",
    ...               summary="", posted="")
    >>> raw = ibis.memtable([
    ...     dict(source_file="a.tsv", field_count=7, raw_line=None, **fields),
    ...     dict(source_file="a.tsv", field_count=7, raw_line=None, **fields),
    ... ])
    >>> sorted(classify(raw).reason.to_pyarrow().to_pylist(), key=str)
    [None, 'duplicate']
    """
    fields = [raw_records[name] for name in RAW_FIELDS]
    well_formed = raw_records.field_count == 7
    is_header = well_formed & functools.reduce(
        operator.and_,
        [ascii_lower(trim(field)) == name.lower() for field, name in zip(fields, HEADER)],
    )
    candidate = well_formed & ~is_header
    copy_number = ibis.row_number().over(
        group_by=[candidate, *fields], order_by=raw_records.source_file
    )
    reason = ibis.cases(
        (~well_formed, MALFORMED),
        (is_header, HEADER_ROW),
        (copy_number > 0, DUPLICATE),
        else_=ibis.null("string"),
    )
    return raw_records.mutate(reason=reason)


def sightings(classified: ir.Table) -> ir.Table:
    """The typed, cleaned sightings.

    Parameters
    ----------
    classified
        The output of :func:`classify`.

    Returns
    -------
    ir.Table
        ``sighted_at`` timestamp, ``city``, ``state``, ``country``, ``shape``
        strings, ``duration_seconds`` float64, ``summary`` string, ``posted``
        date. Grain: one row per raw record that is not rejected.
    """
    kept = classified.filter(classified.reason.isnull())
    # Stage 1: text. `.view()` keeps each stage a subquery of its own, so later
    # stages refer to these columns instead of repeating their expressions.
    text = kept.select(
        _date_time=trim(kept.date_time),
        _posted=trim(kept.posted),
        _state=_fields.state_code(kept.state),
        _duration=ascii_lower(trim(kept.duration)),
        city=_fields.city(kept.city),
        shape=blank_to_null(ascii_lower(trim(kept.shape))),
        summary=_fields.summary(kept.summary),
    ).view()
    # Stage 2: what the patterns extract.
    parts = text.mutate(
        **_fields.date_parts(text._date_time, "_dt", with_time=True),
        **_fields.date_parts(text._posted, "_po", with_time=False),
        **_fields.duration_parts(text._duration),
        state=_fields.known_state(text._state),
    ).view()
    # Stage 3: posted, which the two-digit years of sighted_at depend on.
    posted_year = ibis.ifelse(
        parts._po_year_digits == 2,
        _fields.two_digit_year_default(parts._po_year),
        parts._po_year,
    )
    posted_iso = _fields.iso_date_text(posted_year, parts._po_month, parts._po_day)
    posted_valid = parts._po_matches & _fields.is_real_date(
        posted_year, parts._po_month, parts._po_day
    )
    dated = parts.mutate(
        posted=ibis.ifelse(posted_valid, posted_iso, ibis.null("string")).cast("date"),
        country=_fields.country(parts.state),
        duration_seconds=_fields.duration_seconds(
            parts._quantity,
            parts._range_end,
            parts._unit_seconds,
            parts._clock_minutes,
            parts._clock_seconds,
        ),
    ).view()
    # Stage 4: sighted_at.
    posted_year_known = dated.posted.year().cast("int32")
    two_digit = ibis.ifelse(
        dated.posted.isnull(),
        _fields.two_digit_year_default(dated._dt_year),
        _fields.two_digit_year_before(dated._dt_year, posted_year_known),
    )
    year = ibis.ifelse(dated._dt_year_digits == 2, two_digit, dated._dt_year)
    moment_valid = (
        dated._dt_matches
        & _fields.is_real_date(year, dated._dt_month, dated._dt_day)
        & (dated._dt_hour <= 23)
        & (dated._dt_minute <= 59)
        & (dated._dt_second <= 59)
    )
    moment_iso = (
        _fields.iso_date_text(year, dated._dt_month, dated._dt_day)
        + " "
        + _fields.clock_text(dated._dt_hour, dated._dt_minute, dated._dt_second)
    )
    return dated.select(
        sighted_at=ibis.ifelse(moment_valid, moment_iso, ibis.null("string")).cast("timestamp"),
        city=dated.city,
        state=dated.state,
        country=dated.country,
        shape=dated.shape,
        duration_seconds=dated.duration_seconds,
        summary=dated.summary,
        posted=dated.posted,
    )


def rejects(classified: ir.Table) -> ir.Table:
    """The rejected raw records, untouched, with the reason.

    Parameters
    ----------
    classified
        The output of :func:`classify`.

    Returns
    -------
    ir.Table
        ``source_file``, the seven raw fields, ``raw_line`` (the text of a
        ``malformed`` record, else null) and ``reason``. Grain: one row per
        rejected raw record.
    """
    rejected = classified.filter(classified.reason.notnull())
    return rejected.select(*REJECT_COLUMNS).mutate(
        raw_line=ibis.ifelse(rejected.reason == MALFORMED, rejected.raw_line, ibis.null("string"))
    )


def reason_counts(classified: ir.Table) -> ir.Table:
    """Records per outcome: ``reason`` (null for sightings) and ``records`` (int64)."""
    return classified.group_by("reason").aggregate(records=classified.count())
