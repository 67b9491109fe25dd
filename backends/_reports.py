"""Atomic report directories: ``<data_root>/ufo/report/date=YYYY-MM-DD/``.

A report is a flat directory of files (an ``index.html`` and the images it
shows) published by the same rules as a dataset (:func:`backends._storage.commit`):
the files are uploaded into a fresh directory under ``ufo/_staging/``, moved
(local) or copied (S3) into place, and ``_SUCCESS`` is written last. A report is
complete only when its ``_SUCCESS`` exists; a render or an upload that fails or
is killed never leaves a complete-looking report.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from typing import Final

import pyarrow.fs as pafs

from backends._storage import SUCCESS, DatasetLocation, commit, filesystem, remove_staging
from backends.errors import DatasetError

log = logging.getLogger(__name__)

REPORT: Final = "report"
"""The name of the pipeline's report (``ufo/report/``)."""
REPORT_INDEX: Final = "index.html"


@dataclass(frozen=True)
class ReportLocation(DatasetLocation):
    """Where one report of one run date lives: ``<data_root>/ufo/<name>/date=YYYY-MM-DD``.

    It stages and commits like a dataset; only the directory differs.

    Examples
    --------
    >>> import datetime
    >>> loc = ReportLocation("/data", REPORT, datetime.date(2024, 5, 1))
    >>> loc.uri
    '/data/ufo/report/date=2024-05-01'
    >>> loc.index_uri
    '/data/ufo/report/date=2024-05-01/index.html'
    """

    @property
    def uri(self) -> str:
        """The report directory."""
        return f"{self.root}/ufo/{self.dataset}/date={self.date.isoformat()}"

    @property
    def index_uri(self) -> str:
        return f"{self.uri}/{REPORT_INDEX}"

    def data_files(self) -> list[str]:
        """The files of a complete report (``_SUCCESS`` excluded), sorted.

        Raises
        ------
        DatasetError
            When the report is not complete.
        """
        if not self.exists():
            raise DatasetError(
                f"report {self.dataset} for {self.date} is not complete: no {SUCCESS} in {self.uri}"
            )
        fs, path = filesystem(self.uri, self.s3)
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
        files = sorted(i.path for i in infos if i.is_file and i.base_name != SUCCESS)
        prefix = self.uri[: len(self.uri) - len(path)] if "://" in self.uri else ""
        return [prefix + f for f in files]


def publish_report(local_dir: str, location: ReportLocation, summary: dict[str, object]) -> None:
    """Publish the files of ``local_dir`` as the report at ``location``, atomically.

    Parameters
    ----------
    local_dir
        A local directory holding the report's files, ``index.html`` among them;
        no subdirectories.
    location
        The report to replace (local or ``s3://``).
    summary
        What ``_SUCCESS`` records (as JSON).

    Raises
    ------
    DatasetError
        When ``local_dir`` holds a subdirectory or no ``index.html``.
    """
    entries = sorted(os.scandir(local_dir), key=lambda e: e.name)
    if any(not e.is_file(follow_symlinks=False) for e in entries):
        raise DatasetError(f"a report is a flat directory of files: {local_dir}")
    if REPORT_INDEX not in {e.name for e in entries}:
        raise DatasetError(f"no {REPORT_INDEX} in {local_dir}")
    staging = location.new_staging_uri()
    fs, staging_path = filesystem(staging, location.s3)
    try:
        fs.create_dir(staging_path, recursive=True)
        for entry in entries:
            with (
                open(entry.path, "rb") as src,
                fs.open_output_stream(f"{staging_path}/{entry.name}") as out,
            ):
                shutil.copyfileobj(src, out, 1 << 20)
        commit(staging, location, summary, required_suffix=".html")
    finally:
        remove_staging(staging, location)
