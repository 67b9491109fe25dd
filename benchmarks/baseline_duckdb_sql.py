"""Hand-written baseline: the UFO pipeline as one DuckDB SQL script.

``python -m benchmarks.baseline_duckdb_sql --raw FILE --out DIR --threads N --memory-limit M``

What a DuckDB user would write to docs/contract.md, for one TSV file:

* Lines come from ``read_csv`` with a single VARCHAR column, no quoting, and a
  NUL delimiter that generated files never contain (a line holding one would
  fail the run, not pass silently); ``header = true`` drops the file's own
  header. DuckDB's CSV reader treats LF and CRLF as line ends but not a bare
  CR (the text after one is lost), so this reader is for LF/CRLF files, which is
  all the generator writes; ufo-etl reads through pyarrow, which splits on CR
  too. An empty line comes back NULL and is dropped.
* Duplicates: every output row depends only on the line's text, so equal lines
  are interchangeable. A 64-bit ``hash(line)`` aggregate finds the few hashes
  seen twice (a hash aggregate over 10 million integers, not over 1.6 GB of
  strings); only the lines with those hashes are grouped exactly, by text.
  A line is then either unique (one copy) or counted (``copies``): one sighting
  and ``copies - 1`` duplicates, or ``copies`` malformed/header rejects.
* Cleaning is SQL: one ``regexp_extract`` per pattern returns every group as a
  struct; dates are checked by arithmetic, then built with ``make_date`` /
  ``make_timestamp``; entities are decoded only in summaries holding a ``&``.
* ``sightings`` and ``rejects`` are written with ``COPY``; the aggregates read
  the ``sightings`` Parquet back (four columns of it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

import duckdb

from benchmarks._common import (
    CA_PROVINCES,
    CLOCK_PATTERN,
    DATE_TIME_PATTERN,
    DURATION_PATTERN,
    ENTITY_CHAIN,
    HEADER,
    LEGACY_STATES,
    NUMBER_WORDS,
    POSTED_PATTERN,
    RAW_FIELDS,
    UNIT_SECONDS,
    US_STATES,
    WHITESPACE,
    BaselineArgs,
    Steps,
    dataset_dir,
    parse_args,
)


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _codes(codes: Sequence[str]) -> str:
    return ", ".join(_lit(c) for c in codes)


def _chars(text: str) -> str:
    """A SQL expression for ``text`` built from ``chr()``, for control characters."""
    return " || ".join(f"chr({ord(c)})" for c in text)


# trim(s, characters) and translate() cost about ten times what the rest of a
# field's cleaning costs in DuckDB 1.5: run them only on the rare values that
# need them (whitespace at an end; non-ASCII text, where lower()/upper() would
# change more than A-Z). Whitespace is tested with comparisons, not IN: DuckDB
# plans an IN list of six constants as a join. Nested macros repeat their
# argument's expression, so each stage of the cleaning is a projection of its
# own, and the exact header test runs only on lines that could be one.
_HEADER_TESTS = " ".join(
    f"AND lower_ascii(trim_ws(f[{i}])) = {_lit(h.lower())}" for i, h in enumerate(HEADER, 1)
)
MACROS = f"""
CREATE MACRO is_ws(c) AS c = 32 OR c BETWEEN 9 AND 13;
CREATE MACRO trim_ws(s) AS CASE
    WHEN is_ws(ascii(s)) OR is_ws(ascii(s[-1])) THEN trim(s, {_chars(WHITESPACE)}) ELSE s END;
CREATE MACRO lower_ascii(s) AS CASE
    WHEN strlen(s) = length(s) THEN lower(s)
    ELSE translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END;
CREATE MACRO upper_ascii(s) AS CASE
    WHEN strlen(s) = length(s) THEN upper(s)
    ELSE translate(s, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') END;
CREATE MACRO days_in_month(y, m) AS CASE
    WHEN m IN (4, 6, 9, 11) THEN 30
    WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
    ELSE 31 END;
CREATE MACRO is_real_date(y, m, d) AS
    y >= 1 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND days_in_month(y, m);
CREATE MACRO pivot_year(yy) AS CASE WHEN yy <= 68 THEN 2000 + yy ELSE 1900 + yy END;
CREATE MACRO year_before(yy, y) AS
    CASE WHEN yy <= y % 100 THEN y - y % 100 + yy ELSE y - y % 100 - 100 + yy END;
CREATE MACRO is_header(f) AS len(f) = 7 {_HEADER_TESTS};
"""


def _sightings_sql(source: str) -> str:
    """The cleaning of ``f`` (a line's 7 fields) from ``source``, as ``sightings``."""
    words = " ".join(f"WHEN {_lit(w)} THEN {v}::DOUBLE" for w, v in NUMBER_WORDS.items())
    units = " ".join(f"WHEN {_lit(u)} THEN {v}::DOUBLE" for u, v in UNIT_SECONDS.items())
    quantity = f"(CASE du.q {words} ELSE nullif(du.q, '')::DOUBLE END)"
    legacy = " ".join(f"WHEN {_lit(a)} THEN {_lit(b)}" for a, b in LEGACY_STATES.items())
    decoded = "s"
    for pattern, replacement in ENTITY_CHAIN:
        decoded = f"regexp_replace({decoded}, {_lit(pattern)}, {_lit(replacement)}, 'g')"
    return f"""
    WITH trimmed AS (
        SELECT
            trim_ws(f[1]) AS dt, trim_ws(f[2]) AS city, trim_ws(f[3]) AS st,
            trim_ws(f[4]) AS sh, trim_ws(f[5]) AS du, trim_ws(f[6]) AS s, trim_ws(f[7]) AS po
        FROM {source}
    ), texts AS (
        SELECT dt, po, upper_ascii(st) AS code, lower_ascii(du) AS dur, city,
               lower_ascii(sh) AS shape, s
        FROM trimmed
    ), parts AS (
        SELECT
            regexp_extract(dt, {_lit(DATE_TIME_PATTERN)}, ['mo', 'd', 'y', 'h', 'mi', 's']) AS a,
            regexp_extract(po, {_lit(POSTED_PATTERN)}, ['mo', 'd', 'y']) AS p,
            regexp_extract(dur, {_lit(DURATION_PATTERN)}, ['q', 'e', 'u']) AS du,
            regexp_extract(dur, {_lit(CLOCK_PATTERN)}, ['m', 's']) AS cl,
            CASE code {legacy} ELSE code END AS code,
            city, shape,
            CASE WHEN contains(s, '&') THEN {decoded} ELSE s END AS summary
        FROM texts
    ), posted AS (
        SELECT *,
            CASE WHEN len(p.y) = 2 THEN pivot_year(nullif(p.y, '')::INT)
                 ELSE nullif(p.y, '')::INT END AS py,
            nullif(p.mo, '')::INT AS pmo, nullif(p.d, '')::INT AS pd,
            nullif(a.y, '')::INT AS ay, nullif(a.mo, '')::INT AS amo, nullif(a.d, '')::INT AS ad
        FROM parts
    ), dated AS (
        SELECT *,
            CASE WHEN is_real_date(py, pmo, pd) THEN make_date(py, pmo, pd) END AS posted_date
        FROM posted
    ), moment AS (
        SELECT *,
            CASE WHEN len(a.y) = 4 THEN ay
                 WHEN posted_date IS NULL THEN pivot_year(ay)
                 ELSE year_before(ay, year(posted_date)) END AS sy,
            coalesce(nullif(a.h, '')::INT, 0) AS sh,
            coalesce(nullif(a.mi, '')::INT, 0) AS smi,
            coalesce(nullif(a.s, '')::INT, 0) AS ss
        FROM dated
    )
    SELECT
        CASE WHEN is_real_date(sy, amo, ad) AND sh <= 23 AND smi <= 59 AND ss <= 59
             THEN make_timestamp(sy, amo, ad, sh, smi, ss::DOUBLE) END
            AS sighted_at,
        nullif(city, '') AS city,
        CASE WHEN code IN ({_codes(US_STATES + CA_PROVINCES)}) THEN code END AS state,
        CASE WHEN code IN ({_codes(CA_PROVINCES)}) THEN 'CA'
             WHEN code IN ({_codes(US_STATES)}) THEN 'US' END AS country,
        nullif(shape, '') AS shape,
        CASE
            WHEN du.u <> '' THEN
                CASE WHEN du.e = '' THEN {quantity}
                     ELSE ({quantity} + nullif(du.e, '')::DOUBLE) / 2 END
                * (CASE du.u[1] {units} END)
            WHEN cl.s <> '' THEN
                coalesce(nullif(cl.m, '')::DOUBLE, 0.0) * 60 + nullif(cl.s, '')::DOUBLE
        END AS duration_seconds,
        summary,
        posted_date AS posted
    FROM moment
    """


def script(args: BaselineArgs) -> list[tuple[str, str]]:
    """The pipeline as (step, SQL) pairs, run in order on one connection."""
    raw = _lit(args.raw)
    fields = ", ".join(f"f[{i}] AS {name}" for i, name in enumerate(RAW_FIELDS, 1))
    out = {
        name: _lit(os.path.join(dataset_dir(args.out, name), "part-0.parquet"))
        for name in (
            "sightings",
            "rejects",
            "by_state",
            "top10_states",
            "by_shape",
            "top10_shapes",
            "by_month",
        )
    }
    parquet = "(FORMAT parquet, COMPRESSION zstd)"
    return [
        ("macros", MACROS),
        (
            "lines view",
            f"""
            CREATE VIEW lines AS
            SELECT line, hash(line) AS h
            FROM read_csv({raw}, columns = {{'line': 'VARCHAR'}}, delim = chr(0), quote = '',
                          escape = '', header = true, auto_detect = false)
            WHERE line IS NOT NULL
            """,
        ),
        (
            "repeated hashes",
            "CREATE TEMP TABLE dup_hashes AS SELECT h FROM lines GROUP BY h HAVING count(*) > 1",
        ),
        (
            "repeated lines",
            """
            CREATE TEMP TABLE repeated AS
            SELECT line, count(*) AS copies FROM lines SEMI JOIN dup_hashes USING (h)
            GROUP BY line
            """,
        ),
        (
            "classified view",
            """
            CREATE VIEW classified AS
            SELECT line, copies, f,
                   CASE WHEN len(f) <> 7 THEN 'malformed'
                        WHEN contains(lower(f[1]), 'date / time') AND is_header(f)
                        THEN 'header_row' END AS reason
            FROM (
                SELECT line, 1 AS copies, string_split(line, chr(9)) AS f
                FROM lines ANTI JOIN dup_hashes USING (h)
                UNION ALL
                SELECT line, copies, string_split(line, chr(9)) AS f FROM repeated
            )
            """,
        ),
        (
            "write sightings",
            f"COPY ({_sightings_sql('classified WHERE reason IS NULL')}) "
            f"TO {out['sightings']} {parquet}",
        ),
        (
            "write rejects",
            f"""
            COPY (
                SELECT {raw} AS source_file, {fields},
                       CASE WHEN reason = 'malformed' THEN line END AS raw_line,
                       coalesce(reason, 'duplicate') AS reason
                FROM (
                    SELECT *, unnest(range(CASE WHEN reason IS NULL THEN copies - 1
                                                ELSE copies END)) AS copy
                    FROM classified
                    WHERE reason IS NOT NULL OR copies > 1
                )
            ) TO {out["rejects"]} {parquet}
            """,
        ),
        (
            "aggregates",
            f"""
            CREATE TEMP TABLE sightings AS
            SELECT state, country, shape, sighted_at
            FROM read_parquet({_lit(os.path.join(args.out, "sightings", "*.parquet"))});
            CREATE TEMP TABLE by_state AS
            SELECT state, country, count(*) AS sightings,
                   min(sighted_at) AS first_sighted_at, max(sighted_at) AS last_sighted_at
            FROM sightings GROUP BY state, country;
            CREATE TEMP TABLE by_shape AS
            SELECT shape, count(*) AS sightings FROM sightings GROUP BY shape;
            COPY by_state TO {out["by_state"]} {parquet};
            COPY by_shape TO {out["by_shape"]} {parquet};
            COPY (
                SELECT row_number() OVER (ORDER BY sightings DESC, state) AS rank,
                       state, sightings
                FROM by_state WHERE state IS NOT NULL QUALIFY rank <= 10
            ) TO {out["top10_states"]} {parquet};
            COPY (
                SELECT row_number() OVER (ORDER BY sightings DESC, shape) AS rank,
                       shape, sightings
                FROM by_shape WHERE shape IS NOT NULL QUALIFY rank <= 10
            ) TO {out["top10_shapes"]} {parquet};
            COPY (
                SELECT year(sighted_at)::INT AS year, month(sighted_at)::INT AS month,
                       count(*) AS sightings
                FROM sightings WHERE sighted_at IS NOT NULL GROUP BY ALL
            ) TO {out["by_month"]} {parquet};
            """,
        ),
    ]


def run(args: BaselineArgs) -> None:
    steps = Steps("duckdb-sql")
    spill = os.path.join(args.out, ".duckdb-spill")
    con = duckdb.connect(
        config={
            "threads": args.threads,
            "memory_limit": args.memory_limit,
            "temp_directory": spill,
            "preserve_insertion_order": False,
        }
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        for step, sql in script(args):
            con.execute(sql)
            steps.done(step)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    steps.total()


def main(argv: Sequence[str] | None = None) -> int:
    run(parse_args(__doc__.splitlines()[0] if __doc__ else "", argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
