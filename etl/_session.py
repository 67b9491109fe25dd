"""One engine per worker process, shared by the tasks it runs."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
from typing import Any

import backends
from backends import Backend, ConfigurationError, DatasetLocation, S3Settings
from etl.config import duckdb, etl, s3, spark

log = logging.getLogger(__name__)

_open: dict[tuple[Any, ...], Backend] = {}


def s3_settings() -> S3Settings:
    """``[s3]`` from ``luigi.cfg`` and the flags, empty values from ``AWS_*``."""
    settings = s3()
    return S3Settings(
        endpoint_url=settings.endpoint_url,
        region_name=settings.region_name,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
    ).resolved()


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
    options: dict[str, Any] = {
        "app_name": settings_spark.app_name,
        "conf": dict(settings_spark.conf),
    }
    master, remote = settings_spark.master, settings_spark.remote
    if master and remote:
        raise ConfigurationError(
            f"[spark] master ({master}) and remote (sc://...) are both set: they are "
            f"exclusive; set one (--spark-master or --spark-remote), e.g. --spark-master ''"
        )
    if remote:
        options["remote"] = remote
    else:
        options["master"] = master or None  # None: the backend's local[*]
    return options


def check_settings(data_root: str) -> None:
    """Read ``[etl]`` and the chosen engine's section, and check ``data_root``, so
    that a bad value fails when a task is created (on the command line, before
    scheduling) with a :class:`~backends.errors.ConfigurationError` naming it."""
    settings = etl()
    backend_options(settings.backend)
    # data_root is checked as every dataset location checks it.
    location = DatasetLocation(data_root, "sightings", dt.date(2000, 1, 1))
    location.check_writable_root()


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
    settings_s3 = s3_settings()
    key = (name, repr(sorted(options.items())), settings_s3)
    if key not in _open:
        log.info("starting the %s backend", name)
        _open[key] = backends.connect(name, s3=settings_s3, **options)
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
