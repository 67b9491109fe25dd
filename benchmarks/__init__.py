"""Benchmarks: ufo-etl (Ibis + Luigi) against hand-written DuckDB SQL, PySpark and pandas.

``python -m benchmarks.run`` generates raw TSV files with the project's
generator, runs every variant as its own measured subprocess, checks that they
all produce the same seven datasets, and writes the table to
``docs/benchmarks.md``. See that page for what is measured and how.

The hand-written baselines (``baseline_duckdb_sql``, ``baseline_pyspark``,
``baseline_pandas``) import nothing from ``transforms``, ``backends`` or ``etl``:
they implement ``docs/contract.md`` on their own, so the correctness check
compares independent implementations.
"""
