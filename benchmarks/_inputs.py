"""The raw inputs of the scenarios, made once and kept in ``<cache>/raw/``:

- the generator's TSV file of N rows (``etl.generate``, seed S);
- the same records as RFC 4180 CSV (the csv module's ``writer``: minimal
  quoting, CRLF line ends, as the real NUFORC index is written);
- an *overlap* directory holding the TSV file twice (hard links when the file
  system allows, else copies): a raw path whose records are half duplicates.

Each is made again only when the generator's source (or the TSV it is made
from) changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from typing import Final

BYTES_PER_ROW: Final = 160
"""About the size of a generated TSV row (151 MiB per million rows)."""


@dataclass(frozen=True)
class Input:
    """What one scenario's variants read."""

    raw_path: str
    """What ufo-etl gets as ``--etl-raw-path``: a file or a directory."""
    files: tuple[str, ...]
    """What the experts get: every file."""
    raw_format: str
    rows: int
    """Rows of one generated file."""
    records: int
    """Data lines read in all: ``rows`` times the number of files."""
    label: str


def _generator_version() -> str:
    from etl import generate as generator

    with open(generator.__file__, "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()[:16]


def _fresh(path: str, want: dict[str, object]) -> bool:
    meta_path = path + ".json"
    if not (os.path.exists(path) and os.path.exists(meta_path)):
        return False
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    return {k: meta.get(k) for k in want} == want and meta.get("bytes") == os.path.getsize(path)


def _remember(path: str, want: dict[str, object]) -> None:
    with open(path + ".json", "w", encoding="utf-8") as f:
        json.dump({**want, "bytes": os.path.getsize(path)}, f)


def raw_dir(cache: str) -> str:
    return os.path.join(cache, "raw")


def tsv_path(cache: str, rows: int, seed: int) -> str:
    return os.path.join(raw_dir(cache), f"ufo-{rows}-seed{seed}.tsv")


def is_cached(cache: str, rows: int, seed: int) -> bool:
    return _fresh(
        tsv_path(cache, rows, seed), {"rows": rows, "seed": seed, "generator": _generator_version()}
    )


def ensure_tsv(cache: str, rows: int, seed: int) -> str:
    """The generated raw file for ``rows`` and ``seed``."""
    from etl import generate as generator

    path = tsv_path(cache, rows, seed)
    want = {"rows": rows, "seed": seed, "generator": _generator_version()}
    if _fresh(path, want):
        return path
    os.makedirs(raw_dir(cache), exist_ok=True)
    started = time.perf_counter()
    partial = path + ".partial"
    generator.generate(rows, partial, seed=seed)
    os.replace(partial, path)
    _remember(path, want)
    print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def tsv_input(cache: str, rows: int, seed: int) -> Input:
    path = ensure_tsv(cache, rows, seed)
    return Input(path, (path,), "tsv", rows, rows, f"{rows:,} rows, TSV")


def csv_input(cache: str, rows: int, seed: int) -> Input:
    """The generated records as RFC 4180 CSV: each TSV line split on TAB and
    written by ``csv.writer`` (CRLF, fields quoted where needed); empty lines,
    which are no record in either format, are left out."""
    tsv = ensure_tsv(cache, rows, seed)
    path = tsv[: -len(".tsv")] + ".csv"
    want = {"from": os.path.basename(tsv), "from_bytes": os.path.getsize(tsv), "format": "rfc4180"}
    if not _fresh(path, want):
        started = time.perf_counter()
        partial = path + ".partial"
        with (
            open(tsv, encoding="utf-8", newline="") as source,
            open(partial, "w", encoding="utf-8", newline="") as target,
        ):
            writer = csv.writer(target, lineterminator="\r\n")
            for line in source:
                line = line.rstrip("\r\n")
                if line:
                    writer.writerow(line.split("\t"))
        os.replace(partial, path)
        _remember(path, want)
        print(f"wrote {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return Input(path, (path,), "csv", rows, rows, f"{rows:,} rows, CSV")


def overlap_input(cache: str, rows: int, seed: int) -> Input:
    """A directory holding the generated file twice."""
    tsv = ensure_tsv(cache, rows, seed)
    directory = os.path.join(raw_dir(cache), f"overlap-{rows}-seed{seed}")
    files = tuple(os.path.join(directory, f"scrape-{i}.tsv") for i in (1, 2))
    size = os.path.getsize(tsv)
    if not all(os.path.exists(f) and os.path.getsize(f) == size for f in files) or any(
        os.path.getmtime(f) < os.path.getmtime(tsv) for f in files
    ):
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for f in files:
            try:
                os.link(tsv, f)
            except OSError:
                shutil.copyfile(tsv, f)
    return Input(
        directory, files, "tsv", rows, 2 * rows, f"2 files × {rows:,} rows (half duplicates), TSV"
    )


def disk_needed(cache: str, rows: int, seed: int) -> int:
    """Bytes a run at ``rows`` needs free: the raw file when it is not made yet,
    plus twice its size. The outputs are small beside it (a fifth of the raw
    file for ufo-etl, a quarter for the DuckDB expert; the reference's are kept
    until the others are checked); the spill is not: the DuckDB expert's table of
    distinct lines, under the memory limit, is about the raw file's size, and
    the output check's hash tables spill too."""
    raw = rows * BYTES_PER_ROW
    return (0 if is_cached(cache, rows, seed) else raw) + 2 * raw


def disk_free(path: str) -> int:
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free
