"""What the hand-written baselines share: their command line, the contract's
vocabulary and patterns, and a step timer.

Written from ``docs/contract.md`` alone: nothing here imports ``transforms``,
``backends`` or ``etl``, so a baseline that agrees with ufo-etl is an
independent witness, not a copy. The patterns use only syntax that RE2 (DuckDB),
``java.util.regex`` (Spark) and Python's ``re`` (pandas) read alike.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

DATASETS: Final = (
    "sightings",
    "rejects",
    "by_state",
    "top10_states",
    "by_shape",
    "top10_shapes",
    "by_month",
)
"""The seven datasets every variant writes, each as Parquet in ``<out>/<name>/``."""

HEADER: Final = ("Date / Time", "City", "State", "Shape", "Duration", "Summary", "Posted")
RAW_FIELDS: Final = ("date_time", "city", "state", "shape", "duration", "summary", "posted")
WHITESPACE: Final = " \t\n\r\x0b\x0c"
"""The contract's "ASCII whitespace" that trim removes."""

US_STATES: Final = tuple(
    sorted(
        "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
        "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
        "DC PR".split()
    )
)
CA_PROVINCES: Final = tuple(sorted("AB BC MB NB NL NS NT NU ON PE QC SK YT".split()))
LEGACY_STATES: Final = {"PQ": "QC", "NF": "NL", "YK": "YT"}

_DATE = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2}|[0-9]{4})"
DATE_TIME_PATTERN: Final = rf"^{_DATE}(?: +([0-9]{{1,2}}):([0-9]{{2}})(?::([0-9]{{2}}))?)?$"
"""Groups: month, day, year, hour, minute, second."""
POSTED_PATTERN: Final = rf"^{_DATE}$"
"""Groups: month, day, year."""

_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
NUMBER_WORDS: Final = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
}
_QUALIFIERS = (
    "~|about|around|approximately|approx\\.?|appx\\.?|aprox|ca\\.?|<|>|\\+|over|under"
    "|almost|nearly|less than|more than|at least"
)
_UNITS = "seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d"
DURATION_PATTERN: Final = (
    rf"^(?:(?:{_QUALIFIERS}) *)?"
    rf"({_NUMBER}|an|a|one|two|three|four|five|six|seven|eight|nine|ten) *"
    rf"(?:(?:-|to|or) *({_NUMBER}) *)?"
    rf"({_UNITS})"
    r"(?: *(?:\.|\+|\?|or so))?$"
)
"""Groups: quantity, range end, unit. Longer alternatives come first, so that
``approx.5 min`` reads as ``approx.`` + ``5``."""
CLOCK_PATTERN: Final = r"^([0-9]*):([0-5][0-9])$"
"""``[M]:SS``. Groups: minutes, seconds."""
UNIT_SECONDS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
"""Seconds per unit, keyed by the unit's first letter."""

ENTITY_CHAIN: Final = (
    ("&quot;?", '"'),
    ("&#39;?", "'"),
    ("&#44;?", ","),
    ("&lt;?", "<"),
    ("&gt;?", ">"),
    ("&amp;?", "&"),
)
"""Entity replacements whose chain equals one left-to-right pass: no replacement
makes a ``&`` that a later one could match, except ``&amp;``, which runs last."""


@dataclass(frozen=True)
class BaselineArgs:
    raw: str
    """The raw TSV file, as an absolute path (``source_file`` in ``rejects``)."""
    out: str
    threads: int
    memory_limit: str


def parse_args(description: str, argv: Sequence[str] | None = None) -> BaselineArgs:
    """The command line every baseline takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--raw", required=True, help="the raw TSV file (one file)")
    parser.add_argument("--out", required=True, help="writes <out>/<dataset>/*.parquet")
    parser.add_argument("--threads", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument(
        "--memory-limit", default="2GB", help="memory budget, e.g. 2GB (default 2GB)"
    )
    args = parser.parse_args(argv)
    return BaselineArgs(
        raw=os.path.abspath(args.raw),
        out=os.path.abspath(args.out),
        threads=args.threads,
        memory_limit=args.memory_limit,
    )


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)


def memory_bytes(text: str) -> int:
    """Bytes in a size such as ``2GB`` (10^9), ``2GiB`` (2^30), ``1500MB`` or ``2g``.

    A bare letter (``2g``, Java style) is binary, as the JVM reads it.

    >>> memory_bytes("2GB"), memory_bytes("2GiB"), memory_bytes("512m")
    (2000000000, 2147483648, 536870912)
    """
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a memory size: {text!r}")
    number, unit, binary, byte = match.groups()
    power = "kmgt".find(unit.lower()) + 1 if unit else 0
    base = 1024 if binary or (unit and not byte) else 1000
    return int(float(number) * base**power)


class Steps:
    """Prints how long each step took to stderr, for profiling a baseline."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = self.last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        print(f"[{self.name}] {step}: {now - self.last:.2f} s", file=sys.stderr, flush=True)
        self.last = now

    def total(self) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"[{self.name}] total: {elapsed:.2f} s", file=sys.stderr, flush=True)


def dataset_dir(out: str, name: str) -> str:
    """``<out>/<name>``, created."""
    path = os.path.join(out, name)
    os.makedirs(path, exist_ok=True)
    return path
