"""ufo-etl's Luigi tasks: ``python -m luigi --module etl UFOPipeline``."""

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
from etl.load import DatabaseError, TopStatesToDatabase
from etl.report import UFOReport
from etl.tasks import (
    DATASET_TASKS,
    AggregateUFOsByMonth,
    AggregateUFOsByShape,
    AggregateUFOsByState,
    ReadUFOs,
    Top10Shapes,
    Top10States,
    UFOPipeline,
)

_logging.install()

__all__ = [
    "DATASET_TASKS",
    "AggregateUFOsByMonth",
    "AggregateUFOsByShape",
    "AggregateUFOsByState",
    "BackendUnavailableError",
    "ConfigurationError",
    "DatabaseError",
    "DatasetError",
    "RawInputError",
    "ReadUFOs",
    "ReconciliationError",
    "Top10Shapes",
    "Top10States",
    "TopStatesToDatabase",
    "UFOPipeline",
    "UFOReport",
    "UfoEtlError",
    "duckdb",
    "etl",
    "postgres",
    "s3",
    "spark",
]
