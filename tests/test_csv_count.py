"""The CSV inspection's record count: its fast path (quoted fields found by a
regular expression, the rest counted as bytes) finds exactly what the
quote-by-quote state machine finds, errors and their lines included, wherever
the blocks end."""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backends import RawInputError, _rawfiles
from transforms.schema import HEADER

HEADER_LINE = ",".join(HEADER).encode()

# Bytes that matter to the counter, with some text between them.
pieces = st.sampled_from([b"a", b"bc", b",", b'"', b'""', b"\n", b"\r", b"\r\n", "é".encode()])
bodies = st.lists(pieces, max_size=60).map(b"".join)


def inspect(data: bytes, quote_by_quote: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        if quote_by_quote:
            patch.setattr(_rawfiles._CsvCounter, "feed", _rawfiles._CsvCounter._feed_quotes)
        try:
            return _rawfiles.inspect_csv("f.csv", io.BytesIO(data))
        except RawInputError as e:
            return f"error: {e}"


@settings(max_examples=400, deadline=None)
@given(body=bodies, block_bytes=st.sampled_from([1, 2, 5, 13, 4 << 20]), crlf=st.booleans())
def test_fast_count_equals_the_state_machine(body: bytes, block_bytes: int, crlf: bool) -> None:
    data = HEADER_LINE + (b"\r\n" if crlf else b"\n") + body
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_rawfiles, "_CHUNK_BYTES", block_bytes)
        fast = inspect(data, quote_by_quote=False, monkeypatch=patch)
        slow = inspect(data, quote_by_quote=True, monkeypatch=patch)
    assert fast == slow, data


def test_quoted_line_breaks_and_empty_lines_are_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = HEADER_LINE + b'\n"a\nb",x\n\n"",\r\n"c""\r\n",""\n'
    found = inspect(data, quote_by_quote=False, monkeypatch=monkeypatch)
    assert isinstance(found, _rawfiles.RawFile)
    assert (found.records, found.empty_lines, found.empty_last_field) == (3, 1, True)


# --- the reader: Arrow's parser, the csv module where Arrow cannot -------------------

field_text = st.text(alphabet=st.sampled_from(list('ab ,"\r\né')), max_size=12)
records = st.lists(st.lists(field_text, min_size=1, max_size=9), max_size=25)


def _rows(batches: object) -> list[str]:
    import pyarrow as pa

    table = pa.Table.from_batches(list(batches), schema=_rawfiles.RAW_RECORDS_SCHEMA)  # type: ignore[arg-type]
    return sorted(repr(row) for row in table.to_pylist())


@settings(max_examples=150, deadline=None)
@given(rows=records, trailing_comma=st.booleans(), block_bytes=st.sampled_from([64, 1 << 20]))
# Arrow's text of this malformed record, spanning two 64-byte blocks, lost the LF
# of its quoted CRLF: such a record's text comes from the csv module.
@example(
    rows=[['aaa"', "aaa,éé", 'aaaaaaa"éé', 'aaaaa""""""é']] * 2 + [['aaaaaaa"éé', "a\r\n"]],
    trailing_comma=True,
    block_bytes=64,
)
def test_arrow_reader_equals_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    trailing_comma: bool,
    block_bytes: int,
) -> None:
    """Any RFC 4180 file (quoted line breaks and quotes, records of any number
    of fields, empty trailing fields): the records Arrow reads equal the csv
    module's, also when a record longer than Arrow's block sends the rest of the
    file to the csv module."""
    import csv

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row)
    text = out.getvalue()
    if trailing_comma:
        text = text.replace("\r\n", ",\r\n")
        text = text.replace(",".join(HEADER) + ",", ",".join(HEADER), 1)
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(text.encode())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_rawfiles, "_ARROW_CSV_BLOCK_BYTES", block_bytes)
        arrow = _rows(_rawfiles.csv_record_batches(str(path)))
    module = _rows(_rawfiles._csv_module_record_batches(str(path), None, 8192))
    assert arrow == module
