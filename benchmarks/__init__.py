"""Benchmarks: ufo-etl (Ibis + Luigi) against expert hand-written DuckDB SQL, PySpark
and pandas.

``python -m benchmarks.run`` generates raw files with the project's generator,
runs every variant of each scenario as its own measured subprocess, checks that
they produce the same datasets, and writes the tables, with every ratio against
the experts and the issue's targets, to ``docs/benchmarks.md``. See that page
for what is measured and how.

The experts are the scripts of ``../shared/baselines/`` (run from there, never
copied here). The project's own hand-written baselines (``baseline_duckdb_sql``,
``baseline_pyspark``, ``baseline_pandas``) stay as optional variants; they import
nothing from ``transforms``, ``backends`` or ``etl``: they implement
``docs/contract.md`` on their own.
"""
