"""String helpers that compile to the same result on every Ibis backend.

Ibis's own ``strip``/``upper``/``lower`` are not used: on PySpark ``strip`` also
removes the letter ``f`` (ibis issue 11894), and ``upper``/``lower`` change
non-ASCII letters too, which the contract forbids.
"""

from __future__ import annotations

import string

import ibis
import ibis.expr.types as ir

# Space, TAB, LF, CR, VT, FF: the contract's "ASCII whitespace". RE2 (DuckDB) and
# java.util.regex (Spark) read these escapes identically; `\s` they do not.
_WS = r"[ \t\n\r\x0b\x0c]"
_TRIM_PATTERN = rf"^{_WS}+|{_WS}+$"


def trim(value: ir.StringValue) -> ir.StringValue:
    """Remove ASCII whitespace (space, TAB, LF, CR, VT, FF) from both ends."""
    return value.re_replace(_TRIM_PATTERN, "")


def ascii_upper(value: ir.StringValue) -> ir.StringValue:
    """Upper-case the ASCII letters ``a-z`` only."""
    return value.translate(string.ascii_lowercase, string.ascii_uppercase)


def ascii_lower(value: ir.StringValue) -> ir.StringValue:
    """Lower-case the ASCII letters ``A-Z`` only."""
    return value.translate(string.ascii_uppercase, string.ascii_lowercase)


def blank_to_null(value: ir.StringValue) -> ir.StringValue:
    """Null for the empty string, the value otherwise."""
    return ibis.ifelse(value == "", ibis.null("string"), value)
