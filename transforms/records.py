"""Raw records to ``sightings`` and ``rejects``."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from transforms import _fields
from transforms._text import ASCII_SPACE, ascii_lower, blank_to_null, trim
from transforms.schema import (
    DUPLICATE,
    HEADER,
    HEADER_ROW,
    MALFORMED,
    RAW_FIELDS,
    RAW_RECORD_COLUMNS,
    REJECT_COLUMNS,
)


def _header_field_pattern(name: str) -> str:
    r"""A regex for ``name`` with ASCII whitespace around it and its ASCII letters
    in either case: what trimming and ASCII-lower-casing a field and comparing it
    with the lower-cased name decides, as one small expression (Spark copies the
    classification into the filters it pushes down; 14 string functions per
    field made its generated code too large to compile).

    >>> print(_header_field_pattern("City"))
    ^[ \t\n\r\x0b\x0c]*[Cc][Ii][Tt][Yy][ \t\n\r\x0b\x0c]*\z
    """
    # The names hold letters, spaces and "/" only: no regex syntax to escape.
    letters = "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)
    return f"^{ASCII_SPACE}*{letters}{ASCII_SPACE}*\\z"


def _is_header(records: ir.Table) -> ir.BooleanValue:
    """Whether a well-formed record's seven fields are the header names, trimmed
    and case-insensitive."""
    fields = [records[name] for name in RAW_FIELDS]
    exact_header = functools.reduce(
        operator.and_,
        [field.re_search(_header_field_pattern(name)) for field, name in zip(fields, HEADER)],
    )
    # A header's first field holds " / " ("Date / Time"): the exact test runs only
    # on the records that pass this cheap one.
    return ibis.ifelse(records.date_time.contains(" / "), exact_header, False)


def distinct_records(raw_records: ir.Table) -> ir.Table:
    """The distinct well-formed records, each with its number of copies.

    Every rule but ``malformed`` depends on a record's seven fields alone, so
    each distinct record is classified, and cleaned, once (:func:`sightings`
    cleans one row per distinct record; repeated records are rare, or the same
    reports scraped twice).

    Parameters
    ----------
    raw_records
        As for :func:`classify`.

    Returns
    -------
    ir.Table
        The seven raw fields, ``copies`` (int64, the raw records with exactly
        these fields, at least 1) and ``is_header`` (boolean: the fields are the
        header names, trimmed and case-insensitive). Grain: one row per distinct
        seven fields of the records with ``field_count`` 7.

    Examples
    --------
    >>> import ibis
    >>> from transforms import distinct_records
    >>> fields = dict(date_time="1/2/03", city="x", state="CA", shape="", duration="",
    ...               summary="", posted="")
    >>> raw = ibis.memtable([
    ...     dict(source_file="a.tsv", field_count=7, raw_line=None, **fields),
    ...     dict(source_file="b.tsv", field_count=7, raw_line=None, **fields),
    ... ])
    >>> distinct_records(raw).select("city", "copies", "is_header").to_pyarrow().to_pylist()
    [{'city': 'x', 'copies': 2, 'is_header': False}]
    """
    well_formed = raw_records.filter(raw_records.field_count == len(RAW_FIELDS))
    counted = well_formed.group_by(list(RAW_FIELDS)).aggregate(copies=well_formed.count())
    return counted.mutate(is_header=_is_header(counted))


@dataclass(frozen=True)
class Classified:
    """Raw records and their :func:`distinct_records`: what :func:`sightings`,
    :func:`rejects` and :func:`record_reasons` are made from.

    Attributes
    ----------
    records
        The raw records (see :func:`classify`).
    distinct
        :func:`distinct_records` of ``records``, or that table as an engine
        computed it (:meth:`Backend.materialize`): every output reads it.
    """

    records: ir.Table
    distinct: ir.Table


def classify(raw_records: ir.Table, distinct: ir.Table | None = None) -> Classified:
    """Prepare the raw records for the rules that reject them.

    The first rule that applies wins: ``malformed`` (not exactly 7 fields),
    ``header_row`` (the fields equal the header names, trimmed and
    case-insensitive), ``duplicate`` (the 7 untrimmed fields equal those of an
    earlier record: in a file that sorts earlier, or earlier in the same file;
    the first copy stays a sighting). :func:`record_reasons` gives every record
    its reason; :func:`sightings` and :func:`rejects` split them.

    Parameters
    ----------
    raw_records
        Input columns: ``source_file``, ``field_count``, the seven raw fields
        (``date_time`` ... ``posted``, strings, null when missing) and
        ``raw_line``. Grain: one row per raw data record.
    distinct
        :func:`distinct_records` of ``raw_records``, computed once by the caller
        (every output reads it); None: computed where it is used.

    Examples
    --------
    >>> import ibis
    >>> from transforms import classify, record_reasons
    >>> fields = dict(date_time="1/2/03", city="x", state="CA", shape="", duration="",
    ...               summary="", posted="")
    >>> raw = ibis.memtable([
    ...     dict(source_file="a.tsv", field_count=7, raw_line=None, **fields),
    ...     dict(source_file="a.tsv", field_count=7, raw_line=None, **fields),
    ... ])
    >>> sorted(record_reasons(classify(raw)).reason.to_pyarrow().to_pylist(), key=str)
    [None, 'duplicate']
    """
    if distinct is None:
        distinct = distinct_records(raw_records)
    return Classified(raw_records, distinct)


def _flagged(classified: Classified, *, suspects_only: bool) -> ir.Table:
    """The raw records with ``is_header``, looked up among the few distinct
    records that are headers or repeat: null for a record that is neither.

    ``suspects_only`` keeps only the records that may be rejected: malformed
    ones, and those whose ``date_time`` is that of a header or repeated record
    (one short column tested first, so that the lookup of all seven fields
    runs on few records).
    """
    records, distinct = classified.records, classified.distinct
    suspects = distinct.filter(distinct.is_header | (distinct.copies > 1))
    if suspects_only:
        records = records.filter(
            (records.field_count != len(RAW_FIELDS)) | records.date_time.isin(suspects.date_time)
        )
    lookup = suspects.select(
        *[suspects[name].name(f"_{name}") for name in RAW_FIELDS], _is_header=suspects.is_header
    )
    joined = records.left_join(
        lookup, [records[name].identical_to(lookup[f"_{name}"]) for name in RAW_FIELDS]
    )
    return joined.select(*RAW_RECORD_COLUMNS, is_header=joined._is_header)


def _is_suspect(flagged: ir.Table) -> ir.BooleanValue:
    """Whether a record of :func:`_flagged` may be rejected: it is malformed, or
    its fields are those of a header or of a repeated record."""
    return (flagged.field_count != len(RAW_FIELDS)) | flagged.is_header.notnull()


def _with_reason(flagged: ir.Table) -> ir.Table:
    """``flagged`` (records that are malformed, headers or repeated) with
    ``reason``: the copies of a repeated record are numbered in the order of
    their source files, the first one is none."""
    copy_number = ibis.row_number().over(
        group_by=[flagged.field_count, flagged.is_header, *[flagged[n] for n in RAW_FIELDS]],
        order_by=flagged.source_file,
    )
    reason = ibis.cases(
        (flagged.field_count != len(RAW_FIELDS), MALFORMED),
        (flagged.is_header, HEADER_ROW),
        (copy_number > 0, DUPLICATE),
        else_=ibis.null("string"),
    )
    return flagged.mutate(reason=reason).drop("is_header")


def record_reasons(classified: Classified) -> ir.Table:
    """Every raw record with the reason it is rejected, or null for a sighting.

    Parameters
    ----------
    classified
        The output of :func:`classify`.

    Returns
    -------
    ir.Table
        The raw-records columns plus ``reason`` (string, null for a sighting).
        Grain: one row per raw data record, none added or lost.
    """
    flagged = _flagged(classified, suspects_only=False)
    suspect = _is_suspect(flagged)
    plain = flagged.filter(~suspect).drop("is_header").mutate(reason=ibis.null("string"))
    return ibis.union(_with_reason(flagged.filter(suspect)), plain)


def sightings(classified: Classified) -> ir.Table:
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
        date. Grain: one row per raw record that is not rejected, that is one
        per distinct well-formed record that is not a header (of the copies of
        a record, only the first is not rejected).
    """
    distinct = classified.distinct
    kept = distinct.filter(~distinct.is_header)
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
    # Stage 2: what the patterns match, each pattern run once.
    matched = text.mutate(
        **_fields.date_pieces(text._date_time, "_dt", with_time=True),
        **_fields.date_pieces(text._posted, "_po", with_time=False),
        **_fields.duration_groups(text._duration),
        state=_fields.known_state(text._state),
    ).view()
    # Stage 3: the numbers in what matched.
    parts = matched.mutate(
        **_fields.date_parts(matched._dt_matches, matched._dt_pieces, "_dt", with_time=True),
        **_fields.date_parts(matched._po_matches, matched._po_pieces, "_po", with_time=False),
        **_fields.duration_parts(
            matched._duration, matched._du_quantity, matched._du_range_end, matched._du_unit
        ),
    ).view()
    # Stage 4: posted, which the two-digit years of sighted_at depend on.
    posted_year = ibis.ifelse(
        parts._po_year_digits == 2,
        _fields.two_digit_year_default(parts._po_year),
        parts._po_year,
    )
    posted_valid = parts._po_matches & _fields.is_real_date(
        posted_year, parts._po_month, parts._po_day
    )
    dated = parts.mutate(
        posted=ibis.ifelse(
            posted_valid,
            ibis.date(posted_year, parts._po_month, parts._po_day),
            ibis.null("date"),
        ),
        country=_fields.country(parts.state),
        duration_seconds=_fields.duration_seconds(
            parts._quantity,
            parts._range_end,
            parts._unit_seconds,
            parts._clock_minutes,
            parts._clock_seconds,
        ),
    ).view()
    # Stage 5: the year of sighted_at, computed once (it is used ten times below).
    posted_year_known = dated.posted.year().cast("int32")
    two_digit = ibis.ifelse(
        dated.posted.isnull(),
        _fields.two_digit_year_default(dated._dt_year),
        _fields.two_digit_year_before(dated._dt_year, posted_year_known),
    )
    dated = dated.mutate(
        _year=ibis.ifelse(dated._dt_year_digits == 2, two_digit, dated._dt_year)
    ).view()
    # Stage 6: sighted_at.
    moment_valid = (
        dated._dt_matches
        & _fields.is_real_date(dated._year, dated._dt_month, dated._dt_day)
        & (dated._dt_hour <= 23)
        & (dated._dt_minute <= 59)
        & (dated._dt_second <= 59)
    )
    # A null year for an impossible moment: engines that check their arguments
    # (Spark in ANSI mode) never see one.
    return dated.select(
        sighted_at=ibis.timestamp(
            ibis.ifelse(moment_valid, dated._year, ibis.null("int32")),
            dated._dt_month,
            dated._dt_day,
            dated._dt_hour,
            dated._dt_minute,
            dated._dt_second,
        ),
        city=dated.city,
        state=dated.state,
        country=dated.country,
        shape=dated.shape,
        duration_seconds=dated.duration_seconds,
        summary=dated.summary,
        posted=dated.posted,
    )


def rejects(classified: Classified) -> ir.Table:
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
    flagged = _flagged(classified, suspects_only=True)
    reasoned = _with_reason(flagged.filter(_is_suspect(flagged)))
    rejected = reasoned.filter(reasoned.reason.notnull())
    return rejected.select(*REJECT_COLUMNS).mutate(
        raw_line=ibis.ifelse(rejected.reason == MALFORMED, rejected.raw_line, ibis.null("string"))
    )


def reason_counts(table: ir.Table) -> ir.Table:
    """Rows per ``reason`` of ``table`` (:func:`record_reasons` or the ``rejects``
    dataset): ``reason`` (null for sightings) and ``records`` (int64)."""
    return table.group_by("reason").aggregate(records=table.count())
