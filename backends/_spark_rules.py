"""Compilation rules that Ibis 12 lacks for Spark SQL, added to its PySpark
compiler once, by every path that compiles for Spark (the Spark backend and
the explore CLI's ``sql`` command).

- ``ibis.timestamp(year, month, day, hour, minute, second)``
  (``TimestampFromYMDHMS``): Spark's ``make_timestamp``. Without it a
  transform builds the text ``YYYY-MM-DD HH:MM:SS`` and parses it back, or adds
  an interval parsed from text, several seconds per million rows on Spark.
  With ANSI mode on, ``make_timestamp`` fails on a date that does not exist:
  transforms pass a null year for those (a null argument gives null).
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_ufo_etl_rules"


def install() -> None:
    """Add the rules to Ibis's PySpark compiler (idempotent)."""
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
    setattr(PySparkCompiler, _INSTALLED, True)
