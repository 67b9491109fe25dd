# mypy: disallow-untyped-calls=False
# (Luigi's functions are untyped, as for the etl package.)
"""The Luigi task the ufo-etl variants run: ``UFOPipeline``'s seven datasets.

``UFOPipeline`` also renders the HTML report and, when PostgreSQL is
configured, loads ``top10_states``; the benchmark measures the datasets only,
so it runs the same three leaf tasks (and through them all seven) under this
wrapper, as a user would::

    python -m luigi --module benchmarks.pipeline UFODatasets --local-scheduler \\
        --etl-raw-path FILE --etl-data-root DIR [--etl-backend spark ...]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import luigi

import etl  # noqa: F401 - registers the [etl], [duckdb] and [spark] settings
from etl.tasks import AggregateUFOsByMonth, Top10Shapes, Top10States


class UFODatasets(luigi.WrapperTask):
    """Every dataset of the run date: what ``UFOPipeline`` requires, minus the
    report and the PostgreSQL load."""

    date = luigi.DateParameter(default=dt.date.today(), description="Run date.")

    def requires(self) -> list[Any]:
        return [
            Top10States(date=self.date),
            Top10Shapes(date=self.date),
            AggregateUFOsByMonth(date=self.date),
        ]
