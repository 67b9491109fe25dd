"""Try a transformation before Luigi runs it: ``python -m etl shell|sql|preview|runs``.

``shell``
    An interactive Python session (IPython when it is installed and the input is
    a terminal) with ``con`` (the Ibis connection), ``raw`` (the raw-records
    table: every field a string, plus ``source_file``, ``field_count`` and
    ``raw_line``), the datasets of the latest complete run date as Ibis tables,
    and ``transforms``. The same tables are SQL views (``raw_records``,
    ``sightings``, ...), so the output of ``sql`` runs as ``con.sql(text)``.
``sql DATASET``
    The SQL Ibis generates for the dataset's transform on ``--backend``, reading
    the tables its Luigi task reads.
``preview DATASET``
    The first rows of a complete dataset as a text table.
``runs``
    The run dates with complete datasets.

Settings come from ``luigi.cfg`` (``[etl]``, ``[duckdb]``, ``[spark]``, and
``LUIGI_CONFIG_PATH``) exactly as for a pipeline run; the flags override them.
Exit status: 0 on success, 2 for a usage error, 1 for any other error, reported
on one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import code
import datetime as dt
import decimal
import importlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import luigi.configuration

import transforms
from backends import BACKENDS, Backend, DatasetError, DatasetLocation, S3Settings, UfoEtlError
from backends._explore import (
    RAW_RECORDS_TABLE,
    compile_sql,
    describe,
    latest_complete_date,
    raw_records_schema,
    run_dates,
    start,
)
from backends._rawfiles import RAW_FORMATS
from backends.errors import ConfigurationError, RawInputError
from etl._session import backend_options, s3_settings
from etl.config import etl
from etl.datasets import DATASETS as REGISTRY
from etl.datasets import expression, input_tables
from etl.metrics import read_runs

DATASETS: Final = tuple(REGISTRY)
"""Every dataset of a run, in pipeline order."""

PROG: Final = "python -m etl"
CELL_WIDTH: Final = 40
"""Longer values are cut in printed tables."""
DEFAULT_TIMEOUT: Final = 10.0


# --------------------------------------------------------------------------
# The transform chain behind each dataset
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a dataset's Luigi task computes, on unbound input tables.

    Attributes
    ----------
    dataset
        The dataset's name.
    expr
        The transform chain; its only input is the table ``input_name``.
    input_name
        ``raw_records`` for ``sightings`` and ``rejects``, else the dataset the
        task reads.
    input_schema
        The columns of that input.
    formula
        The chain in words, e.g. ``transforms.by_state(sightings)``.
    """

    dataset: str
    expr: ir.Table
    input_name: str
    input_schema: ibis.Schema
    formula: str


def plan(dataset: str) -> Plan:
    """The transform chain of ``dataset`` as its task runs it.

    Raises
    ------
    ConfigurationError
        For an unknown dataset.
    """
    spec = REGISTRY.get(dataset)
    if spec is None:
        raise ConfigurationError(_unknown_dataset(dataset))
    if spec.from_raw:
        raw = ibis.table(raw_records_schema(), name=RAW_RECORDS_TABLE)
        return Plan(
            dataset,
            expression(spec, [raw]),
            RAW_RECORDS_TABLE,
            raw.schema(),
            f"transforms.{spec.transform.__name__}(transforms.classify({RAW_RECORDS_TABLE}))",
        )
    sources = input_tables(spec)
    return Plan(
        dataset,
        expression(spec, sources),
        ", ".join(spec.inputs),
        sources[0].schema(),
        f"transforms.{spec.transform.__name__}({', '.join(spec.inputs)})",
    )


def dataset_sql(dataset: str, backend_name: str) -> str:
    """The SQL of ``dataset``'s transform on ``backend_name``, with a comment header.

    The SQL reads the table ``raw_records`` (the raw records) for ``sightings``
    and ``rejects``, else the table named after the input dataset.
    """
    p = plan(dataset)
    header = [
        f"-- {dataset} on {backend_name}, compiled by Ibis {ibis.__version__}: {p.formula}",
        f"-- reads {p.input_name}: {_columns(p.input_schema)}",
        f"-- returns {_columns(p.expr.schema())} (cast to these types when written)",
    ]
    return "\n".join([*header, compile_sql(p.expr, backend_name)])


def _columns(schema: ibis.Schema) -> str:
    return ", ".join(f"{name} {str(dtype).lstrip('!')}" for name, dtype in schema.items())


# --------------------------------------------------------------------------
# Text tables
# --------------------------------------------------------------------------

_ESCAPES: Final = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def format_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], max_width: int | None = CELL_WIDTH
) -> str:
    """Rows as a plain, aligned text table; numbers right-aligned, null as ``NULL``.

    Examples
    --------
    >>> print(format_table(["state", "sightings"], [["CA", 627], [None, 12]]))
    state  sightings
    -----  ---------
    CA           627
    NULL          12
    """
    rows = [list(row) for row in rows]
    cells = [[_cell(value, max_width) for value in row] for row in rows]
    widths = [len(name) for name in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    numeric = [
        any(row[i] is not None for row in rows)
        and all(_is_number(row[i]) for row in rows if row[i] is not None)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str], right: Sequence[bool]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()

    out = [line(columns, numeric), line(["-" * w for w in widths], numeric)]
    out += [line(row, numeric) for row in cells]
    return "\n".join(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _cell(value: Any, max_width: int | None) -> str:
    if value is None:
        text = "NULL"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value).translate(_ESCAPES)
    if max_width is not None and len(text) > max_width:
        text = text[: max_width - 1] + "…"
    return text


def show(table: ir.Table, n: int = 10) -> None:
    """Print the first ``n`` rows of an Ibis table as a text table."""
    arrow = table.limit(n).to_pyarrow()
    print(format_table(arrow.column_names, [list(r.values()) for r in arrow.to_pylist()]))


# --------------------------------------------------------------------------
# Settings: luigi.cfg, then the flags
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The settings a command runs with."""

    backend: str
    raw_path: str
    raw_format: str
    data_root: str
    spark_master: str | None
    timeout: float
    s3: S3Settings
    spark_remote: str | None = None

    def backend_options(self) -> dict[str, Any]:
        """The engine's options from luigi.cfg, ``--spark-master`` or
        ``--spark-remote`` applied (a flag replaces the other setting of luigi.cfg;
        both flags at once are an error)."""
        if self.spark_master and self.spark_remote:
            raise ConfigurationError("--spark-master and --spark-remote are exclusive: give one")
        try:
            options = backend_options(self.backend)
        except ValueError as e:
            raise ConfigurationError(_config_error(e)) from e
        if self.backend == "spark" and self.spark_master:
            options.pop("remote", None)
            options["master"] = self.spark_master
        if self.backend == "spark" and self.spark_remote:
            options.pop("master", None)
            options["remote"] = self.spark_remote
        return {**options, "s3": self.s3}

    def location(self, dataset: str, date: dt.date) -> DatasetLocation:
        return DatasetLocation(self.data_root, dataset, date, self.s3)

    def run_dates(self, datasets: Sequence[str] = DATASETS) -> dict[dt.date, tuple[str, ...]]:
        return run_dates(self.data_root, datasets, self.s3)

    @property
    def etl_dir(self) -> str:
        """Where the datasets live, for messages."""
        return self.location("x", dt.date.min).root + "/ufo/etl"

    def start(self) -> Backend:
        return start(self.backend, self.backend_options(), self.timeout)


def _config_error(e: ValueError) -> str:
    cause = f": {e.__cause__}" if e.__cause__ else ""
    return f"invalid setting in luigi.cfg: {e}{cause}"


def _config_defaults() -> dict[str, str]:
    """``[etl]`` as luigi.cfg and ``LUIGI_CONFIG_PATH`` set it."""
    try:
        settings = etl()
    except ValueError as e:
        raise ConfigurationError(_config_error(e)) from e
    return {
        "backend": settings.backend,
        "raw_path": settings.raw_path,
        "raw_format": settings.raw_format,
        "data_root": settings.data_root,
        # For --help only: the engine reads [spark] through backend_options().
        "spark_master": str(
            luigi.configuration.get_config().get("spark", "master", "") or "local[*]"
        ),
        "spark_remote": str(luigi.configuration.get_config().get("spark", "remote", "")),
    }


def _settings(args: argparse.Namespace) -> Settings:
    try:
        s3 = s3_settings()
    except ValueError as e:
        raise ConfigurationError(_config_error(e)) from e
    return Settings(
        backend=args.backend,
        raw_path=args.raw_path,
        raw_format=args.raw_format,
        data_root=args.data_root,
        spark_master=args.spark_master,
        spark_remote=args.spark_remote,
        timeout=args.timeout,
        s3=s3,
    )


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def cmd_runs(args: argparse.Namespace) -> int:
    """Print every run date with complete datasets, and which ones."""
    settings = _settings(args)
    dates = settings.run_dates()
    if not dates:
        print(f"no complete dataset under {settings.etl_dir}", file=sys.stderr)
        return 0
    rows = [
        [date.isoformat(), f"{len(names)}/{len(DATASETS)}", ", ".join(names)]
        for date, names in dates.items()
    ]
    print(format_table(["date", "complete", "datasets"], rows, max_width=None))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the newest run records (see :mod:`etl.metrics`)."""
    runs = read_runs(args.data_root, s3_settings()).slice(0, args.limit).to_pylist()
    if not runs:
        print(f"no run recorded under {args.data_root}", file=sys.stderr)
        return 0
    columns = [
        "ended_at", "date", "task", "status", "backend", "seconds",
        "rows_read", "rows_written", "bytes_written", "rejects_by_reason",
    ]  # fmt: skip
    rows = [[run[c] for c in columns] for run in runs]
    print(format_table(columns, rows, max_width=None))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Print the SQL of a dataset's transform on ``--backend``."""
    print(dataset_sql(args.dataset, args.backend))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Print the first rows of a complete dataset."""
    settings = _settings(args)
    date = args.date or _latest_complete(settings)
    location = settings.location(args.dataset, date)
    if not location.exists():
        raise DatasetError(
            f"dataset {args.dataset} for {date} is not complete (no _SUCCESS in {location.uri})"
            f"; {_dates_hint(settings, [args.dataset])}"
        )
    backend = settings.start()
    try:
        table = _read_dataset(backend, location)
        arrow = table.limit(args.limit).to_pyarrow()
        total = int(table.count().execute())
    finally:
        backend.close()
    rows = [list(row.values()) for row in arrow.to_pylist()]
    print(format_table(arrow.column_names, rows))
    print(f"({len(rows)} of {total} rows of {args.dataset}, {date}, read by {backend.name})")
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """Start an interactive session on the engine with the raw and dataset tables."""
    settings = _settings(args)
    date, locations = _shell_datasets(settings, args.date)
    backend = settings.start()
    try:
        con = backend.con
        namespace: dict[str, Any] = {
            "__name__": "__console__",
            "__doc__": None,
            "backend": backend,
            "con": con,
            "ibis": ibis,
            "transforms": transforms,
            "show": show,
            "run_date": date,
            "raw": None,
        }
        try:
            raw_input = backend.read_raw(settings.raw_path, settings.raw_format)
        except RawInputError as e:
            raw_line = f"not loaded: {_one_line(e)}"
        else:
            namespace["raw"] = raw_input.records
            con.create_view(RAW_RECORDS_TABLE, raw_input.records, overwrite=True)
            files = [f.path for f in raw_input.files]
            shown = ", ".join(files[:3]) + (f", … ({len(files)} files)" if len(files) > 3 else "")
            raw_line = (
                f"{shown}: {settings.raw_format}, {raw_input.expected_records:,} records"
                f" -> raw (SQL view {RAW_RECORDS_TABLE})"
            )
        for name, location in locations.items():
            table = _read_dataset(backend, location)
            namespace[name] = con.create_view(name, table, overwrite=True)
        ibis.options.interactive = True
        banner = _banner(
            backend, settings, raw_line, date, list(locations), explicit_date=bool(args.date)
        )
        return _interact(namespace, banner)
    finally:
        backend.close()


def _read_dataset(backend: Backend, location: DatasetLocation) -> ir.Table:
    """A complete dataset with its contract columns only (no ``date`` column that an
    engine may derive from the ``date=`` directory)."""
    table = backend.read_dataset(location)
    columns = plan(location.dataset).expr.schema().names
    return table.select(*[c for c in table.columns if c in columns])


def _shell_datasets(
    settings: Settings, date: dt.date | None
) -> tuple[dt.date | None, dict[str, DatasetLocation]]:
    """The run date the shell opens and its complete datasets."""
    if date is None:
        date = latest_complete_date(settings.data_root, DATASETS, settings.s3)
        names: Sequence[str] = DATASETS if date else ()
    else:
        names = settings.run_dates().get(date, ())
        if not names:
            raise DatasetError(
                f"no complete dataset for {date} under {settings.etl_dir}; "
                f"{_dates_hint(settings, DATASETS)}"
            )
    return date, {name: settings.location(name, date) for name in names if date}


def _banner(
    backend: Backend,
    settings: Settings,
    raw_line: str,
    date: dt.date | None,
    names: Sequence[str],
    explicit_date: bool,
) -> str:
    if date is None:
        date_line = f"none: no complete run under {settings.etl_dir}"
        datasets_line = "none (python -m luigi --module etl UFOPipeline --local-scheduler)"
    else:
        which = "" if explicit_date else " (the latest complete run)"
        date_line = f"{date}{which} under {settings.etl_dir}"
        missing = [d for d in DATASETS if d not in names]
        datasets_line = f"{', '.join(names)} -> tables, and SQL views of the same names" + (
            f"; not complete: {', '.join(missing)}" if missing else ""
        )
    return "\n".join(
        [
            f"ufo-etl shell on {backend.name} ({describe(backend)}); ibis interactive mode is on",
            f"  raw       {raw_line}",
            f"  date      {date_line}",
            f"  datasets  {datasets_line}",
            "  also      con (the Ibis connection), transforms, ibis, show(table, n=10), backend;",
            "            con.sql(text) runs what `python -m etl sql DATASET` prints",
        ]
    )


def _interact(namespace: dict[str, Any], banner: str) -> int:
    """Run IPython on a terminal when installed, else Python's own console."""
    on_terminal = sys.stdin.isatty()
    if on_terminal:
        try:
            ipython = importlib.import_module("IPython")
        except ImportError:
            _enable_completion(namespace)
        else:
            print(banner, file=sys.stderr)
            ipython.start_ipython(argv=["--no-banner"], user_ns=namespace)
            return 0
    else:
        # Piped input: no prompts in the output, only what the statements print.
        sys.ps1 = sys.ps2 = ""
    try:
        code.interact(banner=banner, local=namespace, exitmsg="")
    except SystemExit as e:  # exit() or quit()
        return e.code if isinstance(e.code, int) else 0
    return 0


def _enable_completion(namespace: dict[str, Any]) -> None:
    try:
        import readline
        import rlcompleter
    except ImportError:
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")


def _latest_complete(settings: Settings) -> dt.date:
    date = latest_complete_date(settings.data_root, DATASETS, settings.s3)
    if date is None:
        raise DatasetError(
            f"no complete run under {settings.etl_dir}: run the pipeline first "
            "(python -m luigi --module etl UFOPipeline --local-scheduler) or pass --date"
        )
    return date


def _dates_hint(settings: Settings, datasets: Sequence[str]) -> str:
    dates = [d.isoformat() for d in settings.run_dates(datasets)]
    return f"complete dates: {', '.join(dates)}" if dates else "no date is complete"


def _unknown_dataset(name: str) -> str:
    return f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}"


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _dataset_arg(text: str) -> str:
    if text not in DATASETS:
        raise argparse.ArgumentTypeError(_unknown_dataset(text))
    return text


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value


def build_parser(defaults: dict[str, str]) -> argparse.ArgumentParser:
    """The ``python -m etl`` parser; ``defaults`` is ``[etl]`` from luigi.cfg."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (default: luigi.cfg, as for a pipeline run)")
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default=defaults["backend"],
        help="[etl] backend: %(default)s",
    )
    group.add_argument(
        "--raw-path", default=defaults["raw_path"], help="[etl] raw_path: %(default)s"
    )
    group.add_argument(
        "--raw-format",
        choices=RAW_FORMATS,
        default=defaults["raw_format"],
        help="[etl] raw_format: %(default)s",
    )
    group.add_argument(
        "--data-root", default=defaults["data_root"], help="[etl] data_root: %(default)s"
    )
    group.add_argument(
        "--spark-master",
        metavar="URL",
        help=f"[spark] master, local[N] or spark://host:7077: {defaults['spark_master']}",
    )
    group.add_argument(
        "--spark-remote",
        metavar="URL",
        help="[spark] remote, a Spark Connect server sc://host:15002, exclusive with "
        f"--spark-master (no Java needed): {defaults['spark_remote'] or 'not set'}",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long a spark:// master or sc:// server may take to answer (default: %(default)g)",
    )
    date_flag = argparse.ArgumentParser(add_help=False)
    date_flag.add_argument(
        "--date", type=_date_arg, help="run date YYYY-MM-DD (default: the latest complete run)"
    )
    dataset_arg = argparse.ArgumentParser(add_help=False)
    dataset_arg.add_argument(
        "dataset", type=_dataset_arg, metavar="DATASET", help=f"one of {', '.join(DATASETS)}"
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Explore ufo-etl's data and transforms before Luigi runs them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shell = commands.add_parser(
        "shell",
        parents=[date_flag, common],
        help="interactive session with con, raw, the datasets and transforms",
        description="An interactive Python session (IPython when installed) with con, raw, "
        "the datasets of the latest complete run date and transforms.",
    )
    shell.set_defaults(run=cmd_shell)
    sql = commands.add_parser(
        "sql",
        parents=[dataset_arg, common],
        help="print the SQL Ibis generates for a dataset on --backend",
        description="Print the SQL Ibis generates for DATASET's transform on --backend, "
        "reading raw_records (sightings, rejects) or the input dataset by name.",
    )
    sql.set_defaults(run=cmd_sql)
    preview = commands.add_parser(
        "preview",
        parents=[dataset_arg, date_flag, common],
        help="print the first rows of a complete dataset",
        description="Print the first rows of a complete dataset as a table.",
    )
    preview.add_argument(
        "--limit", type=_positive_int, default=10, metavar="N", help="rows (default: 10)"
    )
    preview.set_defaults(run=cmd_preview)
    runs = commands.add_parser(
        "runs",
        parents=[common],
        help="list the run dates with complete datasets",
        description="List every run date with complete datasets, and which.",
    )
    runs.set_defaults(run=cmd_runs)
    metrics = commands.add_parser(
        "metrics",
        parents=[common],
        help="print the last task runs: times, rows, rejects, bytes",
        description="Print the newest run records of <data_root>/ufo/etl/_runs/.",
    )
    metrics.add_argument(
        "--limit", type=_positive_int, default=20, metavar="N", help="runs (default: 20)"
    )
    metrics.set_defaults(run=cmd_metrics)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``python -m etl`` command; return its exit status."""
    try:
        parser = build_parser(_config_defaults())
        args = parser.parse_args(argv)
        status: int = args.run(args)
        return status
    except UfoEtlError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
