"""The dataset registry: every dataset of the pipeline, declared once.

Each :class:`Dataset` names its inputs, the transform that makes it and the
columns it has. Everything else derives from :data:`DATASETS`: the Luigi task
of each dataset (:mod:`etl.tasks`), ``UFOPipeline`` and ``UFODatasets``, the
explore CLI, the report's tables, the run metrics, the dataset table of
``docs/contract.md`` (``python -m etl.datasets``) and the tests.

Adding a dataset is a transform in ``transforms/``, one entry here and its
oracle in ``tests/reference.py``.

Examples
--------
>>> from etl.datasets import DATASETS
>>> DATASETS["top10_states"].inputs
('by_state',)
>>> [d.name for d in DATASETS.produced_by("ReadUFOs")]
['sightings', 'rejects']
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

import transforms
from transforms.schema import RAW_FIELDS, RAW_RECORD_COLUMNS

RAW_RECORDS: Final = "raw_records"
"""The input of the datasets read from the raw files: the raw records, classified
by :func:`transforms.classify` (their distinct records computed once, for every
dataset of the reading task)."""

READ_TASK: Final = "ReadUFOs"
"""The task that reads the raw files and writes every dataset whose input is
:data:`RAW_RECORDS`, together and reconciled."""

_COUNT = dt.int64
_TEXT = dt.string


@dataclass(frozen=True)
class Dataset:
    """One dataset of the pipeline.

    Attributes
    ----------
    name
        The dataset's name: ``<data_root>/ufo/etl/<name>/date=YYYY-MM-DD/``.
    inputs
        The datasets the transform takes, in argument order, or
        (:data:`RAW_RECORDS`,) for a dataset read from the raw files.
    transform
        ``transform(*input_tables) -> table``: pure Ibis, from ``transforms``.
    schema
        The columns and types the dataset has, on every engine.
    description
        One line, for the docs and the CLI.
    task
        The Luigi task family that writes it (``python -m luigi --module etl TASK``).
    in_report
        True: the report prints the dataset as a table of its own.
    """

    name: str
    inputs: tuple[str, ...]
    transform: Callable[..., ir.Table]
    schema: ibis.Schema
    description: str
    task: str
    in_report: bool = False

    @property
    def from_raw(self) -> bool:
        """True for a dataset the reading task writes from the raw records."""
        return self.inputs == (RAW_RECORDS,)


class Registry(Mapping[str, Dataset]):
    """The datasets by name, in pipeline order (every input before its users).

    Raises
    ------
    ValueError
        When two datasets share a name, an input is unknown or comes later, or
        datasets of different inputs share a task.
    """

    def __init__(self, datasets: tuple[Dataset, ...]) -> None:
        self._datasets: dict[str, Dataset] = {}
        for dataset in datasets:
            if dataset.name in self._datasets or dataset.name == RAW_RECORDS:
                raise ValueError(f"dataset {dataset.name!r} is declared twice")
            for name in dataset.inputs:
                if name != RAW_RECORDS and name not in self._datasets:
                    raise ValueError(
                        f"dataset {dataset.name!r}: input {name!r} is not declared before it"
                    )
            if RAW_RECORDS in dataset.inputs and not dataset.from_raw:
                raise ValueError(f"dataset {dataset.name!r}: {RAW_RECORDS} is its only input")
            if dataset.from_raw != (dataset.task == READ_TASK):
                raise ValueError(
                    f"dataset {dataset.name!r}: the datasets of {RAW_RECORDS}, and only they, "
                    f"are written by {READ_TASK}"
                )
            shared = [d for d in self._datasets.values() if d.task == dataset.task]
            if shared and not dataset.from_raw:
                raise ValueError(f"datasets {shared[0].name!r} and {dataset.name!r} share a task")
            self._datasets[dataset.name] = dataset

    def __getitem__(self, name: str) -> Dataset:
        return self._datasets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._datasets)

    def __len__(self) -> int:
        return len(self._datasets)

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task family, in pipeline order, each once."""
        return tuple(dict.fromkeys(d.task for d in self.values()))

    def produced_by(self, task: str) -> tuple[Dataset, ...]:
        """The datasets ``task`` writes."""
        return tuple(d for d in self.values() if d.task == task)

    def users(self, name: str) -> tuple[Dataset, ...]:
        """The datasets that read ``name``."""
        return tuple(d for d in self.values() if name in d.inputs)

    @property
    def leaves(self) -> tuple[Dataset, ...]:
        """The datasets no other dataset reads: requiring their tasks runs them all."""
        return tuple(d for d in self.values() if not self.users(d.name))

    def markdown_table(self) -> str:
        """The dataset table of ``docs/contract.md``."""
        lines = ["| dataset | from | columns | description |", "|---|---|---|---|"]
        for d in self.values():
            columns = ", ".join(f"`{name}` {dtype}" for name, dtype in d.schema.items())
            source = ", ".join(f"`{name}`" for name in d.inputs)
            lines.append(f"| `{d.name}` | {source} | {columns} | {d.description} |")
        return "\n".join(lines)


def _schema(*columns: tuple[str, dt.DataType]) -> ibis.Schema:
    return ibis.schema(dict(columns))


DATASETS: Final = Registry(
    (
        Dataset(
            "sightings",
            (RAW_RECORDS,),
            transforms.sightings,
            _schema(
                ("sighted_at", dt.timestamp),
                ("city", _TEXT),
                ("state", _TEXT),
                ("country", _TEXT),
                ("shape", _TEXT),
                ("duration_seconds", dt.float64),
                ("summary", _TEXT),
                ("posted", dt.date),
            ),
            "One row per raw record that passed every rule, typed and cleaned.",
            READ_TASK,
        ),
        Dataset(
            "rejects",
            (RAW_RECORDS,),
            transforms.rejects,
            _schema(
                ("source_file", _TEXT),
                *((name, _TEXT) for name in RAW_FIELDS),
                ("raw_line", _TEXT),
                ("reason", _TEXT),
            ),
            "One row per rejected raw record, as read, with the reason.",
            READ_TASK,
        ),
        Dataset(
            "by_state",
            ("sightings",),
            transforms.by_state,
            _schema(
                ("state", _TEXT),
                ("country", _TEXT),
                ("sightings", _COUNT),
                ("first_sighted_at", dt.timestamp),
                ("last_sighted_at", dt.timestamp),
            ),
            "Sightings per state, null included, with the first and last sighting.",
            "AggregateUFOsByState",
        ),
        Dataset(
            "top10_states",
            ("by_state",),
            transforms.top10_states,
            _schema(("rank", _COUNT), ("state", _TEXT), ("sightings", _COUNT)),
            "The 10 states with the most sightings, ties by state.",
            "Top10States",
        ),
        Dataset(
            "by_shape",
            ("sightings",),
            transforms.by_shape,
            _schema(("shape", _TEXT), ("sightings", _COUNT)),
            "Sightings per shape, null included.",
            "AggregateUFOsByShape",
        ),
        Dataset(
            "top10_shapes",
            ("by_shape",),
            transforms.top10_shapes,
            _schema(("rank", _COUNT), ("shape", _TEXT), ("sightings", _COUNT)),
            "The 10 shapes with the most sightings, ties by shape.",
            "Top10Shapes",
        ),
        Dataset(
            "by_month",
            ("sightings",),
            transforms.by_month,
            _schema(("year", dt.int32), ("month", dt.int32), ("sightings", _COUNT)),
            "Sightings per calendar month, over known sighted_at.",
            "AggregateUFOsByMonth",
        ),
        Dataset(
            "by_country",
            ("sightings",),
            transforms.by_country,
            _schema(("country", _TEXT), ("sightings", _COUNT)),
            "Sightings per country (US, CA), null included.",
            "AggregateUFOsByCountry",
            in_report=True,
        ),
        Dataset(
            "by_year",
            ("sightings",),
            transforms.by_year,
            _schema(("year", dt.int32), ("sightings", _COUNT)),
            "Sightings per calendar year, over known sighted_at.",
            "AggregateUFOsByYear",
            in_report=True,
        ),
    )
)
"""Every dataset of the pipeline, in pipeline order."""


def input_tables(dataset: Dataset) -> list[ir.Table]:
    """Unbound tables of ``dataset``'s inputs, named after them, with their
    declared columns (the raw-records columns for :data:`RAW_RECORDS`)."""
    tables = []
    for name in dataset.inputs:
        if name == RAW_RECORDS:
            types = {c: _TEXT for c in RAW_RECORD_COLUMNS} | {"field_count": dt.int32}
            tables.append(ibis.table(ibis.schema(types), name=RAW_RECORDS))
        else:
            tables.append(ibis.table(DATASETS[name].schema, name=name))
    return tables


def expression(dataset: Dataset, tables: list[ir.Table]) -> ir.Table:
    """``dataset``'s transform over its input ``tables`` (raw records are
    classified first, as the reading task does)."""
    if dataset.from_raw:
        tables = [transforms.classify(tables[0])]
    return dataset.transform(*tables)


DOCS_BEGIN: Final = "<!-- datasets:begin -->"
DOCS_END: Final = "<!-- datasets:end -->"


def with_dataset_table(document: str) -> str:
    """``document`` with the text between :data:`DOCS_BEGIN` and :data:`DOCS_END`
    replaced by the registry's table.

    Raises
    ------
    ValueError
        When the markers are missing.
    """
    begin, end = document.find(DOCS_BEGIN), document.find(DOCS_END)
    if begin < 0 or end < begin:
        raise ValueError(f"no {DOCS_BEGIN} ... {DOCS_END} block")
    head = document[: begin + len(DOCS_BEGIN)]
    return f"{head}\n{DATASETS.markdown_table()}\n{document[end:]}"


def main(argv: list[str]) -> int:
    """``python -m etl.datasets``: print the dataset table; ``--update FILE``:
    rewrite the table inside FILE (``docs/contract.md``)."""
    if len(argv) == 2 and argv[0] == "--update":
        with open(argv[1], encoding="utf-8") as f:
            text = f.read()
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(with_dataset_table(text))
        return 0
    if argv:
        sys.stderr.write("usage: python -m etl.datasets [--update docs/contract.md]\n")
        return 2
    sys.stdout.write(DATASETS.markdown_table() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
