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
# Found in CI: `""` then a line break inside a quoted field is no empty last field.
@example(body=b'",""\n"\n', block_bytes=5, crlf=False)
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
