"""The engine-neutral half of a backend: what every engine must provide."""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from backends import _rawfiles, _storage
from backends._rawfiles import RawFile
from backends._s3 import S3Settings
from backends._storage import DatasetLocation
from backends.errors import DatasetError, RawInputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawInput:
    """The raw records of a run and what the independent inspection counted.

    Attributes
    ----------
    records
        Columns ``source_file``, ``field_count``, the seven raw fields and
        ``raw_line``; one row per data record (each file's header excluded).
    files
        The inspection of each file, in the order read.
    """

    records: ir.Table
    files: tuple[RawFile, ...]

    @property
    def expected_records(self) -> int:
        """Data records counted without the engine's parser."""
        return sum(f.records for f in self.files)

    @property
    def empty_lines(self) -> int:
        return sum(f.empty_lines for f in self.files)


@dataclass(frozen=True)
class WriteResult:
    """What :meth:`Backend.write_dataset` committed."""

    uri: str
    rows: int
    files: int
    bytes: int


class Backend(abc.ABC):
    """An Ibis connection plus the engine-specific reading and writing.

    Subclasses implement the ``_``-prefixed hooks; everything else, the file
    inspection, the staging and the commit, is shared so both engines obey the
    same contract.
    """

    name: ClassVar[str]
    con: ibis.BaseBackend
    s3: S3Settings | None = None
    """Where ``s3://`` paths live; None: the ``AWS_*`` environment."""

    def read_raw(self, raw_path: str, raw_format: str) -> RawInput:
        """Read every raw file ``raw_path`` expands to as raw records.

        Raises
        ------
        RawInputError
            When no file matches, or a file breaks the input contract.
        """
        fmt = _rawfiles.check_format(raw_format)
        paths = _rawfiles.expand_raw_path(raw_path, fmt, self.s3)
        log.info("reading %d %s file(s) from %s", len(paths), fmt, raw_path)
        facts = []
        for fact in self._inspect(paths, fmt):
            if isinstance(fact, str):
                raise RawInputError(fact)
            facts.append(fact)
        records = self._read_csv(facts) if fmt == "csv" else self._read_tsv(facts)
        return RawInput(records=records, files=tuple(facts))

    def _inspect(self, paths: Sequence[str], raw_format: str) -> list[RawFile | str]:
        """:func:`~backends._rawfiles.inspect_path` of each file, in order, in this
        process (streamed in constant memory); Spark runs them on its executors."""
        return [_rawfiles.inspect_path(path, raw_format, self.s3) for path in paths]

    def read_dataset(self, location: DatasetLocation) -> ir.Table:
        """The complete dataset at ``location`` as a table.

        Raises
        ------
        DatasetError
            When the dataset is not complete.
        """
        table = self._read_parquet(location.data_files())
        self._datasets_read[table.get_name()] = location
        return table

    def write_dataset(
        self,
        table: ir.Table,
        location: DatasetLocation,
        summary: Mapping[str, object] | None = None,
    ) -> WriteResult:
        """Write ``table`` as the dataset at ``location``, atomically.

        The engine writes into a fresh staging directory; the files then move
        into place and ``_SUCCESS`` is written last, recording the backend, the
        rows and ``summary``.

        Raises
        ------
        DatasetError
            When the engine fails because a Parquet file it reads is corrupt:
            the error names the file.
        """
        return self.write_datasets([(table, location)], summary=summary)[location.dataset]

    def write_datasets(
        self,
        outputs: Sequence[tuple[ir.Table, DatasetLocation]],
        check: Callable[[dict[str, WriteResult]], None] | None = None,
        summary: Mapping[str, object] | None = None,
    ) -> dict[str, WriteResult]:
        """Write several datasets, each atomically, none before all are written.

        Every table is written into its own staging directory first; then
        ``check`` (when given) sees what was staged, by dataset name, and may
        raise to stop the commit; only then does each dataset move into place,
        its ``_SUCCESS`` last (recording the backend, the rows and ``summary``).
        A failure before the commits leaves every dataset as it was; the staging
        directories are removed whatever happens.

        Raises
        ------
        DatasetError
            When the engine fails because a Parquet file it reads is corrupt:
            the error names the file.
        """
        staged: list[tuple[str, DatasetLocation]] = []
        results: dict[str, WriteResult] = {}
        try:
            for table, location in outputs:
                staging = location.new_staging_uri()
                staged.append((staging, location))
                try:
                    self._write_parquet(table, staging)
                except Exception as e:
                    self._raise_if_an_input_is_corrupt(table, e)
                    raise
                results[location.dataset] = _describe(staging, location)
            if check is not None:
                check(results)
            for staging, location in staged:
                rows = results[location.dataset].rows
                marker = {**(summary or {}), "backend": self.name, "rows": rows}
                _storage.commit(staging, location, marker)
        finally:
            for staging, location in staged:
                _storage.remove_staging(staging, location)
        return results

    @property
    def _datasets_read(self) -> dict[str, DatasetLocation]:
        """The dataset behind each table :meth:`read_dataset` made, by table name."""
        if "_datasets_by_table" not in self.__dict__:
            self._datasets_by_table: dict[str, DatasetLocation] = {}
        return self._datasets_by_table

    def _raise_if_an_input_is_corrupt(self, table: ir.Table, error: Exception) -> None:
        """After the engine failed computing ``table``: read every Parquet file of
        the datasets it reads, and raise a :class:`DatasetError` naming the first
        one that is corrupt. Engines name such a file vaguely if at all (DuckDB:
        "Out of buffer"); a footer intact over damaged pages passes
        :meth:`DatasetLocation.data_files`. Runs only on failure."""
        import ibis.expr.operations as ops

        names = {op.name for op in table.op().find(ops.DatabaseTable)}
        for name in sorted(names & set(self._datasets_read)):
            location = self._datasets_read[name]
            fs, _ = _storage.filesystem(location.uri, location.s3)
            for uri in location.data_files():
                path = uri.split("://", 1)[1] if "://" in uri else uri
                try:
                    with pq.ParquetFile(path, filesystem=fs) as parquet:
                        for _ in parquet.iter_batches():
                            pass
                except (OSError, ValueError) as corrupt:  # ArrowInvalid is a ValueError
                    raise DatasetError(
                        f"dataset {location.dataset} for {location.date}: {uri} "
                        f"is corrupt: {corrupt}"
                    ) from error

    def materialize(self, table: ir.Table) -> ir.Table:
        """Compute ``table`` once, for several uses, with the types Ibis declares
        (an engine's own can be narrower: Spark's ``hash()`` and
        ``row_number()`` are int32 where Ibis says int64)."""
        cached = table.cache()
        declared = table.schema()
        if cached.schema() == declared:
            return cached
        return cached.cast(declared)

    def to_rows(self, table: ir.Table) -> list[dict[str, Any]]:
        """The rows of a small table as Python dicts."""
        return list(table.to_pyarrow().to_pylist())

    def close(self) -> None:
        """Release the engine."""
        self.con.disconnect()

    def watch_progress(
        self, report: Callable[[float, str], None]
    ) -> contextlib.AbstractContextManager[None]:
        """While the context is open, call ``report(fraction_done, message)`` as
        the engine makes progress; engines that cannot tell report nothing."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def _read_tsv(self, files: Sequence[RawFile]) -> ir.Table:
        """Raw records of TSV files that passed inspection."""

    @abc.abstractmethod
    def _read_csv(self, files: Sequence[RawFile]) -> ir.Table:
        """Raw records of RFC 4180 files that passed inspection."""

    @abc.abstractmethod
    def from_arrow(self, tables: Sequence[Any]) -> ir.Table:
        """A table on this engine holding the rows of Arrow tables (one schema)."""

    @abc.abstractmethod
    def _read_parquet(self, uris: Sequence[str]) -> ir.Table:
        """A table over Parquet files."""

    @abc.abstractmethod
    def _write_parquet(self, table: ir.Table, staging_uri: str) -> None:
        """Write ``table`` as Parquet file(s) into the new directory ``staging_uri``."""


def _describe(staging_uri: str, location: DatasetLocation) -> WriteResult:
    fs, path = _storage.filesystem(staging_uri, location.s3)
    infos = [
        i
        for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
        if i.is_file and i.base_name.endswith(".parquet")
    ]
    rows = sum(pq.read_metadata(i.path, filesystem=fs).num_rows for i in infos)
    return WriteResult(
        uri=location.uri, rows=rows, files=len(infos), bytes=sum(i.size or 0 for i in infos)
    )
