"""The UFO pipeline as Luigi tasks, one per dataset.

::

    ReadUFOs ──> AggregateUFOsByState ──> Top10States ──┬─> TopStatesToDatabase ─┐
             │                                          │   (with [postgres])    │
             ├─> AggregateUFOsByShape ──> Top10Shapes ──┤                        ├─> UFOPipeline
             └─> AggregateUFOsByMonth ──────────────────┴─> UFOReport ───────────┘

Each task wires its inputs to one transform and one target; the logic lives in
``transforms`` and the engine in ``backends``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import ibis.expr.types as ir
import luigi

import transforms
from backends import DatasetLocation, ReconciliationError, WriteResult
from etl import metrics
from etl._parameters import DateParameter
from etl._session import check_settings, current_backend, s3_settings
from etl.config import etl
from etl.metrics import RunRecord, RunStats
from etl.targets import DatasetTarget

log = logging.getLogger(__name__)


class UFOTask(luigi.Task):
    """A task that writes datasets for one run date."""

    date = DateParameter(
        default=dt.date.today(),
        description="Run date: every output lives under date=YYYY-MM-DD.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_settings()

    def dataset(self, name: str) -> DatasetTarget:
        """The target of dataset ``name`` for this run date."""
        return DatasetTarget(DatasetLocation(etl().data_root, name, self.date, s3_settings()))

    @property
    def stats(self) -> RunStats:
        """What the current run measured, recorded in the run metrics when it ends.

        Luigi reuses task instances with equal parameters, so every run starts
        afresh (see ``_run_started``).
        """
        if not hasattr(self, "_stats"):
            self.reset_stats()
        return self._stats

    def reset_stats(self) -> None:
        self._stats = RunStats()

    def progress(self, percent: float, message: str) -> None:
        """Tell the scheduler (and so the luigid UI) how far this task is."""
        # Luigi's worker installs these callbacks; outside a worker they are None.
        set_percentage: Callable[[int], None] | None = self.set_progress_percentage
        set_message: Callable[[str], None] | None = self.set_status_message
        if set_percentage is not None and set_message is not None:
            set_percentage(round(percent))
            set_message(message)


class ReadUFOs(UFOTask):
    """Raw report files -> ``sightings`` and ``rejects``, reconciled."""

    def output(self) -> dict[str, DatasetTarget]:
        return {"sightings": self.dataset("sightings"), "rejects": self.dataset("rejects")}

    def run(self) -> None:
        settings = etl()
        backend = current_backend()
        self.stats.backend = backend.name
        self.progress(0, f"inspecting {settings.raw_path}")
        raw = backend.read_raw(settings.raw_path, settings.raw_format)
        self.stats.rows_read = raw.expected_records
        self.progress(10, f"cleaning {raw.expected_records} records of {len(raw.files)} file(s)")
        # Small (the records that may be duplicates), read by both outputs: once.
        repeated = backend.materialize(transforms.repeated_records(raw.records))
        classified = transforms.classify(raw.records, repeated)
        outputs = self.output()

        def check(staged: dict[str, WriteResult]) -> None:
            # Before anything is committed: every raw record is written once.
            reconcile_written(
                raw.expected_records, staged["sightings"].rows, staged["rejects"].rows
            )

        with backend.watch_progress(lambda done, message: self.progress(10 + 80 * done, message)):
            written = backend.write_datasets(
                [
                    (transforms.sightings(classified), outputs["sightings"].location),
                    (transforms.rejects(classified), outputs["rejects"].location),
                ],
                check=check,
            )
        self.stats.writes.extend(written.values())
        rejects = backend.read_dataset(outputs["rejects"].location)
        by_reason = {
            row["reason"]: row["records"]
            for row in backend.to_rows(transforms.reason_counts(rejects))
        }
        self.stats.rejects_by_reason = {
            reason: by_reason.get(reason, 0) for reason in transforms.REJECT_REASONS
        }
        self.progress(
            100, f"wrote {written['sightings'].rows} sightings, {written['rejects'].rows} rejects"
        )
        log.info(
            "raw records %d (%d file(s), %d empty line(s) skipped): sightings %d, rejects %s",
            raw.expected_records,
            len(raw.files),
            raw.empty_lines,
            written["sightings"].rows,
            self.stats.rejects_by_reason,
        )


_started_at: dict[str, dt.datetime] = {}
"""Start time of each running task, by task id (Luigi tasks accept no new fields)."""


@UFOTask.event_handler(luigi.Event.START)
def _run_started(task: UFOTask) -> None:
    _started_at[task.task_id] = dt.datetime.now(dt.UTC)
    task.reset_stats()


@UFOTask.event_handler(luigi.Event.SUCCESS)
def _run_succeeded(task: UFOTask) -> None:
    _record_run(task, "DONE", None)


@UFOTask.event_handler(luigi.Event.FAILURE)
def _run_failed(task: UFOTask, error: BaseException) -> None:
    _record_run(task, "FAILED", error)


def _record_run(task: UFOTask, status: str, error: BaseException | None) -> None:
    """Write the run record of ``task``; a failure here never fails the task."""
    started_at = _started_at.pop(task.task_id, None) or dt.datetime.now(dt.UTC)
    record = RunRecord.of(task, status, started_at, task.stats, error)
    try:
        metrics.write_record(record, etl().data_root, s3_settings())
        from etl.load import postgres_configured

        if postgres_configured():
            metrics.record_in_postgres(record)
    except Exception as e:
        log.warning(
            "could not record the run metrics of %s: %s: %s", task.task_id, type(e).__name__, e
        )
        log.debug("the traceback of the run metrics' failure", exc_info=True)


def reconcile_written(expected_records: int, sightings: int, rejects: int) -> None:
    """Raise unless the rows written are the raw records, each once."""
    if sightings + rejects != expected_records:
        raise ReconciliationError(
            f"raw records ({expected_records}) != sightings ({sightings}) + "
            f"rejects ({rejects}) written"
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
        self.stats.backend = backend.name
        location = self.dataset(self.input_name).location
        self.stats.rows_read = location.rows()
        self.progress(0, f"{self.input_name} -> {self.output_name}")
        with backend.watch_progress(lambda done, msg: self.progress(100 * done, msg)):
            source = backend.read_dataset(location)
            result = backend.write_dataset(type(self).transform(source), self.output().location)
        self.stats.writes.append(result)
        self.progress(100, f"wrote {result.rows} rows")
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
    """Every dataset of the run date, its report, and the load of ``top10_states``
    into PostgreSQL when ``[postgres] host`` or ``PGHOST`` is set."""

    date = DateParameter(default=dt.date.today(), description="Run date.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_settings()

    def requires(self) -> list[Any]:
        tasks: list[Any] = [
            Top10States(date=self.date),
            Top10Shapes(date=self.date),
            AggregateUFOsByMonth(date=self.date),
        ]
        # Imported here: etl.load and etl.report build on this module's tasks.
        from etl.load import TopStatesToDatabase, postgres_configured
        from etl.report import UFOReport

        tasks.append(UFOReport(date=self.date))
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
