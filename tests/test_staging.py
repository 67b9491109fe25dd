"""Staging directories of concurrent writers on one data root.

Writers of two run dates (two Luigi workers, say) stage the same dataset under
one shared ``ufo/_staging/<dataset>/`` folder, and each removes the shared
folders it leaves empty. One writer's clean-up must never take away a folder
another writer is about to write into: that failed a worker's task at random
(``FileNotFoundError`` from the engine's mkdir) before staging directories got a
parent owned by their writer.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from backends import DatasetLocation
from backends._storage import commit, read_table, remove_staging

DATES = [dt.date(2024, 5, 17) + dt.timedelta(days=n) for n in range(4)]


def test_a_writers_clean_up_leaves_the_others_staging_parent(tmp_path: Path) -> None:
    first, second = (DatasetLocation(str(tmp_path), "by_state", d) for d in DATES[:2])
    staging_first = first.new_staging_uri()
    staging_second = second.new_staging_uri()
    # The first writer fails before its engine wrote anything, and cleans up.
    remove_staging(staging_first, first)
    assert not Path(staging_first).parent.exists()
    # The second writer's engine creates one directory level only (as Hadoop's
    # mkdirs does when its parent exists) and writes.
    os.mkdir(staging_second)
    pq.write_table(pa.table({"n": [1]}), f"{staging_second}/part-0.parquet")
    commit(staging_second, second, {"rows": 1})
    remove_staging(staging_second, second)
    assert read_table(second).to_pylist() == [{"n": 1}]
    assert not list((tmp_path / "ufo" / "_staging").rglob("*"))


def test_staging_survives_a_concurrent_clean_up(tmp_path: Path) -> None:
    """Writers of four dates stage, write, commit and clean up 50 times each,
    all at once: none fails and every dataset is complete."""
    errors: list[BaseException] = []

    def writer(date: dt.date) -> None:
        location = DatasetLocation(str(tmp_path), "by_state", date)
        try:
            for n in range(50):
                staging = location.new_staging_uri()
                try:
                    os.mkdir(staging)
                    pq.write_table(pa.table({"n": [n]}), f"{staging}/part-0.parquet")
                    commit(staging, location, {"rows": 1})
                finally:
                    remove_staging(staging, location)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(d,)) for d in DATES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for date in DATES:
        assert read_table(DatasetLocation(str(tmp_path), "by_state", date)).to_pylist() == [
            {"n": 49}
        ]
    assert not list((tmp_path / "ufo" / "_staging").rglob("*"))
