"""The dataset registry: every declaration is consistent, and everything that
derives from it does."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
import reference
from conftest import ROOT

import etl
import transforms
from etl.datasets import (
    DATASETS,
    RAW_RECORDS,
    READ_TASK,
    Dataset,
    Registry,
    expression,
    input_tables,
    with_dataset_table,
)


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_transform_makes_the_declared_columns(name: str) -> None:
    spec = DATASETS[name]
    assert expression(spec, input_tables(spec)).schema() == spec.schema


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_column_follows_the_contract_type_rules(name: str) -> None:
    for field in DATASETS[name].schema.to_pyarrow():
        if field.name in ("year", "month"):
            assert field.type == pa.int32(), field
        elif field.name in ("sightings", "rank"):
            assert field.type == pa.int64(), field
        elif pa.types.is_timestamp(field.type):
            assert field.type == pa.timestamp("us"), field  # no time zone
        elif field.name == "posted" and name == "sightings":
            assert field.type == pa.date32(), field  # rejects keep the raw text
        elif field.name != "duration_seconds":
            assert field.type == pa.string(), field


@pytest.mark.parametrize("name", [d.name for d in DATASETS.values() if not d.from_raw])
def test_every_derived_dataset_has_an_oracle_and_a_task(name: str) -> None:
    assert callable(reference.oracle(name))
    task = etl.task_for(name)
    assert task.get_task_family() == DATASETS[name].task
    assert getattr(etl, DATASETS[name].task) is task
    assert task().output().location.dataset == name


def test_the_reading_task_writes_the_raw_datasets() -> None:
    assert {d.name for d in DATASETS.produced_by(READ_TASK)} == {"sightings", "rejects"}
    assert set(etl.ReadUFOs().output()) == {"sightings", "rejects"}


def test_the_wrappers_reach_every_dataset() -> None:
    def closure(task: object) -> set[str]:
        seen: set[str] = set()
        stack = [task]
        while stack:
            current = stack.pop()
            seen.add(current.get_task_family())  # type: ignore[attr-defined]
            stack.extend(luigi_requires(current))
        return seen

    assert closure(etl.UFODatasets()) >= set(DATASETS.tasks)
    assert "UFOReport" not in closure(etl.UFODatasets())
    assert closure(etl.UFOPipeline()) >= {*DATASETS.tasks, "UFOReport"}


def luigi_requires(task: object) -> list[object]:
    import luigi.task

    return list(luigi.task.flatten(task.requires()))  # type: ignore[attr-defined]


def test_the_contract_doc_shows_the_registry() -> None:
    doc = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert with_dataset_table(doc) == doc, (
        "docs/contract.md's dataset table is stale: run "
        "`python -m etl.datasets --update docs/contract.md`"
    )


def _entry(name: str, inputs: tuple[str, ...], task: str) -> Dataset:
    return Dataset(name, inputs, transforms.by_shape, ibis.schema({"x": "int64"}), "-", task)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [_entry("a", (RAW_RECORDS,), READ_TASK), _entry("a", (RAW_RECORDS,), READ_TASK)],
            "declared twice",
        ),
        ([_entry("b", ("nowhere",), "B")], "input 'nowhere' is not declared before it"),
        (
            [_entry("a", (RAW_RECORDS,), READ_TASK), _entry("b", ("a",), READ_TASK)],
            "only they",
        ),
        (
            [
                _entry("a", (RAW_RECORDS,), READ_TASK),
                _entry("b", ("a",), "T"),
                _entry("c", ("a",), "T"),
            ],
            "share a task",
        ),
    ],
)
def test_a_bad_registry_is_refused(entries: list[Dataset], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Registry(tuple(entries))


def test_etl_modules_import_one_way() -> None:
    """No import cycle between the modules of ``etl/``, function-level imports
    included: each module only imports modules below it."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in (ROOT / "etl").glob("*.py"):
        module = "etl" if path.stem == "__init__" else f"etl.{path.stem}"
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("etl"):
                names = [f"etl.{a.name}" for a in node.names] if node.module == "etl" else []
                imported.update(names or [node.module])
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("etl."))
        graph[module] = {name for name in imported if name in graph or name.startswith("etl.")}

    def visit(module: str, path: tuple[str, ...]) -> None:
        for target in sorted(graph.get(module, ())):
            assert target not in path, " -> ".join((*path, target))
            visit(target, (*path, target))

    for module in sorted(graph):
        if module != "etl":
            visit(module, (module,))
