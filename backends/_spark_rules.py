"""Compilation rules that Ibis 12 lacks for Spark SQL, added to its PySpark
compiler once, by every path that compiles for Spark (the Spark backend and
the explore CLI's ``sql`` command).

- ``ibis.timestamp(year, month, day, hour, minute, second)``
  (``TimestampFromYMDHMS``): Spark's ``make_timestamp``. Without it a
  transform builds the text ``YYYY-MM-DD HH:MM:SS`` and parses it back, or adds
  an interval parsed from text, several seconds per million rows on Spark.
  With ANSI mode on, ``make_timestamp`` fails on a date that does not exist:
  transforms pass a null year for those (a null argument gives null).
- String literals holding BEL, VT or FF: sqlglot writes them as ``'\\a'``,
  ``'\\v'`` and ``'\\f'``, which Spark's parser reads as the letters ``a``,
  ``v`` and ``f`` (it knows ``\\b \\n \\r \\t``, not those three). They are
  written as Spark's Unicode escapes (``'\\u000B'``) instead, so that a
  transform can test for them as for any other character.
- Floating-point literals: sqlglot writes ``60.0``, which Spark SQL reads as a
  DECIMAL(3,1) literal. Spark widens it to DOUBLE where it meets a double, but
  Sail (a Spark Connect server) types a CASE of such literals with a DOUBLE
  null as DECIMAL, so a product with it differs in the last bits
  (359.99999999999994 seconds for "6 minutes"). They are written as
  ``CAST(60.0 AS DOUBLE)``, the type Ibis declares, which Spark folds back to a
  constant.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_ufo_etl_rules"
_SPARK_UNKNOWN_ESCAPES = "\a\v\f"
"""Characters sqlglot escapes in a way Spark's SQL parser does not read back."""


def install() -> None:
    """Add the rules to Ibis's PySpark compiler (idempotent)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    if getattr(PySparkCompiler, _INSTALLED, False):
        return

    def visit_TimestampFromYMDHMS(  # noqa: N802 (Ibis's naming)
        self: PySparkCompiler,
        op: Any,
        *,
        year: Any,
        month: Any,
        day: Any,
        hours: Any,
        minutes: Any,
        seconds: Any,
        **_: Any,
    ) -> Any:
        return self.f.make_timestamp(year, month, day, hours, minutes, seconds)

    PySparkCompiler.visit_TimestampFromYMDHMS = visit_TimestampFromYMDHMS  # type: ignore[attr-defined]

    literal = PySparkCompiler.visit_NonNullLiteral

    def visit_NonNullLiteral(  # noqa: N802 (Ibis's naming)
        self: PySparkCompiler, op: Any, *, value: Any, dtype: Any
    ) -> Any:
        result = literal(self, op, value=value, dtype=dtype)
        if dtype.is_floating() and result is not None and not isinstance(result, sge.Cast):
            return self.cast(result, dtype)
        return result

    PySparkCompiler.visit_NonNullLiteral = visit_NonNullLiteral  # type: ignore[method-assign]

    dialect = PySparkCompiler.dialect
    dialect.ESCAPED_SEQUENCES = {  # type: ignore[misc]
        **dialect.ESCAPED_SEQUENCES,
        **{char: f"\\u{ord(char):04X}" for char in _SPARK_UNKNOWN_ESCAPES},
    }
    setattr(PySparkCompiler, _INSTALLED, True)
