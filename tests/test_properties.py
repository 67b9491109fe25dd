"""Property-based parity: generated raw rows give the reference's rows on every engine.

Each engine is compared with the pure-Python reference (``tests/reference.py``);
DuckDB equal to the reference and Spark equal to the reference means DuckDB
equals Spark. Each example is up to five raw files read as one input; examples
are bounded so the Spark run stays within a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import reference
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import transforms
from backends import Backend

_WHITESPACE = st.sampled_from(["", " ", "  ", "\t", "\x0b", "\x0c", "\u00a0"])
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\t\r\n"),
    max_size=12,
)


@st.composite
def _date(draw: st.DrawFn) -> str:
    month = draw(st.integers(0, 14))
    day = draw(st.integers(0, 32))
    year = draw(
        st.sampled_from(
            ["00", "14", "65", "68", "69", "99", "0000", "1900", "2000", "2014", "2019"]
        )
    )
    text = f"{month}/{day}/{year}"
    if draw(st.booleans()):
        text += f"{draw(st.sampled_from([' ', '  ']))}{draw(st.integers(0, 25))}:{draw(st.integers(0, 61)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 61)):02d}"
    return text


def _padded(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, s, b: a + s + b, _WHITESPACE, inner, _WHITESPACE)


_FIELDS = {
    "date_time": _padded(
        st.one_of(_date(), st.sampled_from(["", "23:00", "summer 1950", "9/?/99 22:30"]), _TEXT)
    ),
    "city": _padded(st.one_of(st.sampled_from(["", "Reno", "Mumbai (India)"]), _TEXT)),
    "state": _padded(
        st.one_of(
            st.sampled_from(["", "CA", "ca", "Fl", "PQ", "nf", "YK", "XX", "ON", "DC", "pr"]), _TEXT
        )
    ),
    "shape": _padded(
        st.one_of(
            st.sampled_from(["", "Fireball", "fireball", "FIREBALL", "ff", "Light", "ÉCLAIR"]),
            _TEXT,
        )
    ),
    "duration": _padded(
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "5 minutes",
                    "~30 sec",
                    "1-2 hrs",
                    "2:00",
                    ":30",
                    "1:75",
                    "approx.5 min",
                    "a minute",
                    "2 or 3 minutes",
                    "unknown",
                ]
            ),
            _TEXT,
        )
    ),
    "summary": _padded(
        st.one_of(
            st.sampled_from(["", "&amp;quot;", "a &#44 b", "&lt;x&gt", '"quoted', "it&#39;s"]),
            _TEXT,
        )
    ),
    "posted": _padded(st.one_of(_date(), st.sampled_from(["", "6/1/05", "3/18/14"]), _TEXT)),
}
_ROW = st.fixed_dictionaries(_FIELDS)
_LINE = st.one_of(
    _ROW.map(lambda row: "\t".join(row.values())),
    st.just("\t".join(reference.HEADER)),
    st.just(" date / time \tCITY\tstate\tShape\tduration\tsummary\tPOSTED "),
    st.lists(_TEXT, min_size=1, max_size=9).map("\t".join),  # often malformed
)


def _run_engine(backend: Backend, raw_path: str) -> dict[str, list[dict[str, Any]]]:
    raw = backend.read_raw(raw_path, "tsv")
    classified = transforms.classify(raw.records)
    return {
        "sightings": backend.to_rows(transforms.sightings(classified)),
        "rejects": backend.to_rows(transforms.rejects(classified)),
    }


def _key(row: dict[str, Any]) -> list[tuple[bool, str]]:
    return [(value is None, repr(value)) for value in row.values()]


_FILE = st.tuples(
    st.lists(st.one_of(_LINE, _LINE.map(lambda line: line + "\n")), min_size=1, max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
"""One raw file: its lines (some with an extra LF, an empty line that is not a
record) and its line break."""


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(_FILE, min_size=1, max_size=5))
# A clock duration (23:00 is 1,380 s): found on Sail, where it comes out 1380.0000000000002.
@example(files=[(["\t\t\t\t23:00\t\t"], "\n")])
def test_generated_rows_match_the_reference(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, files: list[tuple[list[str], str]]
) -> None:
    # Several files per example: one engine run checks them all (compiling the
    # transforms is most of an example's time) and duplicates across files count.
    folder = tmp_path_factory.mktemp("generated")
    paths = []
    for number, (lines, newline) in enumerate(files):
        path = folder / f"generated-{number}.tsv"
        path.write_bytes(newline.join(["\t".join(reference.HEADER), *lines]).encode("utf-8"))
        paths.append(str(path))
    expected_sightings, expected_rejects = reference.classify(reference.read_raw(paths, "tsv"))
    got = _run_engine(backend, str(folder / "*.tsv"))
    for name, expected in (("sightings", expected_sightings), ("rejects", expected_rejects)):
        want = sorted(expected, key=_key)
        columns = list(want[0]) if want else None
        have = sorted(
            ({c: row[c] for c in columns} if columns else row for row in got[name]), key=_key
        )
        assert have == want, name
