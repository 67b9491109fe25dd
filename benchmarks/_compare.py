"""Check that two variants wrote the same seven datasets.

Each dataset is read back with pyarrow (every ``*.parquet`` file under its
directory). The column names and Arrow types must be equal, and so must the
rows as multisets: what sorting both sides and comparing them row by row would
tell, done here as ``EXCEPT ALL`` by DuckDB over the pyarrow datasets, which
needs no two sorted 10-million-row tables in memory. With equal row counts,
``expected EXCEPT ALL actual`` being empty proves the multisets equal; on a
difference both directions are shown. Values compare exactly (floats
included); nulls equal nulls.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads


@dataclass
class DatasetCheck:
    """The comparison of one dataset."""

    name: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.problems


def parquet_files(directory: str) -> list[str]:
    """Every ``*.parquet`` file below ``directory``, sorted."""
    found = []
    for parent, _, names in os.walk(directory):
        found += [os.path.join(parent, n) for n in names if n.endswith(".parquet")]
    return sorted(found)


def _read(directory: str) -> pads.Dataset:
    files = parquet_files(directory)
    if not files:
        raise FileNotFoundError(f"no Parquet file under {directory}")
    return pads.dataset(files, format="parquet")


def _types(schema: pa.Schema) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in schema}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare_datasets(
    expected: Mapping[str, str],
    actual: Mapping[str, str],
    *,
    memory_limit: str = "3GB",
    threads: int = 2,
    samples: int = 3,
) -> list[DatasetCheck]:
    """Compare each dataset of ``expected`` (name -> directory) with ``actual``'s."""
    checks = []
    with tempfile.TemporaryDirectory(prefix="ufo-bench-compare-") as spill:
        con = duckdb.connect(
            config={"threads": threads, "memory_limit": memory_limit, "temp_directory": spill}
        )
        try:
            for name, directory in expected.items():
                checks.append(_compare_one(con, name, directory, actual.get(name), samples))
        finally:
            con.close()
    return checks


def _compare_one(
    con: Any, name: str, expected_dir: str, actual_dir: str | None, samples: int
) -> DatasetCheck:
    check = DatasetCheck(name)
    if actual_dir is None:
        check.problems.append("not written")
        return check
    try:
        want, got = _read(expected_dir), _read(actual_dir)
    except (OSError, pa.ArrowInvalid) as e:
        check.problems.append(f"cannot read: {e}")
        return check
    want_types, got_types = _types(want.schema), _types(got.schema)
    if want_types != got_types:
        check.problems.append(
            "schema differs: expected "
            + ", ".join(f"{k} {v}" for k, v in want_types.items())
            + "; got "
            + ", ".join(f"{k} {v}" for k, v in got_types.items())
        )
        return check
    check.rows = want.count_rows()
    got_rows = got.count_rows()
    if got_rows != check.rows:
        check.problems.append(f"{got_rows} rows, expected {check.rows}")
    columns = ", ".join(_quote(c) for c in want_types)
    con.register("expected_rows", want)
    con.register("actual_rows", got)
    try:
        # With equal row counts, nothing missing means nothing unexpected either.
        directions = [("missing", "expected_rows", "actual_rows")]
        if got_rows != check.rows:
            directions.append(("unexpected", "actual_rows", "expected_rows"))
        for label, left, right in directions:
            diff = f"SELECT {columns} FROM {left} EXCEPT ALL SELECT {columns} FROM {right}"
            count = con.execute(f"SELECT count(*) FROM ({diff})").fetchone()[0]
            if count:
                shown = con.execute(f"{diff} LIMIT {samples}").fetchall()
                check.problems.append(f"{count} {label} row(s), e.g. {shown}")
                if label == "missing" and len(directions) == 1:
                    directions.append(("unexpected", "actual_rows", "expected_rows"))
    finally:
        con.unregister("expected_rows")
        con.unregister("actual_rows")
    return check
