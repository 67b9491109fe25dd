"""Settings, as Luigi ``Config`` classes: sections ``[etl]``, ``[duckdb]``, ``[spark]``,
``[postgres]`` and ``[s3]`` of ``luigi.cfg``, and flags such as ``--etl-backend``.

The class names are the section names. Importing this module never imports an
engine, so every flag exists whichever backend runs.
"""

from __future__ import annotations

from typing import Any

import luigi

from backends import BACKENDS
from backends._rawfiles import RAW_FORMATS
from etl._parameters import ChoiceParameter, DictParameter, IntParameter


class etl(luigi.Config):  # noqa: N801 - the class name is the luigi.cfg section
    """Where the pipeline reads, where it writes, and which engine runs it."""

    backend = ChoiceParameter(
        choices=BACKENDS,
        default="duckdb",
        description="Engine that runs the transforms: duckdb (embedded) or spark.",
    )
    raw_path = luigi.Parameter(
        default="data/raw/ufo_sample.tsv",
        description="Raw report files: a file, a directory (its *.tsv or *.csv files) or a glob.",
    )
    raw_format = ChoiceParameter(
        choices=RAW_FORMATS,
        default="tsv",
        description="tsv: one record per line, TAB-separated, quotes literal; csv: RFC 4180.",
    )
    data_root = luigi.Parameter(
        default="data",
        description="Root of the outputs: datasets go to "
        "<data_root>/ufo/etl/<dataset>/date=<date>/.",
    )


class duckdb(luigi.Config):  # noqa: N801
    """DuckDB resources (``backend = duckdb``)."""

    threads = IntParameter(default=0, description="Worker threads; 0 uses every core.")
    memory_limit = luigi.Parameter(
        default="",
        description="Memory cap such as 2GB, beyond which DuckDB spills; empty: DuckDB's default.",
    )
    temp_directory = luigi.Parameter(
        default="", description="Where DuckDB spills; empty: DuckDB's default."
    )


class spark(luigi.Config):  # noqa: N801
    """The Spark deployment (``backend = spark``); engine settings live in
    ``docker/spark/spark-defaults.conf``."""

    master = luigi.Parameter(
        default="",
        description="Spark master URL: local[N] or spark://host:7077; empty: local[*], "
        "unless remote is set (the two are exclusive).",
    )
    remote = luigi.Parameter(
        default="",
        description="Spark Connect server, sc://host:15002: the worker is a thin client "
        "and needs no Java; exclusive with master.",
    )
    app_name = luigi.Parameter(default="ufo-etl", description="Spark application name.")
    conf: Any = DictParameter(
        default={},
        description='Extra Spark settings as JSON, e.g. {"spark.executor.memory": "2g"}.',
    )


class postgres(luigi.Config):  # noqa: N801
    """PostgreSQL for the load of top10_states; empty values fall back to PG* variables."""

    host = luigi.Parameter(default="", description="Server host (PGHOST).")
    port = IntParameter(default=0, description="Server port (PGPORT); 0 for 5432.")
    database = luigi.Parameter(default="", description="Database name (PGDATABASE).")
    user = luigi.Parameter(default="", description="User (PGUSER).")
    password = luigi.Parameter(
        default="",
        description="Password (PGPASSWORD). Never commit it: use the environment.",
        significant=False,
    )
    marker_table = luigi.Parameter(
        default="table_updates",
        description=(
            "Luigi's marker table of the loads (marker-table, as luigi.contrib.postgres "
            "spells it): one row per load, update_id = the load's task id."
        ),
    )


class s3(luigi.Config):  # noqa: N801
    """S3 endpoint and credentials; empty values fall back to AWS_* variables."""

    endpoint_url = luigi.Parameter(
        default="", description="S3 endpoint, e.g. http://127.0.0.1:8333."
    )
    region_name = luigi.Parameter(default="", description="Region (AWS_REGION).")
    aws_access_key_id = luigi.Parameter(
        default="", description="Access key (AWS_ACCESS_KEY_ID).", significant=False
    )
    aws_secret_access_key = luigi.Parameter(
        default="", description="Secret key (AWS_SECRET_ACCESS_KEY).", significant=False
    )
