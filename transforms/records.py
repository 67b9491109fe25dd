"""Raw records to ``sightings`` and ``rejects``."""

from __future__ import annotations

import functools
import operator

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


def _with_header_and_hash(raw_records: ir.Table) -> ir.Table:
    """``raw_records`` plus ``is_header`` (the record is a header row) and
    ``record_hash`` (of its seven fields)."""
    fields = [raw_records[name] for name in RAW_FIELDS]
    well_formed = raw_records.field_count == 7
    exact_header = functools.reduce(
        operator.and_,
        [field.re_search(_header_field_pattern(name)) for field, name in zip(fields, HEADER)],
    )
    # A header's first field holds " / " ("Date / Time"): the exact test runs only
    # on the records that pass this cheap one.
    maybe_header = well_formed & raw_records.date_time.contains(" / ")
    return raw_records.mutate(
        is_header=ibis.ifelse(maybe_header, exact_header, False),
        # Equal records have equal fields, so equal hashes of the fields joined by
        # TAB. (Unequal records may share a hash: classify compares them exactly.)
        record_hash=ibis.literal("\t").join([f.fill_null("") for f in fields]).hash(),
    ).view()


def repeated_hashes(raw_records: ir.Table) -> ir.Table:
    """The hashes shared by more than one well-formed, non-header record.

    Parameters
    ----------
    raw_records
        As for :func:`classify`.

    Returns
    -------
    ir.Table
        ``record_hash`` (int64, the hash :func:`repeated_records` gives the
        seven fields). Grain: one row per repeated hash; few rows where records
        repeat little.
    """
    staged = _with_header_and_hash(raw_records)
    candidates = staged.filter((staged.field_count == 7) & ~staged.is_header)
    return (
        candidates.group_by("record_hash")
        .aggregate(copies=candidates.count())
        .filter(lambda t: t.copies > 1)
        .select("record_hash")
    )


def repeated_records(raw_records: ir.Table, hashes: ir.Table | None = None) -> ir.Table:
    """The records that may be duplicates, each numbered among its exact copies.

    A record may be a duplicate when the hash of its fields is that of more
    than one well-formed, non-header record; the copies of one record are
    numbered in the order of their source files.

    Parameters
    ----------
    raw_records
        As for :func:`classify`.
    hashes
        :func:`repeated_hashes` of ``raw_records``, computed by the caller (an
        engine that knows how small it is then sends it to every task, rather
        than shuffling the records to meet it); None computes it here.

    Returns
    -------
    ir.Table
        The columns of ``raw_records`` plus ``is_header`` (boolean),
        ``record_hash`` (int64) and ``copy_number`` (int64, 0 for the first copy).
        Grain: one row per raw record whose hash repeats; few rows where
        records repeat little, so that a caller can compute it once for both
        outputs of :func:`classify`.
    """
    if hashes is None:
        hashes = repeated_hashes(raw_records)
    staged = _with_header_and_hash(raw_records)
    # A membership test, not a semi join: the engine then builds its hash table
    # from the few repeated hashes, never from the records.
    suspects = staged.filter(staged.record_hash.isin(hashes.record_hash))
    return suspects.mutate(
        copy_number=ibis.row_number().over(
            group_by=[
                (suspects.field_count == 7) & ~suspects.is_header,
                *[suspects[name] for name in RAW_FIELDS],
            ],
            order_by=suspects.source_file,
        )
    )


def classify(raw_records: ir.Table, repeated: ir.Table | None = None) -> ir.Table:
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
    repeated
        :func:`repeated_records` of ``raw_records``, computed once by the caller
        when the result is used more than once; None computes it here.

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
    if repeated is None:
        repeated = repeated_records(raw_records)
    staged = _with_header_and_hash(raw_records)
    others = staged.filter(~staged.record_hash.isin(repeated.record_hash)).mutate(
        copy_number=ibis.literal(0, "int64")
    )
    numbered = ibis.union(repeated, others)
    reason = ibis.cases(
        (numbered.field_count != 7, MALFORMED),
        (numbered.is_header, HEADER_ROW),
        (numbered.copy_number > 0, DUPLICATE),
        else_=ibis.null("string"),
    )
    return numbered.mutate(reason=reason).drop("is_header", "record_hash", "copy_number")


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
