"""The UFO pipeline's transformations, written once in Ibis.

Every function maps Ibis tables to an Ibis table. Nothing here imports an
engine, reads or writes files, or connects: ``backends`` does that.
"""

from transforms.aggregates import (
    by_country,
    by_month,
    by_shape,
    by_state,
    by_year,
    top10_shapes,
    top10_states,
    top_n,
)
from transforms.records import (
    Classified,
    classify,
    distinct_records,
    reason_counts,
    record_reasons,
    rejects,
    sightings,
)
from transforms.schema import (
    HEADER,
    RAW_FIELDS,
    RAW_RECORD_COLUMNS,
    REJECT_COLUMNS,
    REJECT_REASONS,
    SIGHTING_COLUMNS,
)

__all__ = [
    "HEADER",
    "RAW_FIELDS",
    "RAW_RECORD_COLUMNS",
    "REJECT_COLUMNS",
    "REJECT_REASONS",
    "SIGHTING_COLUMNS",
    "Classified",
    "by_country",
    "by_month",
    "by_shape",
    "by_state",
    "by_year",
    "classify",
    "distinct_records",
    "reason_counts",
    "record_reasons",
    "rejects",
    "sightings",
    "top10_shapes",
    "top10_states",
    "top_n",
]
