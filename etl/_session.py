"""One engine per worker process, shared by the tasks it runs."""

from __future__ import annotations

import atexit
import logging
from typing import Any

import backends
from backends import Backend
from etl.config import duckdb, etl, spark

log = logging.getLogger(__name__)

_open: dict[tuple[Any, ...], Backend] = {}


def backend_options(name: str) -> dict[str, Any]:
    """The engine settings from ``luigi.cfg`` and the command line."""
    if name == "duckdb":
        settings = duckdb()
        return {
            "threads": settings.threads or None,
            "memory_limit": settings.memory_limit or None,
            "temp_directory": settings.temp_directory or None,
        }
    settings_spark = spark()
    return {
        "master": settings_spark.master,
        "app_name": settings_spark.app_name,
        "conf": dict(settings_spark.conf),
    }


def _show_pipeline_logs() -> None:
    """Show ufo-etl's INFO logs (counts, commits) beside Luigi's own.

    Luigi's default logging set-up only handles its ``luigi-interface`` logger;
    when nothing else configured logging, ufo-etl's loggers get the same kind of
    handler. A logging configuration of the user's (``[core] logging_conf_file``)
    is left alone.
    """
    if logging.getLogger().handlers:
        return
    for name in ("etl", "backends"):
        package_log = logging.getLogger(name)
        if not package_log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
            package_log.addHandler(handler)
            package_log.setLevel(logging.INFO)


def current_backend() -> Backend:
    """The backend ``[etl] backend`` names, started on first use."""
    _show_pipeline_logs()
    name = etl().backend
    options = backend_options(name)
    key = (name, repr(sorted(options.items())))
    if key not in _open:
        log.info("starting the %s backend", name)
        _open[key] = backends.connect(name, **options)
    return _open[key]


@atexit.register
def close_all() -> None:
    """Stop every engine this process started."""
    while _open:
        _, backend = _open.popitem()
        try:
            backend.close()
        except Exception:
            log.debug("closing %s failed", backend.name, exc_info=True)
