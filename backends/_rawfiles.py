"""Raw report files: finding them, checking them and counting their records.

The counts made here do not use the engines' field parsers, so that
reconciliation (raw records = sightings + rejects) can catch a record lost or
invented by a reader.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import io
import logging
import os
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final, Literal

import pyarrow as pa
import pyarrow.fs as pafs

from backends._s3 import S3Settings, check_no_dot_segments, is_s3
from backends._storage import filesystem
from backends.errors import ConfigurationError, RawInputError
from transforms.schema import HEADER, RAW_FIELDS

log = logging.getLogger(__name__)

RawFormat = Literal["tsv", "csv"]
RAW_FORMATS: Final = ("tsv", "csv")
_CHUNK_BYTES: Final = 4 << 20
"""How much of a raw file is read at a time: the inspection holds a few blocks of
about this size (a line longer than one is carried over whole)."""
_BOM: Final = "\ufeff"

RAW_RECORDS_SCHEMA: Final = pa.schema(
    [
        ("source_file", pa.string()),
        ("field_count", pa.int32()),
        *[(name, pa.string()) for name in RAW_FIELDS],
        ("raw_line", pa.string()),
    ]
)
"""Arrow schema of the raw-records table every backend reader produces."""


@dataclass(frozen=True)
class RawFile:
    """What the inspection of one raw file found.

    Attributes
    ----------
    path
        The file, as expanded from ``raw_path``: ``source_file`` in the outputs.
    records
        Data records, the file's own header excluded.
    empty_lines
        Empty lines, which are not records.
    header_line
        The exact text of the file's header record, without a BOM.
    header_copies
        Data records whose text is exactly ``header_line`` (tsv only, else 0).
    plain_lines
        True when every line ends with LF alone (no CR anywhere), no line holds a
        NUL byte, and the header is the first line: a file any line-oriented
        reader splits the same way (tsv only).
    empty_last_field
        Some record ends with an empty field, quoted or not (csv only): a record
        that DuckDB's CSV reader may shorten (see ``DuckDBBackend._read_csv``).
    """

    path: str
    records: int
    empty_lines: int
    header_line: str
    header_copies: int = 0
    plain_lines: bool = False
    empty_last_field: bool = False


def check_format(raw_format: str) -> RawFormat:
    """Return ``raw_format`` if it is ``tsv`` or ``csv``, else raise."""
    if raw_format not in RAW_FORMATS:
        raise ConfigurationError(
            f"raw_format must be one of {', '.join(RAW_FORMATS)}, not {raw_format!r}"
        )
    return raw_format  # type: ignore[return-value]


def expand_raw_path(raw_path: str, raw_format: str, s3: S3Settings | None = None) -> list[str]:
    """Expand a file, a directory or a glob into the sorted list of raw files.

    A directory (or an ``s3://`` prefix) means its ``*.tsv`` (or ``*.csv``)
    files, by ``raw_format``.

    Raises
    ------
    RawInputError
        When nothing matches, or S3 cannot be listed.
    """
    fmt = check_format(raw_format)
    if not raw_path:
        raise ConfigurationError("raw_path is empty")
    if is_s3(raw_path):
        check_no_dot_segments(raw_path, "raw_path")
        return _expand_s3(raw_path, fmt, s3)
    path = os.path.abspath(os.path.expanduser(raw_path))
    if os.path.isdir(path):
        matches = glob.glob(os.path.join(glob.escape(path), f"*.{fmt}"))
    elif glob.has_magic(path):
        matches = glob.glob(path)
    else:
        matches = [path] if os.path.exists(path) else []
    files = sorted(m for m in matches if os.path.isfile(m))
    if not files:
        raise RawInputError(f"raw_path {raw_path!r} matches no {fmt} file")
    return files


def _expand_s3(raw_path: str, fmt: str, s3: S3Settings | None) -> list[str]:
    fs, key = filesystem(raw_path, s3)
    key = key.rstrip("/")
    try:
        if glob.has_magic(key):
            static = key[: min(key.index(c) for c in "*?[" if c in key)]
            parent = static.rsplit("/", 1)[0]
            infos = fs.get_file_info(pafs.FileSelector(parent, recursive=True))
            matches = [i.path for i in infos if i.is_file and fnmatch.fnmatchcase(i.path, key)]
        else:
            info = fs.get_file_info(key)
            if info.type == pafs.FileType.Directory:
                infos = fs.get_file_info(pafs.FileSelector(key))
                matches = [i.path for i in infos if i.is_file and i.base_name.endswith(f".{fmt}")]
            else:
                matches = [key] if info.is_file else []
    except OSError as e:
        raise RawInputError(f"cannot list raw_path {raw_path!r}: {e}") from e
    if not matches:
        raise RawInputError(f"raw_path {raw_path!r} matches no {fmt} file")
    return sorted(f"s3://{m}" for m in matches)


def open_raw(path: str, s3: S3Settings | None = None) -> BinaryIO:
    """A binary stream over a raw file, local or on S3."""
    fs, key = filesystem(path, s3)
    try:
        return fs.open_input_stream(key)  # type: ignore[no-any-return]
    except OSError as e:
        raise RawInputError(f"cannot open {path}: {e}") from e


def _is_header(fields: Sequence[str]) -> bool:
    if len(fields) != len(HEADER):
        return False
    first, *rest = fields
    cleaned = [first.removeprefix(_BOM), *rest]
    return all(_trim(f).lower() == h.lower() for f, h in zip(cleaned, HEADER))


def _trim(text: str) -> str:
    return text.strip(" \t\n\r\x0b\x0c")


def _check_header(path: str, fields: Sequence[str] | None) -> None:
    if fields is None:
        raise RawInputError(f"{path}: the file is empty: it must start with the header")
    if not _is_header(fields):
        shown = "\\t".join(fields) if len(fields) < 20 else f"{len(fields)} fields"
        raise RawInputError(
            f"{path}: the first record must be the header "
            f"{', '.join(HEADER)!r}, not {shown[:200]!r}{_format_hint(fields)}"
        )


def _format_hint(fields: Sequence[str]) -> str:
    """A hint when a header that is one field is the header in the other format."""
    if len(fields) == 1:
        for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
            if _is_header(fields[0].split(delimiter)):
                return f" (this looks like a {fmt} file: set raw_format = {fmt})"
    return ""


def _line_of(block: bytes, offset: int, lines_before: int) -> int:
    """1-based number of the line holding byte ``offset`` of ``block``."""
    return (
        lines_before
        + len(block[:offset].splitlines())
        + (1 if offset == 0 or block[offset - 1 : offset] in (b"\n", b"\r") else 0)
    )


def _decode(path: str, block: bytes, lines_before: int) -> str:
    """``block`` as text; invalid UTF-8 raises, naming the file and the line."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as e:
        line = _line_of(block, e.start, lines_before)
        raise RawInputError(
            f"{path}: line {line}: invalid UTF-8 (byte 0x{block[e.start]:02x})"
        ) from e


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """Blocks of whole lines (terminated by LF, CRLF or CR), the last one unterminated."""
    carry = b""
    while chunk := stream.read(_CHUNK_BYTES):
        data = carry + chunk
        # A CR at the very end may be the first half of a CRLF: keep it for later.
        end = len(data) - 1 if data.endswith(b"\r") else len(data)
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]
    if carry:
        yield carry


def _check_utf8(path: str, block: bytes, lines_before: int) -> None:
    """Raise unless ``block`` is valid UTF-8, naming the file and the line.

    Arrow validates without copying or decoding, several times faster than
    ``bytes.decode``, which then only runs to locate an error.
    """
    offsets = pa.py_buffer(struct.pack("<2q", 0, len(block)))
    binary = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(block)])
    try:
        binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        _decode(path, block, lines_before)
        raise


_LF_RUNS = re.compile(b"\n\n+")


def _line_counts(block: bytes, header_key: bytes | None) -> tuple[int, int, int]:
    """Lines, empty lines and lines equal to ``header_key`` in ``block`` (as
    ``block.splitlines()`` sees them), by counting bytes, never splitting: no
    Python object per line.

    >>> _line_counts(b"h\\na\\n\\nh\\nb", b"h")
    (5, 1, 2)
    >>> _line_counts(b"\\n\\n\\nh\\nh\\r\\n", b"h")
    (5, 3, 2)
    >>> _line_counts(b"a\\r\\rb\\r\\n\\r\\n", None)
    (4, 2, 0)
    """
    if not block:
        return 0, 0, 0
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    ended = block if block.endswith(b"\n") else block + b"\n"
    lines = ended.count(b"\n")
    # An empty line is an LF right after an LF, or one that starts the block
    # (blocks start at a line's beginning): a run of n LFs ends n - 1 of them.
    empty = sum(run.end() - run.start() - 1 for run in _LF_RUNS.finditer(ended))
    empty += 1 if ended.startswith(b"\n") else 0
    if not header_key:
        return lines, empty, 0
    key_line = b"\n" + header_key + b"\n"
    copies = ended.count(key_line) + (1 if ended.startswith(key_line[1:]) else 0)
    if copies and (
        key_line + header_key + b"\n" in ended or ended.startswith(key_line[1:] + key_line[1:])
    ):
        # Adjacent copies share an LF: give every line LFs of its own.
        copies = (b"\n" + ended).replace(b"\n", b"\n\n").count(key_line)
    return lines, empty, copies


def _first_line(block: bytes) -> bytes | None:
    """The first non-empty line of ``block``, without its terminator."""
    text = block.lstrip(b"\r\n")
    if not text:
        return None
    ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
    return text[: min(ends)] if ends else text


def inspect_tsv(path: str, stream: BinaryIO) -> RawFile:
    """Check a TSV file's encoding and header, and count its records.

    Every non-empty line (ended by LF, CRLF or CR) is a record.
    """
    lines_before = 0
    records = empty = copies = 0
    header_key: bytes | None = None
    plain = True
    for block in _blocks(stream):
        _check_utf8(path, block, lines_before)
        if plain and lines_before == 0 and block[:1] in (b"\n", b"\r"):
            plain = False  # the header is not the first line
        plain = plain and b"\r" not in block and b"\x00" not in block
        if header_key is None:
            first = _first_line(block)
            if first is not None:
                # Some readers (Hadoop's) drop a leading BOM, others keep it: the
                # header's key is its text without one.
                header_key = first.removeprefix(_BOM.encode())
                if header_key == first:
                    copies -= 1  # the header itself is counted below
        n_lines, n_empty, n_copies = _line_counts(block, header_key)
        copies += n_copies
        lines_before += n_lines
        empty += n_empty
        records += n_lines - n_empty
    header_line = header_key.decode("utf-8") if header_key is not None else None
    _check_header(path, None if header_line is None else header_line.split("\t"))
    return RawFile(
        path=path,
        records=max(records - 1, 0),
        empty_lines=empty,
        header_line=header_line or "",
        header_copies=max(copies, 0),
        plain_lines=plain,
    )


def _terminators(block: bytes, start: int, end: int) -> int:
    """Line terminators (LF, CRLF or CR) in ``block[start:end]``."""
    lf = block.count(b"\n", start, end)
    cr = block.count(b"\r", start, end)
    return lf + cr - (block.count(b"\r\n", start, end) if cr and lf else 0)


def _empty_lines(region: bytes, at_record_start: bool) -> int:
    """Terminators in ``region`` (no quote in it) that end an empty line: one
    right after another, or first in ``region`` when it starts a record."""
    if b"\r" in region:
        region = region.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    # Every LF that follows an LF ends an empty line. Two passes of a
    # non-overlapping replacement mark every such pair of a run, whatever its length.
    marked = region.replace(b"\n\n", b"\n\x00\n").replace(b"\n\n", b"\n\x00\n")
    inner = len(marked) - len(region)
    return inner + (1 if at_record_start and region.startswith(b"\n") else 0)


_QUOTED_FIELD: Final = re.compile(rb'"(?<![^,\r\n]")[^"]*(?:""[^"]*)*"')
"""A quoted field: a quote at the start of a field (of the block, or after a
comma or a line break) up to its closing quote, ``""`` inside it being a quote."""
_QUOTED_MARK: Final = b"\xff"
"""What a quoted field becomes for counting: a byte that valid UTF-8 never holds."""
_OPEN_QUOTE: Final = re.compile(rb'"(?<![^,\r\n]")')
"""A quote that opens a field but was not closed: it may span blocks."""
_BAD_AFTER_QUOTE: Final = re.compile(rb"\xff[^,\r\n]")
"""A closing quote followed by something other than a comma or a line break."""
_EMPTY_QUOTED_AT_END: Final = re.compile(rb'"(?<![^,\r\n]")"(?=[\r\n]|\Z)')
"""What looks like an empty quoted field that ends a record: it is one when a
quoted field (:data:`_QUOTED_FIELD`) starts there, and not when it lies inside
a quoted field (``",""`` then a line break, then ``"``)."""


def _ends_a_record_with_empty_quoted(block: bytes) -> bool:
    """Whether a record of ``block`` (which starts a record, outside quotes)
    ends with an empty quoted field ``""``."""
    candidates = {m.start() for m in _EMPTY_QUOTED_AT_END.finditer(block)}
    return bool(candidates) and any(
        m.start() in candidates and m.end() - m.start() == 2 for m in _QUOTED_FIELD.finditer(block)
    )


@dataclass
class _CsvCounter:
    """RFC 4180 records and empty lines of a stream of blocks, in constant memory.

    Only quotes and line breaks are looked at; runs of text without a quote are
    counted with ``bytes.count``. A quote opens a quoted field only at the start
    of a field (elsewhere it is data); inside one, ``""`` is a quote and a lone
    ``"`` closes it, and must be followed by a comma, a line break or the end of
    the file. Blocks must start at the start of a physical line.
    """

    path: str
    records: int = 0
    empty: int = 0
    lines_before: int = 0
    in_quotes: bool = False
    in_record: bool = False
    """The current record has begun (some byte of it was seen)."""
    opened_at: int = -2
    """Where, in the current block, the quoted field being read opened."""
    empty_last_field: bool = False
    """Some record ended with an empty field."""

    def feed(self, block: bytes, last: bool) -> None:
        """Count the records that ``block`` ends (all remaining ones if ``last``).

        A block that starts a record outside quotes and whose quoted fields all
        close inside it is counted in a few passes of C code
        (:meth:`_feed_scanned`); any other, and any whose quoting is wrong, quote
        by quote (:meth:`_feed_quotes`), which also names the line of an error.
        """
        if not self.in_quotes and not self.in_record:
            scanned = _QUOTED_FIELD.sub(_QUOTED_MARK, block)
            if not _OPEN_QUOTE.search(scanned) and not _BAD_AFTER_QUOTE.search(scanned):
                self._feed_scanned(block, scanned, last)
                return
        self._feed_quotes(block, last)

    def _feed_scanned(self, block: bytes, scanned: bytes, last: bool) -> None:
        """:meth:`feed` for a block whose quoted fields, each replaced by one
        :data:`_QUOTED_MARK` byte, make ``scanned``: no line break is left inside
        quotes, so its records and empty lines are counted as bytes."""
        if not self.empty_last_field and _ends_a_record_with_empty_quoted(block):
            self.empty_last_field = True
        self._count_region(scanned, 0, len(scanned))
        if last and scanned.endswith(b","):
            self.empty_last_field = True
        self.lines_before += _terminators(block, 0, len(block))
        if last and self.in_record:
            self.records += 1
            self.in_record = False

    def _feed_quotes(self, block: bytes, last: bool) -> None:
        """:meth:`feed`, one quote at a time, carrying the quoting state over."""
        pos, n = 0, len(block)
        self.opened_at = -2
        while pos < n:
            if self.in_quotes:
                quote = block.find(b'"', pos)
                if quote < 0:
                    break
                if block[quote + 1 : quote + 2] == b'"':
                    pos = quote + 2
                    continue
                after = block[quote + 1 : quote + 2]
                if after not in (b",", b"\n", b"\r", b""):
                    self._fail(block, quote + 1, "',' expected after '\"'")
                if quote == self.opened_at + 1 and after != b",":
                    self.empty_last_field = True
                self.in_quotes = False
                pos = quote + 1
                continue
            quote = block.find(b'"', pos)
            end = n if quote < 0 else quote
            self._count_region(block, pos, end)
            if quote < 0 and last and block.endswith(b","):
                self.empty_last_field = True
            if quote < 0:
                break
            at_field_start = not self.in_record or block[quote - 1 : quote] == b","
            self.in_quotes = at_field_start
            self.opened_at = quote
            self.in_record = True
            pos = quote + 1
        self.lines_before += _terminators(block, 0, n)
        if last:
            if self.in_quotes:
                raise RawInputError(
                    f"{self.path}: line {self.lines_before + 1}: bad CSV quoting: "
                    "unexpected end of data"
                )
            if self.in_record:
                self.records += 1
                self.in_record = False

    def _count_region(self, block: bytes, start: int, end: int) -> None:
        """Count the records and empty lines ended in ``block[start:end]``,
        which is outside quotes and holds no quote."""
        ends = _terminators(block, start, end)
        if ends and not self.empty_last_field:
            self.empty_last_field = (
                block.find(b",\n", start, end) >= 0 or block.find(b",\r", start, end) >= 0
            )
        if not ends:
            self.in_record = self.in_record or end > start
            return
        empty = _empty_lines(block[start:end], not self.in_record)
        self.records += ends - empty
        self.empty += empty
        last_end = max(block.rfind(b"\n", start, end), block.rfind(b"\r", start, end))
        self.in_record = last_end + 1 < end

    def _fail(self, block: bytes, offset: int, problem: str) -> None:
        line = self.lines_before + _terminators(block, 0, offset) + 1
        raise RawInputError(f"{self.path}: line {line}: bad CSV quoting: {problem}")


_HEADER_PROBE_BYTES: Final = 64 << 10


def _first_csv_record(block: bytes) -> list[str] | None:
    """The fields of the first non-empty record at the start of ``block``
    (valid UTF-8), parsed by the csv module from its first 64 KiB at most."""
    probe = block[:_HEADER_PROBE_BYTES]
    if len(probe) < len(block):
        cut = max(probe.rfind(b"\n"), probe.rfind(b"\r")) + 1
        probe = probe[:cut] if cut else probe
    text = probe.decode("utf-8", errors="replace")
    try:
        for fields in csv.reader(io.StringIO(text, newline="")):
            if fields:
                return fields
    except csv.Error:
        return [text.splitlines()[0]] if text.strip() else None
    return None


def inspect_csv(path: str, stream: BinaryIO) -> RawFile:
    """Check an RFC 4180 file's encoding, header and quoting, and count its
    records, streaming it block by block in constant memory.

    The header is checked at the first record, so a file in another format fails
    on its header rather than on a quoting error further down. The count does not
    use the csv module or any engine's parser (see :class:`_CsvCounter`).

    Raises
    ------
    RawInputError
        On invalid UTF-8, a bad header, or quoting the RFC does not allow, naming
        the file and the line.
    """
    counter = _CsvCounter(path)
    header: list[str] | None = None
    pending: bytes | None = None
    for block in _blocks(stream):
        if pending is not None:
            counter.feed(pending, last=False)
        _check_utf8(path, block, counter.lines_before)
        if header is None:
            header = _first_csv_record(block)
            if header is not None:
                _check_header(path, header)
        pending = block
    if pending is not None:
        counter.feed(pending, last=True)
    if header is None:
        _check_header(path, None)
    return RawFile(
        path=path,
        records=max(counter.records - 1, 0),
        empty_lines=counter.empty,
        header_line=",".join(header or []).removeprefix(_BOM),
        empty_last_field=counter.empty_last_field,
    )


def inspect_path(path: str, raw_format: str, s3: S3Settings | None = None) -> RawFile | str:
    """Inspect one raw file (:func:`inspect_tsv` or :func:`inspect_csv`), opening
    it where this runs: a Spark executor task, so that the driver reads no raw
    byte. A file that breaks the input contract, or cannot be read, gives the
    error's message instead of raising, for the caller to raise."""
    inspect = inspect_csv if check_format(raw_format) == "csv" else inspect_tsv
    try:
        with open_raw(path, s3) as stream:
            return inspect(path, stream)
    except RawInputError as e:
        return str(e)
    except OSError as e:
        return f"{path}: cannot read the file: {e}"


_CSV_BATCH_ROWS: Final = 8192


def csv_record_batches(
    path: str, s3: S3Settings | None = None, batch_rows: int = _CSV_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The raw records of an RFC 4180 file that passed :func:`inspect_csv`, as
    batches of :data:`RAW_RECORDS_SCHEMA`, parsed by the csv module while the file
    streams by in blocks: memory holds one block and one batch, whatever the
    file's size. Runs where the file is read (a Spark executor task).

    Raises
    ------
    RawInputError
        On quoting the RFC does not allow (which the inspection refuses first).
    """
    columns: dict[str, list[object]] = {name: [] for name in RAW_RECORDS_SCHEMA.names}
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        with open_raw(path, s3) as stream:
            for block in _blocks(stream):
                for line in io.StringIO(block.decode("utf-8"), newline=""):
                    consumed.append(line)
                    yield line

    def batch() -> pa.RecordBatch:
        out = pa.RecordBatch.from_pydict(columns, schema=RAW_RECORDS_SCHEMA)
        for values in columns.values():
            values.clear()
        return out

    # No field is longer than a file; the csv module's default limit is 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 40))
    reader = csv.reader(lines(), strict=True)
    header_pending = True
    try:
        for fields in reader:
            text = _strip_terminator("".join(consumed))
            consumed.clear()
            if not fields:
                continue
            if header_pending:
                header_pending = False
                continue
            for name, value in raw_record(path, fields, text).items():
                columns[name].append(value)
            if len(columns["source_file"]) >= batch_rows:
                yield batch()
    except csv.Error as e:
        raise RawInputError(f"{path}: line {reader.line_num}: bad CSV quoting: {e}") from e
    if columns["source_file"]:
        yield batch()


def _strip_terminator(line: str) -> str:
    for terminator in ("\r\n", "\n", "\r"):
        if line.endswith(terminator):
            return line[: -len(terminator)]
    return line


def raw_record(path: str, fields: Sequence[str], text: str) -> dict[str, object]:
    """One raw-records row: the first 7 fields (missing ones null), and the
    record's text when it does not have exactly 7 fields (a ``malformed`` one)."""
    padded = [*fields[: len(RAW_FIELDS)], *[None] * (len(RAW_FIELDS) - len(fields))]
    return {
        "source_file": path,
        "field_count": len(fields),
        **dict(zip(RAW_FIELDS, padded)),
        "raw_line": None if len(fields) == len(RAW_FIELDS) else text,
    }


def split_tsv_line(path: str, line: str) -> dict[str, object]:
    """One raw-records row from a TSV line."""
    return raw_record(path, line.split("\t"), line)
