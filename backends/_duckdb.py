"""DuckDB: the embedded engine for laptops and tests."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.fs as pafs
from ibis.backends.sql.datatypes import DuckDBType

from backends._base import Backend
from backends._rawfiles import (
    RAW_RECORDS_SCHEMA,
    RawFile,
    csv_record_batches,
    open_raw,
    split_tsv_line,
)
from backends._s3 import S3Settings, is_s3, s3_key
from backends._storage import filesystem
from backends.errors import BackendUnavailableError, RawInputError
from transforms.schema import RAW_FIELDS

log = logging.getLogger(__name__)

# Larger than any sane record: the longest line either reader takes (pyarrow needs
# a row to fit a block; DuckDB's max_line_size); a longer one fails the run.
_BLOCK_BYTES = 16 << 20
# DuckDB keeps at most this many characters of a rejected CSV record's text.
_REJECT_TEXT_CHARS = 10_000


class DuckDBBackend(Backend):
    """Ibis on an in-process DuckDB database, time zone UTC.

    Parameters
    ----------
    threads
        DuckDB worker threads; None for DuckDB's default (all cores).
    memory_limit
        E.g. ``"2GB"``; DuckDB spills to ``temp_directory`` beyond it.
    temp_directory
        Where DuckDB spills; None for DuckDB's default.
    s3
        Where ``s3://`` paths live. DuckDB reads raw files there itself, through
        its httpfs extension; datasets go through pyarrow's S3 filesystem:
        scanned as pyarrow datasets, written locally and then uploaded into the
        staging prefix.
    """

    name = "duckdb"

    def __init__(
        self,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
        s3: S3Settings | None = None,
    ) -> None:
        self.s3 = s3
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory:
            config["temp_directory"] = temp_directory
        self.con = ibis.duckdb.connect(**config)
        # Rows need no order: a dataset is a set. Without the order, DuckDB
        # writes and scans in parallel without buffering to restore it.
        self._duckdb.execute(
            "SET TimeZone = 'UTC'; SET enable_progress_bar = false; "
            "SET preserve_insertion_order = false"
        )
        self.threads = threads
        self._s3_connected = False

    @property
    def _duckdb(self) -> Any:
        return self.con.con  # type: ignore[attr-defined]

    def _read_tsv(self, files: Sequence[RawFile]) -> ir.Table:
        """Files whose lines are plain (LF only, no NUL: see
        :attr:`RawFile.plain_lines`), local or on S3 (through the httpfs
        extension), are read by DuckDB's own CSV reader, as a view that every use
        scans again; others (CR line ends) are streamed through pyarrow's CSV
        reader into a temporary table, a batch at a time. DuckDB's reader is not
        used for CR line ends: it loses the line after a bare CR."""
        native = [f for f in files if f.plain_lines]
        streamed = [f for f in files if f not in native]
        self._connect_s3([f.path for f in native])
        tables = [self._native_tsv(file) for file in native]
        if streamed or not tables:
            reader = pa.RecordBatchReader.from_batches(
                RAW_RECORDS_SCHEMA, _tsv_batches(streamed, self.s3, self.threads != 1)
            )
            tables.append(self._load(reader))
        return tables[0] if len(tables) == 1 else ibis.union(*tables)

    def _connect_s3(self, paths: Sequence[str]) -> None:
        """Let DuckDB read ``s3://`` URLs itself, once, when ``paths`` holds one:
        load the httpfs extension that the ``duckdb-extension-httpfs`` package
        ships (DuckDB cannot download it here) and create a secret from
        :attr:`s3` (an endpoint of its own means path-style URLs, SSL by its
        scheme).

        Raises
        ------
        BackendUnavailableError
            When the extension is not installed or does not load.
        """
        if self._s3_connected or not any(is_s3(p) for p in paths):
            return
        try:
            import duckdb_extension_httpfs

            extension = os.path.join(
                os.path.dirname(duckdb_extension_httpfs.__file__),
                "extensions",
                f"v{duckdb.__version__}",
                "httpfs.duckdb_extension",
            )
            self._duckdb.execute(f"LOAD {_literal(extension)}")
        except (ImportError, duckdb.Error) as e:
            raise BackendUnavailableError(
                f"DuckDB reads s3:// raw files with its httpfs extension: install "
                f"duckdb-extension-httpfs=={duckdb.__version__} ({e})"
            ) from e
        settings = (self.s3 or S3Settings()).resolved()
        options = {"TYPE": "s3", "REGION": settings.region_name or "us-east-1"}
        if settings.aws_access_key_id or settings.aws_secret_access_key:
            options["KEY_ID"] = settings.aws_access_key_id
            options["SECRET"] = settings.aws_secret_access_key
        if settings.endpoint_url:
            parts = urlsplit(settings.endpoint_url)
            options["ENDPOINT"] = parts.netloc
            options["URL_STYLE"] = "path"
            options["USE_SSL"] = "true" if parts.scheme == "https" else "false"
        body = ", ".join(
            f"{key} {value if key in ('TYPE', 'USE_SSL') else _literal(value)}"
            for key, value in options.items()
        )
        self._duckdb.execute(f"CREATE OR REPLACE SECRET ufo_etl_s3 ({body})")
        self._s3_connected = True

    def _native_tsv(self, file: RawFile) -> ir.Table:
        """The raw records of one plain TSV file as a DuckDB view: each line one
        VARCHAR (NUL, which plain files lack, as the delimiter; no quoting),
        the first line (the header) skipped, empty lines (read as NULL) dropped,
        then split on TAB."""
        name = f"raw_records_{uuid.uuid4().hex[:8]}"
        fields = ", ".join(f"fields[{i}] AS {_quote(n)}" for i, n in enumerate(RAW_FIELDS, 1))
        self._duckdb.execute(
            f"""
            CREATE TEMP VIEW "{name}" AS
            SELECT {_literal(file.path)} AS source_file,
                   CAST(len(fields) AS INTEGER) AS field_count,
                   {fields},
                   CASE WHEN len(fields) <> {len(RAW_FIELDS)} THEN line END AS raw_line
            FROM (
                SELECT line, string_split(line, chr(9)) AS fields
                FROM read_csv({_literal(file.path)}, columns = {{'line': 'VARCHAR'}},
                              delim = chr(0), quote = '', escape = '', header = true,
                              auto_detect = false, new_line = '\\n',
                              max_line_size = {_BLOCK_BYTES}, buffer_size = {2 * _BLOCK_BYTES})
                WHERE line IS NOT NULL
            )
            """
        )
        return self.con.table(name)

    def _read_csv(self, files: Sequence[RawFile]) -> ir.Table:
        """The raw records of RFC 4180 files that passed inspection.

        DuckDB's own CSV reader reads them (:meth:`_native_csv`), except the
        files where some record ends with an empty field
        (:attr:`RawFile.empty_last_field`): DuckDB drops empty fields beyond the
        declared seven, even in strict mode, so ``a,b,c,d,e,f,g,`` would be read
        as a well-formed record; and the files where a record of another number of
        fields is too long for the text DuckDB keeps of a rejected record
        (10,000 characters). Those files (none of NUFORC's) are parsed by the csv
        module while they stream, a batch at a time, into a temporary table.
        """
        native = [f.path for f in files if not f.empty_last_field]
        streamed = [f.path for f in files if f.empty_last_field]
        self._connect_s3(native)
        tables = []
        if native:
            table, cut = self._native_csv(native)
            tables.append(table)
            streamed += cut
        if streamed:
            batches = (
                batch for path in sorted(streamed) for batch in csv_record_batches(path, self.s3)
            )
            tables.append(
                self._load(pa.RecordBatchReader.from_batches(RAW_RECORDS_SCHEMA, batches))
            )
        return tables[0] if len(tables) == 1 else ibis.union(*tables)

    def _native_csv(self, files: Sequence[str]) -> tuple[ir.Table, list[str]]:
        """The raw records of RFC 4180 files, read by DuckDB's own CSV reader into
        a temporary table.

        Records with seven fields are read as such (an unquoted empty field, which
        DuckDB reads as NULL, is ``''``). A record with another number of fields is
        a rejected line of the reader (``store_rejects``), whose text DuckDB keeps;
        its fields come from splitting that text with a regular expression.

        Returns
        -------
        tuple[ir.Table, list[str]]
            The records, and the files left out of them because DuckDB kept only
            the start of the text of one of their rejected records.

        Raises
        ------
        RawInputError
            When DuckDB rejects a record for anything but its number of fields.
        """
        name = f"raw_records_{uuid.uuid4().hex[:8]}"
        rejects, scans = f"{name}_rejects", f"{name}_scans"
        paths = "[" + ", ".join(_literal(f) for f in files) + "]"
        columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in RAW_FIELDS) + "}"
        fields = ", ".join(f"coalesce({_quote(n)}, '') AS {_quote(n)}" for n in RAW_FIELDS)
        try:
            self._duckdb.execute(
                f"""
                CREATE TEMP TABLE "{name}" AS
                SELECT filename AS source_file,
                       CAST({len(RAW_FIELDS)} AS INTEGER) AS field_count,
                       {fields},
                       CAST(NULL AS VARCHAR) AS raw_line
                FROM read_csv({paths}, columns = {columns}, header = true, delim = ',',
                              quote = '"', escape = '"', auto_detect = false,
                              strict_mode = true, null_padding = false,
                              allow_quoted_nulls = false, filename = true,
                              store_rejects = true, rejects_table = '{rejects}',
                              rejects_scan = '{scans}', max_line_size = {_BLOCK_BYTES},
                              buffer_size = {2 * _BLOCK_BYTES})
                """
            )
        except duckdb.Error as e:
            raise RawInputError(f"{files[0]}: DuckDB cannot read the CSV files: {e}") from e
        try:
            cut = self._insert_malformed_csv(name, rejects, scans)
        finally:
            for table in (rejects, scans):
                self._duckdb.execute(f'DROP TABLE IF EXISTS "{table}"')
        return self.con.table(name), cut

    def _insert_malformed_csv(self, name: str, rejects: str, scans: str) -> list[str]:
        """Add the records DuckDB rejected for their number of fields to ``name``;
        remove from it the files of which DuckDB kept a rejected record's text
        cut short, and return them."""
        other = self._duckdb.execute(
            f"""
            SELECT s.file_path, r.line, r.error_type, r.error_message
            FROM "{rejects}" r JOIN "{scans}" s USING (scan_id, file_id)
            WHERE r.error_type NOT IN ('TOO MANY COLUMNS', 'MISSING COLUMNS')
            ORDER BY s.file_path, r.line LIMIT 1
            """
        ).fetchone()
        if other is not None:
            path, line, kind, message = other
            raise RawInputError(f"{path}: record {line}: DuckDB refused it ({kind}): {message}")
        cut = [
            path
            for (path,) in self._duckdb.execute(
                f"""
                SELECT DISTINCT s.file_path
                FROM "{rejects}" r JOIN "{scans}" s USING (scan_id, file_id)
                WHERE length(r.csv_line) >= {_REJECT_TEXT_CHARS}
                """
            ).fetchall()
        ]
        if cut:
            listed = ", ".join(_literal(p) for p in cut)
            self._duckdb.execute(f'DELETE FROM "{name}" WHERE source_file IN ({listed})')
        # The text DuckDB keeps starts after the previous record's last byte: the
        # line break that ended it comes first. A record cannot start with a line
        # break (outside quotes one ends it), so leading CR/LF are dropped.
        split = 'regexp_extract_all(raw_line || \',\', \'("(?:[^"]|"")*"|[^,]*),\', 1)'
        unquote = (
            "list_transform(parts, f -> CASE WHEN starts_with(f, '\"') "
            "THEN replace(f[2:-2], '\"\"', '\"') ELSE f END)"
        )
        fields = ", ".join(f"fields[{i}] AS {_quote(n)}" for i, n in enumerate(RAW_FIELDS, 1))
        self._duckdb.execute(
            f"""
            INSERT INTO "{name}"
            SELECT source_file, CAST(len(fields) AS INTEGER), {fields}, raw_line
            FROM (
                SELECT source_file, raw_line, {unquote} AS fields
                FROM (
                    SELECT source_file, raw_line, {split} AS parts
                    FROM (
                        SELECT DISTINCT s.file_path AS source_file, r.line,
                               ltrim(r.csv_line, chr(13) || chr(10)) AS raw_line
                        FROM "{rejects}" r JOIN "{scans}" s USING (scan_id, file_id)
                        WHERE NOT list_contains(?::VARCHAR[], s.file_path)
                    )
                )
            )
            """,
            [cut],
        )
        return cut

    def from_arrow(self, tables: Sequence[Any]) -> ir.Table:
        table = pa.concat_tables(tables) if tables else RAW_RECORDS_SCHEMA.empty_table()
        return self._load(table)

    def _load(self, data: Any) -> ir.Table:
        name = f"raw_records_{uuid.uuid4().hex[:8]}"
        view = f"{name}_source"
        self._duckdb.register(view, data)
        try:
            self._duckdb.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self._duckdb.unregister(view)
        return self.con.table(name)

    def _read_parquet(self, uris: Sequence[str]) -> ir.Table:
        if not any(is_s3(u) for u in uris):
            return self.con.read_parquet(list(uris), hive_partitioning=False)
        fs, _ = filesystem(uris[0], self.s3)
        dataset = pads.dataset([s3_key(u) for u in uris], filesystem=fs, format="parquet")
        name = f"dataset_{uuid.uuid4().hex[:8]}"
        self._duckdb.register(name, dataset)
        return self.con.table(name)

    def _write_parquet(self, table: ir.Table, staging_uri: str) -> None:
        if not is_s3(staging_uri):
            self._write_local_parquet(table, staging_uri)
            return
        fs, staging = filesystem(staging_uri, self.s3)
        with tempfile.TemporaryDirectory(prefix="ufo-etl-") as local:
            self._write_local_parquet(table, local)
            for name in sorted(os.listdir(local)):
                pafs.copy_files(
                    os.path.join(local, name),
                    f"{staging}/{name}",
                    source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs,
                )

    def _write_local_parquet(self, table: ir.Table, staging_uri: str) -> None:
        os.makedirs(staging_uri, exist_ok=True)
        # DuckDB's own result types can be wider than the ones Ibis declares
        # (year() is BIGINT, Ibis says int32): cast to the declared schema.
        columns = ", ".join(
            f"CAST({_quote(name)} AS {DuckDBType.to_string(dtype)}) AS {_quote(name)}"
            for name, dtype in table.schema().items()
        )
        target = _literal(os.path.join(staging_uri, "part-00000.parquet"))
        # What Ibis's own to_parquet runs first: in-memory tables (ibis.memtable,
        # e.g. a lookup table a transform joins) and UDFs get registered.
        self.con._run_pre_execute_hooks(table)
        self._duckdb.execute(
            f"COPY (SELECT {columns} FROM ({self.con.compile(table)})) "
            f"TO {target} (FORMAT parquet, COMPRESSION zstd)"
        )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tsv_batches(
    files: Sequence[RawFile], s3: S3Settings | None, use_threads: bool
) -> Iterator[pa.RecordBatch]:
    """Raw-records batches of TSV files: lines split on TAB, quotes literal.

    pyarrow's reader splits lines on LF, CRLF and CR and skips empty lines;
    a line without exactly 7 fields comes back through the invalid-row handler
    with its text, and becomes a ``malformed`` record rather than being dropped.
    """
    for file in files:
        malformed: list[dict[str, object]] = []

        def on_invalid_row(
            row: Any, path: str = file.path, sink: list[dict[str, object]] = malformed
        ) -> str:
            sink.append(split_tsv_line(path, row.text))
            return "skip"

        stream = open_raw(file.path, s3)
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=list(RAW_FIELDS), block_size=_BLOCK_BYTES, use_threads=use_threads
            ),
            parse_options=pacsv.ParseOptions(
                delimiter="\t",
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in RAW_FIELDS},
                strings_can_be_null=False,
                check_utf8=True,
            ),
        )
        header_pending = True
        for batch in reader:
            if header_pending and batch.num_rows:
                batch = batch.slice(1)  # each file's own header record
                header_pending = False
            if batch.num_rows:
                yield _with_source(batch, file.path)
        stream.close()
        if malformed:
            yield pa.RecordBatch.from_pylist(malformed, schema=RAW_RECORDS_SCHEMA)


def _with_source(batch: pa.RecordBatch, path: str) -> pa.RecordBatch:
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(path, pa.string()), n),
            pa.repeat(pa.scalar(len(RAW_FIELDS), pa.int32()), n),
            *batch.columns,
            pa.nulls(n, pa.string()),
        ],
        schema=RAW_RECORDS_SCHEMA,
    )
