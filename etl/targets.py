"""Luigi targets for the pipeline's Parquet datasets."""

from __future__ import annotations

import luigi

from backends import DatasetLocation


class DatasetTarget(luigi.Target):
    """A Parquet dataset directory, complete only when its ``_SUCCESS`` exists."""

    def __init__(self, location: DatasetLocation) -> None:
        self.location = location

    @property
    def path(self) -> str:
        return self.location.uri

    def exists(self) -> bool:
        return self.location.exists()

    def __repr__(self) -> str:
        return f"DatasetTarget({self.location.uri!r})"
