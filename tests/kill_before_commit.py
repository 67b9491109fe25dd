"""Run Luigi's command line, killing this process with SIGKILL when the commit of
one dataset (or the report) starts, after its files are written::

    python tests/kill_before_commit.py DATASET --module etl UFOPipeline ...

The crash tests use it to prove that a killed writer leaves nothing that looks
complete. It hooks the commit through :data:`backends._storage.BEFORE_COMMIT`,
the seam production code offers for this; nothing in production reads an
environment switch.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import backends._storage as storage
from backends import DatasetLocation


def kill_at(dataset: str) -> None:
    """Kill this process when the commit of ``dataset`` starts."""

    def kill(location: DatasetLocation) -> None:
        if location.dataset == dataset:
            os.kill(os.getpid(), signal.SIGKILL)

    storage.BEFORE_COMMIT.append(kill)


if __name__ == "__main__":
    from luigi.cmdline import luigi_run

    kill_at(sys.argv[1])
    luigi_run(sys.argv[2:])
