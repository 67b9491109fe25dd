"""Names and code lists shared by every transform: the contract's vocabulary."""

from __future__ import annotations

from typing import Final

HEADER: Final = ("Date / Time", "City", "State", "Shape", "Duration", "Summary", "Posted")
"""The header record that starts every raw file, in file order."""

RAW_FIELDS: Final = ("date_time", "city", "state", "shape", "duration", "summary", "posted")
"""Column names of the seven raw fields, in file order (``HEADER`` in snake case)."""

RAW_RECORD_COLUMNS: Final = ("source_file", "field_count", *RAW_FIELDS, "raw_line")
"""Columns of the raw-records table that a backend reader hands to :func:`transforms.classify`."""

SIGHTING_COLUMNS: Final = (
    "sighted_at",
    "city",
    "state",
    "country",
    "shape",
    "duration_seconds",
    "summary",
    "posted",
)
REJECT_COLUMNS: Final = ("source_file", *RAW_FIELDS, "raw_line", "reason")

MALFORMED: Final = "malformed"
HEADER_ROW: Final = "header_row"
DUPLICATE: Final = "duplicate"
REJECT_REASONS: Final = (MALFORMED, HEADER_ROW, DUPLICATE)
"""Reasons a raw record is rejected, in the order the rules apply."""

US_STATES: Final = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
    "DC PR".split()
)
"""The 50 US states, the District of Columbia and Puerto Rico."""

CANADIAN_PROVINCES: Final = frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split())
"""The 13 Canadian provinces and territories."""

LEGACY_STATE_CODES: Final = {"PQ": "QC", "NF": "NL", "YK": "YT"}
"""Old codes still found in the reports, and the codes that replaced them."""
