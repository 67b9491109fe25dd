"""Luigi targets for the pipeline's directories: datasets and the report."""

from __future__ import annotations

from collections.abc import Mapping

import luigi

from backends import DatasetLocation


class DatasetTarget(luigi.Target):
    """A dataset (or report) directory, complete only when its ``_SUCCESS`` exists
    and records the same ``source`` as the task that wants it.

    Parameters
    ----------
    location
        The directory, a :class:`~backends.DatasetLocation` (a report's is a
        subclass).
    source
        What the output was made from (the raw files and their format); written
        into ``_SUCCESS`` by the commit. A directory committed from another
        source is not this target: the task runs again and replaces it, so a
        changed ``raw_path`` never leaves stale outputs looking complete.
    """

    def __init__(self, location: DatasetLocation, source: Mapping[str, str]) -> None:
        self.location = location
        self.source = dict(source)

    @property
    def path(self) -> str:
        return self.location.uri

    def exists(self) -> bool:
        summary = self.location.summary()
        return summary is not None and summary.get("source") == self.source

    def __repr__(self) -> str:
        return f"DatasetTarget({self.location.uri!r})"
