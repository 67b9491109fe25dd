"""The runs users start: :class:`UFODatasets` (every dataset) and
:class:`UFOPipeline` (every dataset, the report and the PostgreSQL load).

::

    python -m luigi --module etl UFOPipeline --local-scheduler
    python -m luigi --module etl UFODatasets --local-scheduler
    python -m luigi --module etl RangeDaily --of UFOPipeline \\
        --start 2026-01-01 --stop 2026-01-03 --local-scheduler
"""

from __future__ import annotations

from typing import Any

import luigi

from etl._postgres import postgres_configured
from etl.datasets import DATASETS
from etl.load import TopStatesToDatabase
from etl.report import UFOReport
from etl.tasks import RunParameters, task_for


class UFODatasets(RunParameters, luigi.WrapperTask):
    """Every dataset of the registry for the run, without the report or the load:
    for users who want the data only (and for the benchmarks)."""

    def requires(self) -> list[Any]:
        # The datasets nothing else reads; through them, every other one.
        return [self.clone(task_for(d.name)) for d in DATASETS.leaves]


class UFOPipeline(UFODatasets):
    """Every dataset of the run, its report, and the load of ``top10_states``
    into PostgreSQL when ``[postgres] host`` or ``PGHOST`` is set."""

    def requires(self) -> list[Any]:
        tasks: list[Any] = [*super().requires(), self.clone(UFOReport)]
        if postgres_configured():
            tasks.append(self.clone(TopStatesToDatabase))
        return tasks
