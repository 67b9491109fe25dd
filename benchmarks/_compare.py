"""Check that two variants wrote the same seven datasets.

Each dataset is read back with pyarrow (one Parquet file, or every
``*.parquet`` file under a directory) and the rows are compared as multisets:
what sorting both sides and comparing them row by row would tell, done here as
``EXCEPT ALL`` by DuckDB over the pyarrow datasets, which needs no two sorted
10-million-row tables in memory. With equal row counts, ``expected EXCEPT ALL
actual`` being empty proves the multisets equal; on a difference both
directions are shown. Values compare exactly (floats included); nulls equal
nulls. The rejects are also counted by reason on both sides. Above 20 million rows
(the ``scale`` scenario) the multisets compared are those of a 64-bit hash of
each row, which needs far less memory and spill (see :func:`_hashed`).

How much is compared depends on the two sides (:func:`mode`):

``exact``
    Two ufo-etl runs, or ufo-etl and a project baseline, on the same input:
    every column, with the same names and the same Arrow types.
``expert``
    One side is an expert script (``../shared/baselines``), which writes the
    same work under slightly different names and types:

    - ``sightings`` without ``duration_seconds`` (the experts use a simpler
      duration rule than the contract's);
    - ``rejects`` as the seven raw fields, ``raw_line`` and ``reason``, without
      ``source_file`` (the experts keep none); the experts name the raw fields
      ``raw_date_time`` ... ``raw_posted`` and keep ``raw_line`` for every
      reject, where the contract keeps it for ``malformed`` only, so
      ``raw_line`` is compared for ``malformed`` rejects only (null elsewhere
      on both sides);
    - every aggregate, every column;
    - except for one known deviation of the experts, accepted and reported
      (:data:`KNOWN_DEVIATION`): their ``SIGHTED_RE`` allows exactly one space
      before the time where the contract allows one or more, so for a
      ``Date / Time`` such as ``5/3/10  17:22`` an expert's ``sighted_at`` is
      null and ufo-etl's is the moment. :func:`_sightings_deviation` accepts
      a ``sightings`` difference only when every row that only the expert has
      pairs with a row that only the other side has, equal in every compared
      column but ``sighted_at``, null in the expert's and not null in the
      other's; those values (with their state) then explain ``by_month`` and
      ``by_state`` exactly (:func:`_with_deviation`). Any other difference
      fails as before. (The outputs do not say why a moment is missing: on
      the generator's data only the double space leaves the experts' null.)

    Types may differ within a family (``int32`` and ``int64``, ``string`` and
    ``large_string``, timestamp units): both sides are cast to one type of the
    family (BIGINT, DOUBLE, VARCHAR, TIMESTAMP, DATE) and compared; each such
    difference is noted, not counted as a difference.
``cross-format``
    ufo-etl on the same records in another format (CSV against TSV): every
    column but ``rejects.source_file`` (the file's path) and
    ``rejects.raw_line`` (a malformed record's text, which is the format's),
    types compared exactly.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.types as pat

from benchmarks._common import RAW_FIELDS

Mode = Literal["exact", "expert", "cross-format"]
EXACT_UP_TO = 20_000_000
"""Datasets up to this many rows are compared by ``EXCEPT ALL``; larger ones by
a hash per row (:func:`_hashed`)."""
KNOWN_DEVIATION = (
    "whose sighted_at the expert leaves null (a double space before the time; "
    "the contract allows it)"
)
"""The experts' one known difference from the contract (see the module's docstring)."""


def known_deviation(sightings: int) -> str:
    """``N sightings whose sighted_at the expert leaves null (...)``."""
    return f"{sightings:,} sighting{'' if sightings == 1 else 's'} {KNOWN_DEVIATION}"


PAIRED_UP_TO = 1_000_000
"""Above the 64-bit hash threshold, the rows of a ``sightings`` difference are
read back (to test for the known deviation) only up to this many per side."""


@dataclass(frozen=True)
class Side:
    """One variant's output: dataset name -> Parquet file or directory."""

    paths: Mapping[str, str]
    kind: str
    """ufo-etl, expert or baseline."""
    raw_format: str = "tsv"


@dataclass
class DatasetCheck:
    """The comparison of one dataset."""

    name: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    casts: list[tuple[str, str, str, str]] = field(default_factory=list)
    """Types that differ but were compared after a cast, not counted as a
    difference: (column, expected type, actual type, the type both were cast to)."""
    reasons: dict[str, tuple[int, int]] = field(default_factory=dict)
    """rejects only: reason -> (expected count, actual count)."""
    tolerated: int = 0
    """Rows that differ only by the experts' known deviation and were accepted:
    in ``sightings``, the sightings whose ``sighted_at`` the expert leaves null;
    in ``by_month`` and ``by_state``, the expert's rows that those values change."""

    @property
    def equal(self) -> bool:
        return not self.problems


def mode(expected: Side, actual: Side) -> Mode:
    if "expert" in (expected.kind, actual.kind):
        return "expert"
    if expected.raw_format != actual.raw_format:
        return "cross-format"
    return "exact"


def expert_side(expected: Side, actual: Side) -> Literal["expected", "actual"] | None:
    """The side that is an expert when the other is not (the one that may show
    the known deviation), else None."""
    if actual.kind == "expert" and expected.kind != "expert":
        return "actual"
    if expected.kind == "expert" and actual.kind != "expert":
        return "expected"
    return None


def parquet_files(path: str) -> list[str]:
    """``path`` itself when it is a file, else every ``*.parquet`` file below it, sorted."""
    if os.path.isfile(path):
        return [path]
    found = []
    for parent, _, names in os.walk(path):
        found += [os.path.join(parent, n) for n in names if n.endswith(".parquet")]
    return sorted(found)


def _read(path: str) -> pads.Dataset:
    files = parquet_files(path)
    if not files:
        raise FileNotFoundError(f"no Parquet file at {path}")
    return pads.dataset(files, format="parquet")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _family(t: pa.DataType) -> str | None:
    """The DuckDB type both sides are cast to, for a loose comparison."""
    if pat.is_integer(t):
        return "BIGINT"
    if pat.is_floating(t):
        return "DOUBLE"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "VARCHAR"
    if pat.is_timestamp(t) and t.tz is None:
        return "TIMESTAMP"
    if pat.is_date(t):
        return "DATE"
    return None


def _source_column(name: str, dataset: str, kind: str) -> str:
    """The column of a ``kind`` side that holds the compared column ``name``."""
    if kind == "expert" and dataset == "rejects" and name in RAW_FIELDS:
        return f"raw_{name}"
    return name


def _canonical(column: str, dataset: str, kind: str) -> str:
    """The compared name of a ``kind`` side's column (the inverse of :func:`_source_column`)."""
    if kind == "expert" and dataset == "rejects" and column.removeprefix("raw_") in RAW_FIELDS:
        return column.removeprefix("raw_")
    return column


def _compared_columns(dataset: str, columns: list[str], how: Mode) -> list[str]:
    """Which of the reference's (canonical) columns ``how`` compares."""
    dropped: set[str] = set()
    if how == "expert" and dataset == "sightings":
        dropped = {"duration_seconds"}
    elif how == "expert" and dataset == "rejects":
        dropped = {"source_file"}
    elif how == "cross-format" and dataset == "rejects":
        dropped = {"source_file", "raw_line"}
    return [c for c in columns if c not in dropped]


def compare_outputs(
    expected: Side,
    actual: Side,
    *,
    memory_limit: str = "3GB",
    threads: int = 2,
    samples: int = 3,
    spill_dir: str | None = None,
    exact_up_to: int = EXACT_UP_TO,
) -> list[DatasetCheck]:
    """Compare each dataset of ``expected`` with ``actual``'s, as :func:`mode` says."""
    how = mode(expected, actual)
    checks = []
    if spill_dir:
        os.makedirs(spill_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ufo-bench-compare-", dir=spill_dir) as spill:
        con = duckdb.connect(
            config={"threads": threads, "memory_limit": memory_limit, "temp_directory": spill}
        )
        try:
            # The sighted_at values the expert leaves null (the known deviation),
            # found by the sightings check, read by those of by_month and by_state.
            con.execute("CREATE TEMP TABLE deviation (state VARCHAR, sighted_at TIMESTAMP)")
            for name, path in expected.paths.items():
                checks.append(
                    _compare_one(con, name, expected, actual, path, how, samples, exact_up_to)
                )
        finally:
            con.close()
    return checks


def _compare_one(
    con: Any,
    name: str,
    expected: Side,
    actual: Side,
    want_path: str,
    how: Mode,
    samples: int,
    exact_up_to: int,
) -> DatasetCheck:
    check = DatasetCheck(name)
    got_path = actual.paths.get(name)
    if got_path is None:
        check.problems.append("not written")
        return check
    try:
        want, got = _read(want_path), _read(got_path)
    except (OSError, pa.ArrowInvalid) as e:
        check.problems.append(f"cannot read: {e}")
        return check
    want_types = {f.name: f.type for f in want.schema}
    got_types = {f.name: f.type for f in got.schema}
    columns = _compared_columns(name, [_canonical(c, name, expected.kind) for c in want_types], how)
    left, right = [], []
    if how == "expert":
        # Expected columns by name; the actual side's names mapped; casts within a family.
        missing = [c for c in columns if _source_column(c, name, actual.kind) not in got_types] + [
            c for c in columns if _source_column(c, name, expected.kind) not in want_types
        ]
        if missing:
            check.problems.append(
                f"columns missing: {', '.join(missing)} (expected "
                f"{', '.join(want_types)}; got {', '.join(got_types)})"
            )
            return check
        for column in columns:
            w_col = _source_column(column, name, expected.kind)
            g_col = _source_column(column, name, actual.kind)
            w_type, g_type = want_types[w_col], got_types[g_col]
            family = _family(w_type)
            if family is None or family != _family(g_type):
                check.problems.append(f"{column}: type {g_type}, expected {w_type}")
                continue
            if w_type != g_type:
                check.casts.append((column, str(w_type), str(g_type), family))
            w_expr, g_expr = _quote(w_col), _quote(g_col)
            if name == "rejects" and column == "raw_line":
                w_expr = f"CASE WHEN reason = 'malformed' THEN {w_expr} END"
                g_expr = f"CASE WHEN reason = 'malformed' THEN {g_expr} END"
            left.append(f"CAST({w_expr} AS {family}) AS {_quote(column)}")
            right.append(f"CAST({g_expr} AS {family}) AS {_quote(column)}")
        if check.problems:
            return check
    else:
        want_cmp = {c: want_types[c] for c in columns}
        got_cmp = {c: got_types[c] for c in columns if c in got_types}
        extra = sorted(set(got_types) - set(want_types))
        if want_cmp != got_cmp or extra:
            check.problems.append(
                "schema differs: expected "
                + ", ".join(f"{k} {v}" for k, v in want_types.items())
                + "; got "
                + ", ".join(f"{k} {v}" for k, v in got_types.items())
            )
            return check
        left = right = [_quote(c) for c in columns]
    counts = {"expected": want.count_rows(), "actual": got.count_rows()}
    con.register("expected_rows", want)
    con.register("actual_rows", got)
    try:
        if name == "rejects":
            _reason_counts(con, check)
        selects = {
            "expected": f"SELECT {', '.join(left)} FROM expected_rows",
            "actual": f"SELECT {', '.join(right)} FROM actual_rows",
        }
        side = expert_side(expected, actual) if how == "expert" else None
        if side and name != "sightings":
            selects[side], check.tolerated = _with_deviation(con, name, selects[side], columns)
            if check.tolerated:  # by_month may gain the rows of months the expert lacks
                counts[side] = con.execute(f"SELECT count(*) FROM ({selects[side]})").fetchone()[0]
        check.rows, got_rows = counts["expected"], counts["actual"]
        if got_rows != check.rows:
            check.problems.append(f"{got_rows:,} rows, expected {check.rows:,}")
        exact = max(check.rows, got_rows) <= exact_up_to
        names = [_quote(c) for c in columns]
        if side and name == "sightings" and {"sighted_at", "state"} <= set(columns):
            _sightings_deviation(con, selects, names, check, got_rows, samples, exact, side)
        elif exact:
            _except_all(con, selects, check, got_rows, samples)
        else:
            _hashed(con, selects, names, check, samples)
    finally:
        con.unregister("expected_rows")
        con.unregister("actual_rows")
    return check


def _except_all(
    con: Any, selects: Mapping[str, str], check: DatasetCheck, got_rows: int, samples: int
) -> None:
    """The rows of each side that the other lacks, by ``EXCEPT ALL``."""
    # With equal row counts, nothing missing means nothing unexpected either.
    directions = [("missing", "expected", "actual")]
    if got_rows != check.rows:
        directions.append(("unexpected", "actual", "expected"))
    for label, a, b in directions:
        diff = f"{selects[a]} EXCEPT ALL {selects[b]}"
        count = con.execute(f"SELECT count(*) FROM ({diff})").fetchone()[0]
        if count:
            shown = con.execute(f"{diff} LIMIT {samples}").fetchall()
            check.problems.append(f"{count:,} {label} row(s), e.g. {shown}")
            if label == "missing" and len(directions) == 1:
                directions.append(("unexpected", "actual", "expected"))


def _hashed(
    con: Any,
    selects: Mapping[str, str],
    names: list[str],
    check: DatasetCheck,
    samples: int,
    keep_rows_up_to: int = 0,
) -> bool:
    """The same as :func:`_except_all` for large datasets: the multisets of a 64-bit
    hash of each row's compared values (a count per hash) are compared, which
    needs a hash table of 16 bytes per row rather than two sorted copies of the
    rows; rows are shown for the hashes whose counts differ. Two different
    multisets compare equal only if a missing row and an unexpected one have
    the same 64-bit hash.

    With ``keep_rows_up_to``, when neither side has more rows the other lacks
    than that, those rows are kept in the temporary tables ``only_expected``
    and ``only_actual`` instead of being reported (see :func:`_keep_rows`);
    returns whether they were."""
    row_hash = f"hash({', '.join(names)})"
    counts = {
        side: f"SELECT {row_hash} AS h, count(*) AS n FROM ({select}) GROUP BY ALL"
        for side, select in selects.items()
    }
    con.execute(
        "CREATE OR REPLACE TEMP TABLE differing AS SELECT h, coalesce(e.n, 0) AS expected_n, "
        f"coalesce(a.n, 0) AS actual_n FROM ({counts['expected']}) e "
        f"FULL OUTER JOIN ({counts['actual']}) a USING (h) "
        "WHERE coalesce(e.n, 0) <> coalesce(a.n, 0)"
    )
    try:
        missing, unexpected = con.execute(
            "SELECT coalesce(sum(greatest(expected_n - actual_n, 0)), 0), "
            "coalesce(sum(greatest(actual_n - expected_n, 0)), 0) FROM differing"
        ).fetchone()
        if (missing or unexpected) and max(missing, unexpected) <= keep_rows_up_to:
            for table, side, more in (
                ("only_expected", "expected", "d.expected_n - d.actual_n"),
                ("only_actual", "actual", "d.actual_n - d.expected_n"),
            ):
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT r.* EXCLUDE (__h, __k) "
                    "FROM (SELECT *, row_number() OVER (PARTITION BY __h) AS __k FROM "
                    f"(SELECT *, {row_hash} AS __h FROM ({selects[side]})) "
                    f"WHERE __h IN (SELECT d.h FROM differing d WHERE {more} > 0)) r "
                    f"JOIN differing d ON r.__h = d.h WHERE r.__k <= {more}"
                )
            return True
        for label, count, side, more in (
            ("missing", missing, "expected", "expected_n > actual_n"),
            ("unexpected", unexpected, "actual", "actual_n > expected_n"),
        ):
            if count:
                shown = con.execute(
                    f"SELECT * FROM ({selects[side]}) WHERE {row_hash} IN "
                    f"(SELECT h FROM differing WHERE {more}) LIMIT {samples}"
                ).fetchall()
                check.problems.append(f"{int(count):,} {label} row(s), e.g. {shown}")
        return False
    finally:
        con.execute("DROP TABLE IF EXISTS differing")


def _sightings_deviation(
    con: Any,
    selects: Mapping[str, str],
    names: list[str],
    check: DatasetCheck,
    got_rows: int,
    samples: int,
    exact: bool,
    side: Literal["expected", "actual"],
) -> None:
    """Compare ``sightings`` with an expert's, accepting the known deviation
    (:data:`KNOWN_DEVIATION`) and nothing more.

    The multiset differences of the two sides (every compared column:
    ``duration_seconds`` is not) are kept in ``only_expected`` and
    ``only_actual``. They are the known deviation when every row that only the
    expert has holds a null ``sighted_at``, every row that only the other side
    has holds one that is not null, and the two differences are equal as
    multisets once ``sighted_at`` is left out: each such sighting of the
    expert is one of the other side's, equal in every other column, with the
    moment missing. That implies what the deviation allows and nothing else:
    the two sightings are equal on every column but ``sighted_at``; the
    expert's non-null ``sighted_at`` values are contained in the other's
    (``EXCEPT ALL`` empty); and the expert has as many more nulls as the
    other has extra values. Those values, with their state, go into the
    ``deviation`` table for :func:`_with_deviation`; ``check.tolerated`` is
    their number. Any other difference fails and is reported as
    :func:`_except_all` reports it, the rows that cannot belong to the
    deviation shown first, and how many of them would pair as it said."""
    try:
        if exact:
            kept = _keep_rows(con, selects, check, got_rows)
        else:
            kept = _hashed(con, selects, names, check, samples, keep_rows_up_to=PAIRED_UP_TO)
        if not kept:
            return
        expert, other = (
            ("only_expected", "only_actual")
            if side == "expected"
            else ("only_actual", "only_expected")
        )
        counts = {}
        for table in (expert, other):
            counts[table] = con.execute(
                f"SELECT count(*), count(sighted_at) FROM {table}"
            ).fetchone()
        (n_expert, valued_expert), (n_other, valued_other) = counts[expert], counts[other]
        paired = n_expert == n_other and valued_expert == 0 and valued_other == n_other
        if paired and n_other:
            unpaired = con.execute(
                f"SELECT count(*) FROM (SELECT * EXCLUDE (sighted_at) FROM {expert} "
                f"EXCEPT ALL SELECT * EXCLUDE (sighted_at) FROM {other})"
            ).fetchone()[0]
            paired = unpaired == 0
        if paired:
            con.execute(f"INSERT INTO deviation SELECT state, sighted_at FROM {other}")
            check.tolerated = int(n_other)
            return
        # Not the known deviation. The rows that cannot belong to it (a moment
        # only the expert has, a null only the other side has) are shown first.
        first = {expert: "sighted_at IS NULL", other: "sighted_at IS NOT NULL"}
        for label, table in (("missing", "only_expected"), ("unexpected", "only_actual")):
            count = counts[table][0]
            if count:
                shown = con.execute(
                    f"SELECT * FROM {table} ORDER BY {first[table]} LIMIT {samples}"
                ).fetchall()
                check.problems.append(f"{count:,} {label} row(s), e.g. {shown}")
        pairs = con.execute(
            f"SELECT count(*) FROM (SELECT * EXCLUDE (sighted_at) FROM {expert} "
            f"WHERE sighted_at IS NULL INTERSECT ALL SELECT * EXCLUDE (sighted_at) "
            f"FROM {other} WHERE sighted_at IS NOT NULL)"
        ).fetchone()[0]
        if pairs:
            check.problems.append(
                f"of these, {pairs:,} missing and {pairs:,} unexpected row(s) pair as the known "
                f"deviation, {known_deviation(pairs)}; the others do not"
            )
    finally:
        con.execute("DROP TABLE IF EXISTS only_expected")
        con.execute("DROP TABLE IF EXISTS only_actual")


def _keep_rows(con: Any, selects: Mapping[str, str], check: DatasetCheck, got_rows: int) -> bool:
    """The rows of each side that the other lacks, by ``EXCEPT ALL``, kept in
    ``only_expected`` and ``only_actual``; False when there is none."""
    e, a = selects["expected"], selects["actual"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE only_expected AS SELECT * FROM ({e} EXCEPT ALL {a})")
    missing = con.execute("SELECT count(*) FROM only_expected").fetchone()[0]
    if not missing and got_rows == check.rows:
        return False  # equal row counts: nothing missing means nothing unexpected
    con.execute(f"CREATE OR REPLACE TEMP TABLE only_actual AS SELECT * FROM ({a} EXCEPT ALL {e})")
    return True


def _with_deviation(con: Any, name: str, select: str, columns: list[str]) -> tuple[str, int]:
    """The expert's ``select`` of ``name`` with the ``sighted_at`` values it
    leaves null (the ``deviation`` table) counted in, and how many of its rows
    they change: each value adds one to the ``by_month`` count of its year and
    month (a row the expert lacks is added), and lowers ``first_sighted_at`` or
    raises ``last_sighted_at`` of its state in ``by_state`` where it is before
    the expert's first or after its last (or the expert's is null). The other
    columns, and every other dataset, are unchanged: ``sightings`` counts do not
    depend on ``sighted_at``. Compared strictly with the other side's rows, this
    allows in ``by_month`` only counts higher by exactly the deviation's (so
    never a lower one), and in ``by_state`` only a first or last moment that is
    one of the deviation's values in that state."""
    if not con.execute("SELECT count(*) FROM deviation").fetchone()[0]:
        return select, 0
    if name == "by_month" and sorted(columns) == ["month", "sightings", "year"]:
        added = (
            "SELECT year(sighted_at) AS y, month(sighted_at) AS m, count(*) AS n "
            "FROM deviation GROUP BY ALL"
        )
        changed = con.execute(f"SELECT count(*) FROM ({added})").fetchone()[0]
        adjusted = (
            "SELECT coalesce(e.year, d.y) AS year, coalesce(e.month, d.m) AS month, "
            "coalesce(e.sightings, 0) + coalesce(d.n, 0) AS sightings "
            f"FROM ({select}) e FULL OUTER JOIN ({added}) d ON e.year = d.y AND e.month = d.m"
        )
    elif name == "by_state" and {"state", "first_sighted_at", "last_sighted_at"} <= set(columns):
        moments = (
            "SELECT state, min(sighted_at) AS lo, max(sighted_at) AS hi "
            "FROM deviation GROUP BY state"
        )
        earlier = "d.lo IS NOT NULL AND (e.first_sighted_at IS NULL OR d.lo < e.first_sighted_at)"
        later = "d.hi IS NOT NULL AND (e.last_sighted_at IS NULL OR d.hi > e.last_sighted_at)"
        joined = (
            f"FROM ({select}) e LEFT JOIN ({moments}) d ON e.state IS NOT DISTINCT FROM d.state"
        )
        changed = con.execute(
            f"SELECT count(*) {joined} WHERE ({earlier}) OR ({later})"
        ).fetchone()[0]
        adjusted = (
            "SELECT e.* REPLACE ("
            f"CASE WHEN {earlier} THEN d.lo ELSE e.first_sighted_at END AS first_sighted_at, "
            f"CASE WHEN {later} THEN d.hi ELSE e.last_sighted_at END AS last_sighted_at) " + joined
        )
    else:
        return select, 0
    listed = ", ".join(_quote(c) for c in columns)
    return f"SELECT {listed} FROM ({adjusted})", int(changed)


def _reason_counts(con: Any, check: DatasetCheck) -> None:
    counts: dict[str, list[int]] = {}
    for index, table in enumerate(("expected_rows", "actual_rows")):
        for reason, n in con.execute(
            f"SELECT reason, count(*) FROM {table} GROUP BY reason"
        ).fetchall():
            counts.setdefault(str(reason), [0, 0])[index] = int(n)
    check.reasons = {reason: (w, g) for reason, (w, g) in sorted(counts.items())}
    differ = {r: c for r, c in check.reasons.items() if c[0] != c[1]}
    if differ:
        check.problems.append(
            "rejects by reason differ: "
            + ", ".join(f"{r} {w:,} expected, {g:,} got" for r, (w, g) in differ.items())
        )
