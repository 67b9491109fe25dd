"""Atomic Parquet datasets on a filesystem: staging, commit, ``_SUCCESS``.

A dataset lives at ``<data_root>/ufo/etl/<dataset>/date=YYYY-MM-DD/`` and is
complete only when its ``_SUCCESS`` file exists. Engines write into
``<data_root>/ufo/_staging/``; :func:`commit` moves the finished files into
place and writes ``_SUCCESS`` last, so a crash at any moment leaves either the
previous complete dataset, or a directory without ``_SUCCESS``, never a
complete-looking one; and a reader globbing ``ufo/etl/**`` never sees a file
being written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from backends._s3 import S3Settings, check_no_dot_segments, is_s3, s3_key
from backends.errors import ConfigurationError, DatasetError

log = logging.getLogger(__name__)

SUCCESS: Final = "_SUCCESS"
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_SUPPORTED_URLS = ("s3://", "s3a://", "file://")
_DATASET_NAME = re.compile(r"^_?[a-z][a-z0-9_]*$")
# Files engines leave beside their data that are not part of a dataset.
_ENGINE_LITTER = re.compile(r"(^_SUCCESS$|^\..*\.crc$|^_committed_|^_started_)")


def filesystem(uri: str, s3: S3Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` (a local path or an ``s3://`` URL) and the
    path within it."""
    if is_s3(uri):
        return (s3 or S3Settings()).resolved().filesystem(), s3_key(uri)
    if "://" in uri:
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, str(path)
    return pafs.LocalFileSystem(), os.path.abspath(uri)


@dataclass(frozen=True)
class DatasetLocation:
    """Where one dataset of one run date lives.

    Examples
    --------
    >>> import datetime
    >>> loc = DatasetLocation("/data", "by_state", datetime.date(2024, 5, 1))
    >>> loc.uri
    '/data/ufo/etl/by_state/date=2024-05-01'
    """

    data_root: str
    dataset: str
    date: dt.date
    s3: S3Settings | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _DATASET_NAME.match(self.dataset):
            raise ConfigurationError(f"invalid dataset name {self.dataset!r}")
        if not self.data_root:
            raise ConfigurationError("data_root is empty")
        if _URL_LIKE.match(self.data_root) and not self.data_root.startswith(_SUPPORTED_URLS):
            raise ConfigurationError(
                f"data_root {self.data_root!r} must be a local path or an "
                f"{' or '.join(_SUPPORTED_URLS)} URL"
            )
        if "://" in self.data_root:
            check_no_dot_segments(self.data_root, "data_root")

    @property
    def root(self) -> str:
        """``data_root`` as an absolute local path (a ``file://`` URL becomes one)
        or an S3 URL."""
        root = self.data_root.removeprefix("file://").rstrip("/") or "/"
        return root if "://" in root else os.path.abspath(root)

    @property
    def uri(self) -> str:
        """The dataset directory."""
        return f"{self.root}/ufo/etl/{self.dataset}/date={self.date.isoformat()}"

    @property
    def success_uri(self) -> str:
        return f"{self.uri}/{SUCCESS}"

    def new_staging_uri(self) -> str:
        """A fresh, unique directory for an engine to write this dataset into.

        On a local filesystem its parent, ``.../<pid>-<token>``, is created here
        and the returned directory, ``.../<pid>-<token>/data``, is not (Spark
        refuses to write into an existing one). The parent, owned by this
        writer, keeps every shared folder above it non-empty, so a concurrent
        writer's :func:`remove_staging` cannot remove them while the engine
        creates the directory.
        """
        token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        owned = f"{self.root}/ufo/_staging/{self.dataset}/date={self.date.isoformat()}/{token}"
        if not is_s3(owned):
            _make_dirs(owned)
        return f"{owned}/data"

    def check_writable_root(self) -> None:
        """Refuse a local ``data_root`` that cannot be a directory because a
        file is in the way (the root or one of its parents). S3 has no such case.

        Raises
        ------
        ConfigurationError
            Naming the file in the way.
        """
        if "://" in self.root:
            return
        path = self.root
        while not os.path.lexists(path) and os.path.dirname(path) != path:
            path = os.path.dirname(path)
        if not os.path.isdir(path):
            raise ConfigurationError(
                f"data_root {self.data_root!r} cannot be a directory: {path!r} is a file"
            )

    def exists(self) -> bool:
        """True when the dataset is complete (``_SUCCESS`` exists)."""
        fs, path = filesystem(self.success_uri, self.s3)
        return bool(fs.get_file_info(path).type == pafs.FileType.File)

    def summary(self) -> dict[str, Any] | None:
        """What ``_SUCCESS`` records (the commit's summary), ``{}`` when it records
        nothing readable, None when the dataset is not complete."""
        fs, path = filesystem(self.success_uri, self.s3)
        try:
            with fs.open_input_stream(path) as marker:
                text = marker.read()
        except FileNotFoundError:
            return None
        except OSError:
            if not self.exists():
                return None
            return {}
        try:
            summary = json.loads(text or b"{}")
        except ValueError:
            return {}
        return summary if isinstance(summary, dict) else {}

    def rows(self) -> int | None:
        """The row count ``_SUCCESS`` records, or None when it records none."""
        summary = self.summary() or {}
        rows = summary.get("rows")
        return rows if isinstance(rows, int) else None

    def data_files(self) -> list[str]:
        """The Parquet files of a complete dataset, sorted.

        Each file's footer is read first: a truncated or foreign file, or files
        whose rows do not add up to what ``_SUCCESS`` records, fail here with
        the file named, before any engine reads them.

        Raises
        ------
        DatasetError
            When the dataset is not complete, or a file is not readable Parquet.
        """
        if not self.exists():
            raise DatasetError(
                f"dataset {self.dataset} for {self.date} is not complete: "
                f"no {SUCCESS} in {self.uri}"
            )
        fs, path = filesystem(self.uri, self.s3)
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
        files = sorted(i.path for i in infos if i.is_file and i.base_name.endswith(".parquet"))
        prefix = self.uri[: len(self.uri) - len(path)] if "://" in self.uri else ""
        rows = 0
        for file in files:
            try:
                rows += pq.read_metadata(file, filesystem=fs).num_rows
            except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
                raise DatasetError(
                    f"dataset {self.dataset} for {self.date}: {prefix + file} "
                    f"is not a readable Parquet file: {e}"
                ) from e
        recorded = self.rows()
        if recorded is not None and rows != recorded:
            raise DatasetError(
                f"dataset {self.dataset} for {self.date}: the Parquet files in {self.uri} "
                f"hold {rows} rows, but {SUCCESS} records {recorded}"
            )
        return [prefix + f for f in files]


def read_table(location: DatasetLocation) -> pa.Table:
    """A complete dataset, read whole with pyarrow (for small datasets).

    Raises
    ------
    DatasetError
        When the dataset is not complete.
    """
    fs, _ = filesystem(location.uri, location.s3)
    files = [f.split("://", 1)[1] if "://" in f else f for f in location.data_files()]
    # No partitioning: the run date lives in the path only, never as a column
    # (by default pyarrow turns date=YYYY-MM-DD into one).
    return pq.ParquetDataset(files, filesystem=fs, partitioning=None).read()


def remove_tree(uri: str, s3: S3Settings | None = None) -> None:
    """Delete a directory and everything below it; nothing when it does not exist."""
    fs, path = filesystem(uri, s3)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_dir(path)


BEFORE_COMMIT: Final[list[Callable[[DatasetLocation], None]]] = []
"""Called with the location at the start of every :func:`commit`, after the
engine wrote every file: a seam for tests that kill a writer at that moment."""


def _make_dirs(path: str, attempts: int = 20) -> None:
    """``os.makedirs`` that outlasts a concurrent :func:`remove_staging`, which
    may remove an empty shared parent between two of its steps."""
    for attempt in range(attempts):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def remove_staging(staging_uri: str, location: DatasetLocation) -> None:
    """Delete a staging directory, then its parents up to ``ufo/_staging`` that
    it leaves empty (a concurrent writer's are kept)."""
    remove_tree(staging_uri, location.s3)
    if "://" in staging_uri:
        return  # S3 has no empty directories to leave behind
    top = f"{location.root}/ufo/_staging"
    parent = os.path.dirname(staging_uri)
    while parent.startswith(top + "/") or parent == top:
        try:
            os.rmdir(parent)
        except OSError:
            return  # not empty (another writer's), or gone
        parent = os.path.dirname(parent)


def commit(
    staging_uri: str,
    location: DatasetLocation,
    summary: dict[str, object],
    required_suffix: str = ".parquet",
) -> None:
    """Move a finished staging directory into place, then write ``_SUCCESS``.

    Parameters
    ----------
    staging_uri
        The directory the engine wrote, holding ``*.parquet`` files.
    location
        The dataset to replace.
    summary
        What ``_SUCCESS`` records (as JSON), e.g. rows and backend.
    required_suffix
        The staging directory must hold at least one file whose name ends so:
        ``.parquet`` for a dataset, ``.html`` for a report.
    """
    for hook in BEFORE_COMMIT:
        hook(location)
    fs, staging = filesystem(staging_uri, location.s3)
    infos = fs.get_file_info(pafs.FileSelector(staging, recursive=True))
    for info in infos:
        if info.is_file and _ENGINE_LITTER.search(info.base_name):
            fs.delete_file(info.path)
    parts = [i for i in fs.get_file_info(pafs.FileSelector(staging)) if i.is_file]
    if not any(p.base_name.endswith(required_suffix) for p in parts):
        kind = "Parquet" if required_suffix == ".parquet" else required_suffix
        raise DatasetError(f"the engine wrote no {kind} file for {location.dataset}")

    _, final = filesystem(location.uri, location.s3)
    marker = f"{final}/{SUCCESS}"
    if is_s3(location.uri):
        # S3 cannot rename: the old dataset stops looking complete first, then the
        # new parts are copied in, then the new _SUCCESS makes it complete.
        if fs.get_file_info(marker).type != pafs.FileType.NotFound:
            fs.delete_file(marker)
        if fs.get_file_info(final).type != pafs.FileType.NotFound:
            # Listed, then gone when deleted: S3 servers list "directories" that
            # only a killed writer's leftover key implied. Gone is the goal.
            with contextlib.suppress(FileNotFoundError):
                fs.delete_dir(final)
        for part in parts:
            fs.copy_file(part.path, f"{final}/{part.base_name}")
    else:
        old = f"{staging}.replaced"
        if fs.get_file_info(final).type != pafs.FileType.NotFound:
            # Leave the way clear: an incomplete or an older dataset goes aside.
            fs.move(final, old)
        fs.create_dir(os.path.dirname(final), recursive=True)
        fs.move(staging, final)
        if fs.get_file_info(old).type != pafs.FileType.NotFound:
            fs.delete_dir(old)
    with fs.open_output_stream(marker) as out:
        out.write(json.dumps(summary, sort_keys=True, default=str).encode() + b"\n")
    log.info("committed %s (%s)", location.uri, summary)
