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
ASCII_SPACE = r"[ \t\n\r\x0b\x0c]"
# `\z`, not `$`: in Java `$` also matches before a final U+0085 or U+2028.
_TRIM_PATTERN = rf"^{ASCII_SPACE}+|{ASCII_SPACE}+\z"


def _is_ascii_space(code: ir.IntegerValue) -> ir.BooleanValue:
    return (code == 32) | code.between(9, 13)


def trim(value: ir.StringValue) -> ir.StringValue:
    """Remove ASCII whitespace (space, TAB, LF, CR, VT, FF) from both ends.

    The regular expression runs only on the values that start or end with
    whitespace: most do not, and a look at the first character's code and at
    the last byte is far cheaper than a regex replace on every engine. The end
    is tested with ``endswith``, which compares bytes (``right(1)`` counts the
    characters of the whole value on DuckDB).
    """
    padded = _is_ascii_space(value.ascii_str())
    for space in " \t\n\r\x0b\x0c":
        padded |= value.endswith(space)
    return ibis.ifelse(padded, value.re_replace(_TRIM_PATTERN, ""), value)


# Anything outside ASCII: there, upper()/lower() would change more than a-z.
_NON_ASCII = r"[^\x00-\x7f]"


def ascii_upper(value: ir.StringValue) -> ir.StringValue:
    """Upper-case the ASCII letters ``a-z`` only."""
    return ibis.ifelse(
        value.re_search(_NON_ASCII),
        value.translate(string.ascii_lowercase, string.ascii_uppercase),
        value.upper(),
    )


def ascii_lower(value: ir.StringValue) -> ir.StringValue:
    """Lower-case the ASCII letters ``A-Z`` only."""
    return ibis.ifelse(
        value.re_search(_NON_ASCII),
        value.translate(string.ascii_uppercase, string.ascii_lowercase),
        value.lower(),
    )


def blank_to_null(value: ir.StringValue) -> ir.StringValue:
    """Null for the empty string, the value otherwise."""
    return ibis.ifelse(value == "", ibis.null("string"), value)
