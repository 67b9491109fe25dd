"""Run a DuckDB script unchanged, with a memory limit it has no option for.

    python benchmarks/_duckdb_limits.py --memory-limit 2GB --temp-directory DIR \\
        -- SCRIPT [ARGS ...]

The expert DuckDB script (``../shared/baselines/duckdb_sql.py``) takes
``--threads`` but no memory limit, and DuckDB reads none from the environment.
So that every variant runs under the same limit, this launcher wraps
``duckdb.connect`` to set ``memory_limit`` and ``temp_directory`` (where DuckDB
spills) on every connection opened without them, then runs SCRIPT as
``__main__`` from where it lives (``runpy.run_path``: nothing is copied). The
settings each connection got are printed to stderr, for the run's log.

It imports nothing but ``duckdb`` and the standard library, and is run by path
(not ``-m``), so that it adds nothing measurable to the script's run.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--memory-limit", required=True)
    parser.add_argument("--temp-directory", required=True)
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    import duckdb

    connect = duckdb.connect
    limits = {"memory_limit": args.memory_limit, "temp_directory": args.temp_directory}

    def limited_connect(*a: Any, **kw: Any) -> Any:
        config = dict(kw.pop("config", None) or {})
        for key, value in limits.items():
            config.setdefault(key, value)
        kw["config"] = config
        con = connect(*a, **kw)
        got = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
        print(f"[_duckdb_limits] memory_limit, temp_directory: {got}", file=sys.stderr)
        return con

    duckdb.connect = limited_connect
    script = os.path.abspath(args.script)
    sys.argv = [script, *args.args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
