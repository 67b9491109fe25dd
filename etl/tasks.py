"""The UFO pipeline as Luigi tasks, one per dataset.

::

    ReadUFOs ──> AggregateUFOsByState ──> Top10States ──┐
             ├─> AggregateUFOsByShape ──> Top10Shapes ──┼─> UFOPipeline
             └─> AggregateUFOsByMonth ──────────────────┘

Each task wires its inputs to one transform and one target; the logic lives in
``transforms`` and the engine in ``backends``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, ClassVar

import ibis.expr.types as ir
import luigi

import transforms
from backends import DatasetLocation, ReconciliationError
from etl._session import current_backend, s3_settings
from etl.config import etl
from etl.targets import DatasetTarget

log = logging.getLogger(__name__)


class UFOTask(luigi.Task):
    """A task that writes datasets for one run date."""

    date = luigi.DateParameter(
        default=dt.date.today(),
        description="Run date: every output lives under date=YYYY-MM-DD.",
    )

    def dataset(self, name: str) -> DatasetTarget:
        """The target of dataset ``name`` for this run date."""
        return DatasetTarget(DatasetLocation(etl().data_root, name, self.date, s3_settings()))


class ReadUFOs(UFOTask):
    """Raw report files -> ``sightings`` and ``rejects``, reconciled."""

    def output(self) -> dict[str, DatasetTarget]:
        return {"sightings": self.dataset("sightings"), "rejects": self.dataset("rejects")}

    def run(self) -> None:
        settings = etl()
        backend = current_backend()
        raw = backend.read_raw(settings.raw_path, settings.raw_format)
        classified = backend.materialize(transforms.classify(raw.records))
        by_reason = {
            row["reason"]: row["records"]
            for row in backend.to_rows(transforms.reason_counts(classified))
        }
        reconcile(raw.expected_records, by_reason)
        log.info(
            "raw records %d (%d file(s), %d empty line(s) skipped): sightings %d, rejects %s",
            raw.expected_records,
            len(raw.files),
            raw.empty_lines,
            by_reason.get(None, 0),
            {reason: by_reason.get(reason, 0) for reason in transforms.REJECT_REASONS},
        )
        outputs = self.output()
        written = {
            name: backend.write_dataset(table, outputs[name].location).rows
            for name, table in (
                ("sightings", transforms.sightings(classified)),
                ("rejects", transforms.rejects(classified)),
            )
        }
        if written["sightings"] + written["rejects"] != raw.expected_records:
            raise ReconciliationError(
                f"wrote {written['sightings']} sightings + {written['rejects']} rejects "
                f"for {raw.expected_records} raw records"
            )


def reconcile(expected_records: int, records_by_reason: dict[str | None, int]) -> None:
    """Raise unless every raw record is a sighting or a reject, exactly once."""
    unknown = set(records_by_reason) - {None, *transforms.REJECT_REASONS}
    total = sum(records_by_reason.values())
    if unknown or total != expected_records:
        raise ReconciliationError(
            f"raw records ({expected_records}) != sightings + rejects ({total}): "
            f"{records_by_reason}"
        )


class _Derived(UFOTask):
    """A dataset computed from one other dataset by one transform."""

    output_name: ClassVar[str]
    input_name: ClassVar[str]
    upstream: ClassVar[type[UFOTask]]
    transform: ClassVar[staticmethod[[ir.Table], ir.Table]]

    def requires(self) -> UFOTask:
        return self.upstream(date=self.date)

    def output(self) -> DatasetTarget:
        return self.dataset(self.output_name)

    def run(self) -> None:
        backend = current_backend()
        source = backend.read_dataset(self.dataset(self.input_name).location)
        result = backend.write_dataset(type(self).transform(source), self.output().location)
        log.info("%s: %d rows", self.output_name, result.rows)


class AggregateUFOsByState(_Derived):
    """``sightings`` -> ``by_state``."""

    output_name, input_name, upstream = "by_state", "sightings", ReadUFOs
    transform = staticmethod(transforms.by_state)


class Top10States(_Derived):
    """``by_state`` -> ``top10_states``."""

    output_name, input_name, upstream = "top10_states", "by_state", AggregateUFOsByState
    transform = staticmethod(transforms.top10_states)


class AggregateUFOsByShape(_Derived):
    """``sightings`` -> ``by_shape``."""

    output_name, input_name, upstream = "by_shape", "sightings", ReadUFOs
    transform = staticmethod(transforms.by_shape)


class Top10Shapes(_Derived):
    """``by_shape`` -> ``top10_shapes``."""

    output_name, input_name, upstream = "top10_shapes", "by_shape", AggregateUFOsByShape
    transform = staticmethod(transforms.top10_shapes)


class AggregateUFOsByMonth(_Derived):
    """``sightings`` -> ``by_month``."""

    output_name, input_name, upstream = "by_month", "sightings", ReadUFOs
    transform = staticmethod(transforms.by_month)


class UFOPipeline(luigi.WrapperTask):
    """Every dataset of the run date, and the load of ``top10_states`` into
    PostgreSQL when ``[postgres] host`` or ``PGHOST`` is set."""

    date = luigi.DateParameter(default=dt.date.today(), description="Run date.")

    def requires(self) -> list[Any]:
        tasks: list[Any] = [
            Top10States(date=self.date),
            Top10Shapes(date=self.date),
            AggregateUFOsByMonth(date=self.date),
        ]
        # Imported here: etl.load builds on this module's tasks.
        from etl.load import TopStatesToDatabase, postgres_configured

        if postgres_configured():
            tasks.append(TopStatesToDatabase(date=self.date))
        return tasks


DATASET_TASKS: dict[str, type[UFOTask]] = {
    "sightings": ReadUFOs,
    "rejects": ReadUFOs,
    "by_state": AggregateUFOsByState,
    "top10_states": Top10States,
    "by_shape": AggregateUFOsByShape,
    "top10_shapes": Top10Shapes,
    "by_month": AggregateUFOsByMonth,
}
"""Which task writes each dataset."""
