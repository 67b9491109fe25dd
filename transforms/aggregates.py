"""Aggregates of ``sightings``: by state, shape, month, country and year, and top-N
rankings."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def by_state(sightings: ir.Table) -> ir.Table:
    """Sightings per state.

    Parameters
    ----------
    sightings
        Input columns used: ``state``, ``country``, ``sighted_at``.

    Returns
    -------
    ir.Table
        ``state``, ``country`` (strings), ``sightings`` (int64),
        ``first_sighted_at`` and ``last_sighted_at`` (timestamps, null when no
        sighting of the state has one). Grain: one row per state, null included.
    """
    return sightings.group_by(["state", "country"]).aggregate(
        sightings=sightings.count(),
        first_sighted_at=sightings.sighted_at.min(),
        last_sighted_at=sightings.sighted_at.max(),
    )


def by_shape(sightings: ir.Table) -> ir.Table:
    """Sightings per shape.

    Returns ``shape`` (string) and ``sightings`` (int64). Grain: one row per
    shape, null included.
    """
    return sightings.group_by("shape").aggregate(sightings=sightings.count())


def by_month(sightings: ir.Table) -> ir.Table:
    """Sightings per calendar month.

    Returns ``year``, ``month`` (int32) and ``sightings`` (int64). Grain: one row
    per month that has a sighting with a known ``sighted_at``.
    """
    dated = sightings.filter(sightings.sighted_at.notnull())
    return dated.group_by(
        year=dated.sighted_at.year().cast("int32"),
        month=dated.sighted_at.month().cast("int32"),
    ).aggregate(sightings=dated.count())


def by_country(sightings: ir.Table) -> ir.Table:
    """Sightings per country.

    Parameters
    ----------
    sightings
        Input columns used: ``country``.

    Returns
    -------
    ir.Table
        ``country`` (string: ``US``, ``CA`` or null) and ``sightings`` (int64).
        Grain: one row per country, null (no known state) included.
    """
    return sightings.group_by("country").aggregate(sightings=sightings.count())


def by_year(sightings: ir.Table) -> ir.Table:
    """Sightings per calendar year.

    Parameters
    ----------
    sightings
        Input columns used: ``sighted_at``.

    Returns
    -------
    ir.Table
        ``year`` (int32) and ``sightings`` (int64). Grain: one row per year that
        has a sighting with a known ``sighted_at``.
    """
    dated = sightings.filter(sightings.sighted_at.notnull())
    return dated.group_by(year=dated.sighted_at.year().cast("int32")).aggregate(
        sightings=dated.count()
    )


def top_n(counts: ir.Table, key: str, n: int = 10, count: str = "sightings") -> ir.Table:
    """The ``n`` non-null keys with the largest ``count``; ties go to the smaller key.

    Parameters
    ----------
    counts
        One row per ``key``, with an integer column ``count``.
    key
        The column ranked.
    n
        How many rows to keep.
    count
        The column ranked by.

    Returns
    -------
    ir.Table
        ``rank`` (int64, 1..n), ``key``, ``count``. Grain: one row per ranked key.

    Examples
    --------
    >>> import ibis
    >>> from transforms import top_n
    >>> t = ibis.memtable({"state": ["TX", "CA", "WA", None], "sightings": [5, 9, 5, 99]})
    >>> top_n(t, "state", n=2).order_by("rank").to_pyarrow().to_pylist()
    [{'rank': 1, 'state': 'CA', 'sightings': 9}, {'rank': 2, 'state': 'TX', 'sightings': 5}]
    """
    known = counts.filter(counts[key].notnull())
    ranked = known.mutate(
        rank=ibis.row_number().over(order_by=[ibis.desc(known[count]), known[key]]) + 1
    )
    return ranked.filter(ranked["rank"] <= n).select(
        ranked["rank"].cast("int64").name("rank"), key, count
    )


def top10_states(by_state_counts: ir.Table) -> ir.Table:
    """The 10 states with the most sightings: ``rank``, ``state``, ``sightings``.

    Input: the output of :func:`by_state`. Grain: one row per ranked state.
    """
    return top_n(by_state_counts, "state", 10)


def top10_shapes(by_shape_counts: ir.Table) -> ir.Table:
    """The 10 shapes with the most sightings: ``rank``, ``shape``, ``sightings``.

    Input: the output of :func:`by_shape`. Grain: one row per ranked shape.
    """
    return top_n(by_shape_counts, "shape", 10)
