"""ufo-etl's Luigi tasks: ``python -m luigi --module etl UFOPipeline``.

Every dataset's task is made from the registry (:mod:`etl.datasets`) and is an
attribute of :mod:`etl.tasks` (``etl.tasks.Top10States``); ``task_for(name)``
gives the task of a dataset. ``RangeDaily`` and ``RangeMonthly`` (from
``luigi.tools.range``) run or backfill a range of dates.
"""

import luigi.tools.range  # noqa: F401 - registers RangeDaily, RangeMonthly for --module etl

from backends.errors import (
    BackendUnavailableError,
    ConfigurationError,
    DatasetError,
    RawInputError,
    ReconciliationError,
    UfoEtlError,
)
from etl import _logging
from etl.config import duckdb, etl, postgres, s3, spark
from etl.datasets import DATASETS, Dataset
from etl.load import DatabaseError, TopStatesToDatabase
from etl.pipeline import UFODatasets, UFOPipeline
from etl.report import UFOReport
from etl.tasks import DATASET_TASKS, TASKS, ReadUFOs, task_for

_logging.install()

# Every dataset task as an attribute of the package too: etl.Top10States.
globals().update(TASKS)

__all__ = [
    "DATASETS",
    "DATASET_TASKS",
    "TASKS",
    "BackendUnavailableError",
    "ConfigurationError",
    "DatabaseError",
    "Dataset",
    "DatasetError",
    "RawInputError",
    "ReadUFOs",
    "ReconciliationError",
    "TopStatesToDatabase",
    "UFODatasets",
    "UFOPipeline",
    "UFOReport",
    "UfoEtlError",
    "duckdb",
    "etl",
    "postgres",
    "s3",
    "spark",
    "task_for",
    *TASKS,
]
