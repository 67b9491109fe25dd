# mypy: disallow-untyped-calls=False
# (Luigi's functions are untyped, as for the etl package.)
"""Luigi's own overhead, without data: ``python -m benchmarks.luigi_overhead``.

Prints one JSON object with medians over ``--repeat`` builds, in seconds:

``trivial_seven``
    ``luigi.build`` of seven trivial tasks wired like the pipeline
    (ReadUFOs -> three aggregates -> two top-10s, under a wrapper), each
    writing a small local file: scheduling and running seven tasks, nothing else.
``trivial_seven_complete``
    The same build again once every output exists (nothing to run).
``pipeline_complete``
    With ``--data-root``: ``luigi.build`` of ``etl.UFOPipeline`` (every dataset
    and the report) whose outputs already exist there for ``--date``: Luigi
    checks every ``_SUCCESS`` and runs nothing (no engine starts).

The harness (scenario ``pipeline``) also times ``python -m luigi --module etl
UFOPipeline`` on complete outputs as a whole process (interpreter start and
imports included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import luigi


class _Trivial(luigi.Task):
    """Writes its name to ``<root>/<name>``."""

    root = luigi.Parameter()
    upstream: ClassVar[tuple[str, ...]] = ()

    def requires(self) -> list[Any]:
        return [_TRIVIAL[name](root=self.root) for name in self.upstream]

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(os.path.join(str(self.root), type(self).__name__))

    def run(self) -> None:
        with self.output().open("w") as out:
            out.write(type(self).__name__)


class TrivialRead(_Trivial):
    pass


class TrivialByState(_Trivial):
    upstream = ("TrivialRead",)


class TrivialByShape(_Trivial):
    upstream = ("TrivialRead",)


class TrivialByMonth(_Trivial):
    upstream = ("TrivialRead",)


class TrivialTop10States(_Trivial):
    upstream = ("TrivialByState",)


class TrivialTop10Shapes(_Trivial):
    upstream = ("TrivialByShape",)


class TrivialPipeline(luigi.WrapperTask):
    root = luigi.Parameter()

    def requires(self) -> list[Any]:
        return [
            TrivialTop10States(root=self.root),
            TrivialTop10Shapes(root=self.root),
            TrivialByMonth(root=self.root),
        ]


_TRIVIAL: dict[str, type[_Trivial]] = {
    cls.__name__: cls
    for cls in (
        TrivialRead,
        TrivialByState,
        TrivialByShape,
        TrivialByMonth,
        TrivialTop10States,
        TrivialTop10Shapes,
    )
}


def _timed(build: Callable[[], bool]) -> float:
    started = time.perf_counter()
    if not build():
        raise RuntimeError("luigi.build failed")
    return time.perf_counter() - started


def _build(tasks: list[Any]) -> bool:
    return bool(luigi.build(tasks, local_scheduler=True, workers=1, log_level="WARNING"))


def measure(
    repeat: int, data_root: str | None, date: dt.date, raw_path: str | None = None
) -> dict[str, float]:
    """The medians described in the module docstring."""
    logging.getLogger("luigi-interface").setLevel(logging.WARNING)
    fresh, complete = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="ufo-bench-luigi-") as root:
            fresh.append(_timed(lambda: _build([TrivialPipeline(root=root)])))
            complete.append(_timed(lambda: _build([TrivialPipeline(root=root)])))
    result = {
        "trivial_seven": statistics.median(fresh),
        "trivial_seven_complete": statistics.median(complete),
    }
    if data_root:
        from etl import UFOPipeline, etl

        config = luigi.configuration.get_config()
        config.set("etl", "data_root", data_root)
        if raw_path:
            config.set("etl", "raw_path", raw_path)
        assert etl().data_root == data_root
        if not UFOPipeline(date=date).complete():
            raise RuntimeError(f"the pipeline's outputs under {data_root} are not complete")
        result["pipeline_complete"] = statistics.median(
            _timed(lambda: _build([UFOPipeline(date=date)])) for _ in range(repeat)
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-root", help="a data root where UFOPipeline is complete")
    parser.add_argument("--raw-path", default=None, help="the raw files the outputs came from")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.repeat, args.data_root, args.date, args.raw_path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
