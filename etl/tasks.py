"""The pipeline's Luigi tasks, one per dataset, made from the registry.

:class:`ReadUFOs` reads the raw files and writes every dataset whose input is
the raw records (``sightings`` and ``rejects``), reconciled; every other
dataset of :data:`etl.datasets.DATASETS` gets a task of its own, named by its
entry (``Top10States``, ``AggregateUFOsByState``, ...), that reads the
dataset(s) it is made from and writes it. ::

    ReadUFOs ─┬─> AggregateUFOsByState ──> Top10States
              ├─> AggregateUFOsByShape ──> Top10Shapes
              ├─> AggregateUFOsByMonth
              ├─> AggregateUFOsByCountry
              └─> AggregateUFOsByYear

A task's identity is everything its output depends on: the run ``date``, the
``data_root`` it writes under, and the ``raw_path`` and ``raw_format`` its data
comes from (by default the ``[etl]`` settings). Two runs that differ in any of
them are different tasks to the scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from typing import Any, ClassVar

import luigi
import luigi.task

import transforms
from backends import ConfigurationError, DatasetLocation, ReconciliationError, WriteResult
from backends._rawfiles import check_format
from backends._reports import ReportLocation
from etl import metrics
from etl._parameters import DateParameter, SettingParameter
from etl._postgres import postgres_configured
from etl._session import check_settings, current_backend, s3_settings
from etl.config import etl
from etl.datasets import DATASETS, READ_TASK, Dataset
from etl.metrics import RunRecord, RunStats
from etl.targets import DatasetTarget
from transforms.schema import REJECT_REASONS

log = logging.getLogger(__name__)


def _data_root(value: str) -> str:
    """``data_root`` as every location spells it: an absolute local path or a URL."""
    return DatasetLocation(value, "sightings", dt.date(2000, 1, 1)).root


def _raw_path_template(value: str) -> str:
    """A local ``raw_path`` made absolute; one whose date fields cannot be filled
    refused."""
    raw_path_for(value, dt.date(2000, 1, 1))
    if value and "://" not in value:
        return os.path.abspath(os.path.expanduser(value))
    return value


def raw_path_for(template: str, date: dt.date) -> str:
    """``template`` with its date fields filled in for ``date``.

    ``raw_path`` may hold Python format fields of the run date, so that each
    run date reads its own files; ``{{`` and ``}}`` are literal braces.

    Raises
    ------
    ConfigurationError
        When a field is not ``{date}`` or ``{date:FORMAT}``.

    Examples
    --------
    >>> import datetime
    >>> raw_path_for("raw/{date:%Y/%m}/", datetime.date(2026, 1, 2))
    'raw/2026/01/'
    >>> raw_path_for("raw/{date}.tsv", datetime.date(2026, 1, 2))
    'raw/2026-01-02.tsv'
    """
    try:
        return template.format(date=date)
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        raise ConfigurationError(
            f"raw_path {template!r}: only the run date can be filled in, as {{date}} or "
            f"{{date:%Y-%m-%d}} (write {{{{ and }}}} for literal braces): "
            f"{type(e).__name__}: {e}"
        ) from e


class RunParameters(luigi.task.MixinNaiveBulkComplete, luigi.Task):
    """The parameters every task of a run shares: its identity.

    ``bulk_complete`` asks each date's ``complete()``: what ``RangeDaily`` and
    ``RangeMonthly`` use to find the dates still to run.
    """

    date = DateParameter(
        default=dt.date.today(),
        description="Run date: every output lives under date=YYYY-MM-DD.",
    )
    data_root = SettingParameter(
        etl,
        "data_root",
        check=_data_root,
        description="Root of the outputs; default: [etl] data_root.",
    )
    raw_path = SettingParameter(
        etl,
        "raw_path",
        check=_raw_path_template,
        description="Raw files, may hold {date:%Y-%m-%d} fields; default: [etl] raw_path.",
    )
    raw_format = SettingParameter(
        etl,
        "raw_format",
        check=check_format,
        description="tsv or csv; default: [etl] raw_format.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_settings(self.data_root)

    @property
    def raw_files(self) -> str:
        """``raw_path`` for this run date."""
        return raw_path_for(self.raw_path, self.date)

    @property
    def source(self) -> dict[str, str]:
        """What every output of the run is made from, recorded in its ``_SUCCESS``."""
        return {"raw_path": self.raw_files, "raw_format": self.raw_format}


class UFOTask(RunParameters):
    """A task that writes outputs for one run."""

    def location(self, name: str) -> DatasetLocation:
        """Where dataset ``name`` of this run lives."""
        return DatasetLocation(self.data_root, name, self.date, s3_settings())

    def dataset(self, name: str) -> DatasetTarget:
        """The target of dataset ``name`` for this run."""
        return DatasetTarget(self.location(name), self.source)

    def report_target(self, name: str) -> DatasetTarget:
        """The target of the report directory ``name`` for this run."""
        return DatasetTarget(
            ReportLocation(self.data_root, name, self.date, s3_settings()), self.source
        )

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
    """Raw report files -> ``sightings`` and ``rejects`` (every dataset of the raw
    records), reconciled: each raw record is written once, or nothing is."""

    def output(self) -> dict[str, DatasetTarget]:
        return {d.name: self.dataset(d.name) for d in DATASETS.produced_by(READ_TASK)}

    def run(self) -> None:
        backend = current_backend()
        self.stats.backend = backend.name
        raw_files = self.raw_files
        self.progress(0, f"inspecting {raw_files}")
        raw = backend.read_raw(raw_files, self.raw_format)
        self.stats.rows_read = raw.expected_records
        self.progress(10, f"cleaning {raw.expected_records} records of {len(raw.files)} file(s)")
        # The distinct records, computed once: sightings are cleaned from them,
        # and rejects look up the few that are headers or repeat.
        distinct = backend.materialize(transforms.distinct_records(raw.records))
        classified = transforms.classify(raw.records, distinct)
        outputs = self.output()

        def check(staged: dict[str, WriteResult]) -> None:
            # Before anything is committed: every raw record is written once.
            reconcile_written(
                raw.expected_records, staged["sightings"].rows, staged["rejects"].rows
            )

        with backend.watch_progress(lambda done, message: self.progress(10 + 80 * done, message)):
            written = backend.write_datasets(
                [
                    (d.transform(classified), outputs[d.name].location)
                    for d in DATASETS.produced_by(READ_TASK)
                ],
                check=check,
                summary={"source": self.source},
            )
        self.stats.writes.extend(written.values())
        rejects = backend.read_dataset(outputs["rejects"].location)
        by_reason = {
            row["reason"]: row["records"]
            for row in backend.to_rows(transforms.reason_counts(rejects))
        }
        self.stats.rejects_by_reason = {
            reason: by_reason.get(reason, 0) for reason in REJECT_REASONS
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


def reconcile_written(expected_records: int, sightings: int, rejects: int) -> None:
    """Raise unless the rows written are the raw records, each once."""
    if sightings + rejects != expected_records:
        raise ReconciliationError(
            f"raw records ({expected_records}) != sightings ({sightings}) + "
            f"rejects ({rejects}) written"
        )


class DatasetTask(UFOTask):
    """Writes one dataset of the registry from the datasets it is made from.

    The registry makes one subclass per dataset (:func:`_dataset_task`); this
    class is never run itself.
    """

    spec: ClassVar[Dataset]

    def requires(self) -> dict[str, UFOTask]:
        return {name: self.clone(task_for(name)) for name in self.spec.inputs}

    def output(self) -> DatasetTarget:
        return self.dataset(self.spec.name)

    def run(self) -> None:
        spec = self.spec
        backend = current_backend()
        self.stats.backend = backend.name
        locations = [self.location(name) for name in spec.inputs]
        self.stats.rows_read = sum(location.rows() or 0 for location in locations)
        self.progress(0, f"{', '.join(spec.inputs)} -> {spec.name}")
        with backend.watch_progress(lambda done, msg: self.progress(100 * done, msg)):
            tables = [backend.read_dataset(location) for location in locations]
            result = backend.write_dataset(
                spec.transform(*tables), self.location(spec.name), {"source": self.source}
            )
        self.stats.writes.append(result)
        self.progress(100, f"wrote {result.rows} rows")
        log.info("%s: %d rows", spec.name, result.rows)


def _dataset_task(spec: Dataset) -> type[DatasetTask]:
    inputs = ", ".join(f"``{name}``" for name in spec.inputs)
    doc = f"{inputs} -> ``{spec.name}``: {spec.description}"
    task = type(spec.task, (DatasetTask,), {"__module__": __name__, "__doc__": doc, "spec": spec})
    return task


TASKS: dict[str, type[UFOTask]] = {READ_TASK: ReadUFOs} | {
    spec.task: _dataset_task(spec) for spec in DATASETS.values() if not spec.from_raw
}
"""Every task family of the registry's datasets, in pipeline order."""

# Module attributes, as classes written out would be: pickling and
# ``python -m luigi --module etl Top10States`` find them by name.
globals().update(TASKS)

DATASET_TASKS: dict[str, type[UFOTask]] = {d.name: TASKS[d.task] for d in DATASETS.values()}
"""Which task writes each dataset."""


def task_for(dataset: str) -> type[UFOTask]:
    """The task class that writes ``dataset``.

    Raises
    ------
    KeyError
        For a dataset the registry does not declare.
    """
    return DATASET_TASKS[dataset]


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
        metrics.write_record(record, task.data_root, s3_settings())
        if postgres_configured():
            metrics.record_in_postgres(record)
    except Exception as e:
        log.warning(
            "could not record the run metrics of %s: %s: %s", task.task_id, type(e).__name__, e
        )
        log.debug("the traceback of the run metrics' failure", exc_info=True)
