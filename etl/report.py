"""The run date's report: :class:`UFOReport`, one self-contained HTML page.

``<data_root>/ufo/report/date=YYYY-MM-DD/`` holds ``index.html`` and the PNG
charts it shows: the top 10 states, a tile map of the US states and Canadian
provinces, sightings per month, the top 10 shapes, and the rejects by reason.
Every number drawn is also printed in a table. The page loads nothing from the
network (no scripts, no web fonts, no CDN): it opens from a local disk, an
``s3://`` download or an e-mail attachment alike.

The map is a *tile map*: one equal square per state or province, placed roughly
where it lies. A true choropleth needs boundary shapes, which neither
matplotlib nor this project ships, and nothing is downloaded at run time.

The report is published like a dataset (:mod:`backends._reports`): rendered
into a local temporary directory, uploaded into ``ufo/_staging/``, moved or
copied into place, ``_SUCCESS`` last. Rendering uses matplotlib's Agg canvas
(no display) with a fixed size, DPI and font, and no timestamps, so the same
aggregates give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import transforms
from backends import DatasetError, DatasetLocation
from backends._reports import REPORT, REPORT_INDEX, ReportLocation, publish_report
from backends._storage import filesystem, read_table
from etl.datasets import DATASETS
from etl.targets import DatasetTarget
from etl.tasks import UFOTask, task_for
from transforms.schema import CANADIAN_PROVINCES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

DPI: Final = 100
CHARTS: Final[dict[str, tuple[int, int]]] = {
    "top10_states.png": (640, 400),
    "state_tiles.png": (900, 700),
    "by_month.png": (900, 420),
    "top10_shapes.png": (640, 400),
}
"""Every PNG of the report and its size in pixels (width, height)."""

CHART_DATASETS: Final = ("top10_states", "top10_shapes", "by_state", "by_month", "rejects")
"""The datasets the report's charts and their tables are drawn from."""
TABLE_DATASETS: Final = tuple(d.name for d in DATASETS.values() if d.in_report)
"""The datasets the report prints as tables of their own (``in_report`` in the
registry), in pipeline order."""
REPORT_DATASETS: Final = (*CHART_DATASETS, *(d for d in TABLE_DATASETS if d not in CHART_DATASETS))
"""Every dataset the report reads."""
_TABLE_ROWS: Final = 200
"""A dataset printed as a table shows at most this many rows."""

TILES: Final[dict[str, tuple[int, int]]] = {
    # (column, row), row 0 at the top: Alaska and Canada, New England's north, the
    # contiguous states in the usual tile-grid layout, then Hawaii and Puerto Rico.
    **{"AK": (0, 0), "YT": (1, 0), "NT": (2, 0), "NU": (3, 0), "NL": (10, 0), "PE": (11, 0)},
    **{"BC": (1, 1), "AB": (2, 1), "SK": (3, 1), "MB": (4, 1), "ON": (6, 1), "QC": (8, 1)},
    **{"NB": (10, 1), "NS": (11, 1), "VT": (9, 2), "NH": (10, 2), "ME": (11, 2)},
    **{code: (col, 3) for col, code in enumerate("WA ID MT ND MN IL WI MI NY RI MA".split())},
    **{code: (col, 4) for col, code in enumerate("OR NV WY SD IA IN OH PA NJ CT".split())},
    **{code: (col, 5) for col, code in enumerate("CA UT CO NE MO KY WV VA MD DE".split())},
    **{code: (col + 1, 6) for col, code in enumerate("AZ NM KS AR TN NC SC DC".split())},
    **{code: (col + 3, 7) for col, code in enumerate("OK LA MS AL GA".split())},
    **{"HI": (0, 8), "TX": (3, 8), "FL": (8, 8), "PR": (10, 8)},
}
"""Where each state and province sits on the tile map."""

REJECT_MEANINGS: Final = {
    "malformed": "not exactly 7 fields",
    "header_row": "a repeated header line",
    "duplicate": "an exact copy of an earlier record",
}
MONTH_NAMES: Final = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
NO_STATE: Final = "(none)"
"""How the report shows sightings without a US or Canadian state."""
_STATE_COLOR: Final = "#2f5d8a"
_SHAPE_COLOR: Final = "#6a4c93"
_AVERAGE_COLOR: Final = "#d1495b"
_TILE_COLORMAP: Final = "YlGnBu"
_CHART_LABEL_CHARS: Final = 28


class Ranked(NamedTuple):
    rank: int
    name: str
    sightings: int


class StateCount(NamedTuple):
    state: str | None
    country: str | None
    sightings: int
    first_sighted_at: dt.datetime | None
    last_sighted_at: dt.datetime | None


class MonthCount(NamedTuple):
    year: int
    month: int
    sightings: int


@dataclass(frozen=True)
class ReportData:
    """What the report shows: the aggregates of one run date."""

    date: dt.date
    top_states: list[Ranked]
    top_shapes: list[Ranked]
    by_state: list[StateCount]
    by_month: list[MonthCount]
    rejects: dict[str, int]
    """Reject count by reason: every reason of the contract, in rule order."""
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """The rows of each dataset of :data:`TABLE_DATASETS`, sorted."""

    @property
    def sightings(self) -> int:
        return sum(row.sightings for row in self.by_state)

    @property
    def dated_sightings(self) -> int:
        return sum(row.sightings for row in self.by_month)

    @property
    def sightings_without_state(self) -> int:
        return sum(row.sightings for row in self.by_state if row.state is None)

    @property
    def total_rejects(self) -> int:
        return sum(self.rejects.values())


# --- reading ---------------------------------------------------------------------------


def _columns(table: pa.Table, columns: Sequence[str], dataset: str) -> list[dict[str, Any]]:
    missing = set(columns) - set(table.column_names)
    if missing:
        raise DatasetError(f"dataset {dataset} lacks column(s) {sorted(missing)}")
    rows: list[dict[str, Any]] = table.select(list(columns)).to_pylist()
    return rows


def read_columns(location: DatasetLocation, columns: Sequence[str]) -> pa.Table:
    """Only ``columns`` of a complete dataset (Parquet reads nothing else)."""
    fs, _ = filesystem(location.uri, location.s3)
    files = [f.split("://", 1)[1] if "://" in f else f for f in location.data_files()]
    return pq.ParquetDataset(files, filesystem=fs).read(columns=list(columns))


def _ranked(location: DatasetLocation, name_column: str) -> list[Ranked]:
    rows = _columns(read_table(location), ("rank", name_column, "sightings"), location.dataset)
    return sorted(Ranked(int(r["rank"]), str(r[name_column]), int(r["sightings"])) for r in rows)


def load_report_data(date: dt.date, locations: Mapping[str, DatasetLocation]) -> ReportData:
    """The aggregates of ``date``, read with pyarrow (locally or on S3), no engine.

    ``locations`` maps every dataset of :data:`REPORT_DATASETS` to its complete
    dataset; of ``rejects`` only the ``reason`` column is read.
    """
    by_state = [
        StateCount(
            r["state"],
            r["country"],
            int(r["sightings"]),
            r["first_sighted_at"],
            r["last_sighted_at"],
        )
        for r in _columns(
            read_table(locations["by_state"]),
            ("state", "country", "sightings", "first_sighted_at", "last_sighted_at"),
            "by_state",
        )
    ]
    by_state.sort(key=lambda r: (-r.sightings, r.state is None, r.state or ""))
    by_month = sorted(
        MonthCount(int(r["year"]), int(r["month"]), int(r["sightings"]))
        for r in _columns(
            read_table(locations["by_month"]), ("year", "month", "sightings"), "by_month"
        )
    )
    reasons = read_columns(locations["rejects"], ["reason"]).column("reason")
    counts = {
        str(row["values"]): int(row["counts"]) for row in pc.value_counts(reasons).to_pylist()
    }
    rejects = {reason: counts.pop(reason, 0) for reason in transforms.REJECT_REASONS}
    rejects.update(sorted(counts.items()))  # none, by the contract; shown if there are
    tables = {
        name: sorted(
            _columns(read_table(locations[name]), DATASETS[name].schema.names, name),
            key=lambda row: tuple((v is None, "" if v is None else v) for v in row.values()),
        )
        for name in TABLE_DATASETS
    }
    return ReportData(
        date=date,
        tables=tables,
        top_states=_ranked(locations["top10_states"], "state"),
        top_shapes=_ranked(locations["top10_shapes"], "shape"),
        by_state=by_state,
        by_month=by_month,
        rejects=rejects,
    )


# --- charts ----------------------------------------------------------------------------


def _figure(name: str) -> Figure:
    from matplotlib.figure import Figure

    width, height = CHARTS[name]
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def _save(fig: Figure, out_dir: str, name: str) -> None:
    fig.savefig(
        os.path.join(out_dir, name),
        format="png",
        dpi=DPI,
        metadata={"Software": None},
        facecolor="white",
    )


def _short(label: str, limit: int = _CHART_LABEL_CHARS) -> str:
    """A label that fits a chart; the table prints it whole."""
    label = " ".join(label.split())
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=16)
    ax.set_xticks([])
    ax.set_yticks([])


def _bar_chart(out_dir: str, name: str, title: str, rows: list[Ranked], color: str) -> None:
    fig = _figure(name)
    ax = fig.subplots()
    ax.set_title(title)
    if not rows:
        _no_data(ax)
    else:
        labels = [f"{r.rank}. {_short(r.name)}" for r in rows]
        bars = ax.barh(range(len(rows)), [r.sightings for r in rows], color=color, height=0.7)
        ax.set_yticks(range(len(rows)), labels)
        ax.invert_yaxis()
        ax.bar_label(bars, labels=[f"{r.sightings:,}" for r in rows], padding=4, fontsize=10)
        ax.set_xlabel("sightings")
        ax.set_xlim(0, max(r.sightings for r in rows) * 1.12)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    _save(fig, out_dir, name)


def _month_chart(out_dir: str, name: str, rows: list[MonthCount]) -> None:
    import numpy as np

    fig = _figure(name)
    ax = fig.subplots()
    ax.set_title("Sightings per month")
    if not rows:
        _no_data(ax)
        _save(fig, out_dir, name)
        return
    first = rows[0].year * 12 + rows[0].month - 1
    last = rows[-1].year * 12 + rows[-1].month - 1
    counts = np.zeros(last - first + 1)
    for row in rows:
        counts[row.year * 12 + row.month - 1 - first] = row.sightings
    x = (first + np.arange(len(counts))) / 12.0
    ax.plot(x, counts, color=_STATE_COLOR, linewidth=0.9, label="sightings in the month")
    if len(counts) >= 24:
        average = np.convolve(counts, np.ones(12) / 12.0, mode="valid")
        ax.plot(
            x[11:] - 5.5 / 12.0,
            average,
            color=_AVERAGE_COLOR,
            linewidth=2.0,
            label="12-month moving average",
        )
    ax.set_xlabel("year")
    ax.set_ylabel("sightings")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", frameon=False)
    _save(fig, out_dir, name)


def _tile_chart(out_dir: str, name: str, data: ReportData) -> None:
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    counts = {row.state: row.sightings for row in data.by_state if row.state is not None}
    top = max([counts.get(code, 0) for code in TILES] + [1])
    cmap = matplotlib.colormaps[_TILE_COLORMAP]
    norm = PowerNorm(gamma=0.5, vmin=0, vmax=top)
    fig = _figure(name)
    ax = fig.subplots()
    ax.set_title("Sightings by state and province: tile map")
    for code, (col, row) in sorted(TILES.items()):
        count = counts.get(code, 0)
        face = cmap(norm(count)) if count else (0.93, 0.93, 0.93, 1.0)
        canadian = code in CANADIAN_PROVINCES
        ax.add_patch(
            Rectangle(
                (col + 0.04, -row + 0.04),
                0.92,
                0.92,
                facecolor=face,
                edgecolor="#333333" if canadian else "white",
                linewidth=1.2 if canadian else 0.0,
                linestyle=(0, (3, 2)) if canadian else "solid",
            )
        )
        r, g, b, _ = face
        ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else "#222222"
        ax.text(
            col + 0.5,
            -row + 0.62,
            code,
            ha="center",
            va="center",
            color=ink,
            fontsize=11,
            fontweight="bold",
        )
        ax.text(
            col + 0.5, -row + 0.3, f"{count:,}", ha="center", va="center", color=ink, fontsize=8.5
        )
    columns = max(col for col, _ in TILES.values()) + 1
    rows = max(row for _, row in TILES.values()) + 1
    ax.set_xlim(0, columns)
    ax.set_ylim(-rows + 1, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        orientation="horizontal",
        shrink=0.5,
        aspect=40,
        pad=0.02,
        label="sightings (square-root scale)",
    )
    unplaced = data.sightings_without_state + sum(
        count for code, count in counts.items() if code not in TILES
    )
    ax.text(
        0,
        -rows + 0.85,
        "One square per state or province, placed roughly where it lies; dashed: Canada.\n"
        f"Not shown: {unplaced:,} sightings without a US or Canadian state.",
        fontsize=9.5,
        color="#444444",
        va="top",
    )
    _save(fig, out_dir, name)


# --- the page --------------------------------------------------------------------------


def _e(value: object) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def _n(value: int) -> str:
    return f"{value:,}"


def _table(
    table_id: str,
    caption: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str | int | None]],
    numeric: Sequence[bool],
    footer: Sequence[str | int] | None = None,
) -> str:
    """An HTML table; ``int`` cells print with thousands separators, ``None`` empty."""

    def cells(values: Sequence[str | int | None], tag: str) -> str:
        out = []
        for value, is_number in zip(values, numeric):
            css = ' class="num"' if is_number else ""
            if value is None:
                text = ""
            elif isinstance(value, int):
                text = _n(value)
            else:
                text = _e(value)
            out.append(f"<{tag}{css}>{text}</{tag}>")
        return "".join(out)

    num = ' class="num"'
    head = "".join(
        f'<th scope="col"{num if is_number else ""}>{_e(h)}</th>'
        for h, is_number in zip(header, numeric)
    )
    body = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    foot = f"<tfoot><tr>{cells(footer, 'td')}</tr></tfoot>" if footer is not None else ""
    return (
        f'<table id="{table_id}">\n<caption>{_e(caption)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>{foot}\n</table>"
    )


def _image(name: str, alt: str) -> str:
    width, height = CHARTS[name]
    return f'<img src="{_e(name)}" width="{width}" height="{height}" alt="{_e(alt)}">'


def _when(value: dt.datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


_STYLE: Final = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       margin: 0 auto; max-width: 960px; padding: 16px 24px 40px; color: #1d1d1f;
       background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.8em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.3em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
p.lead { color: #555; margin-top: 0; }
img { max-width: 100%; height: auto; display: block; margin: 0.4em 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 10px; text-align: left;
         vertical-align: top; }
th { background: #f4f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; border-top: 2px solid #bbb; }
.columns { display: flex; flex-wrap: wrap; gap: 0 32px; }
details { margin: 0.4em 0 1em; }
summary { cursor: pointer; color: #2f5d8a; }
.note { color: #555; font-size: 0.92em; }
footer { margin-top: 2.5em; color: #777; font-size: 0.85em; }
"""


def _dataset_names() -> str:
    names = [f"<code>{_e(name)}</code>" for name in REPORT_DATASETS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _cell(value: Any) -> str | int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _dataset_tables(data: ReportData) -> list[str]:
    """A section per dataset of :data:`TABLE_DATASETS`: its rows, every column."""
    sections = []
    for name in TABLE_DATASETS:
        spec = DATASETS[name]
        rows = data.tables.get(name, [])
        shown = rows[:_TABLE_ROWS]
        columns = spec.schema.names
        numeric = [spec.schema[c].is_numeric() and c != "year" for c in columns]
        sections.append(f"<h2>{_e(name)}</h2>")
        sections.append(f'<p class="note">{_e(spec.description)}</p>')
        sections.append(
            _table(
                name.replace("_", "-"),
                f"{name}: {_n(len(rows))} rows"
                + (f", the first {_TABLE_ROWS} shown" if len(rows) > _TABLE_ROWS else ""),
                list(columns),
                [[_cell(row[c]) for c in columns] for row in shown],
                numeric,
            )
        )
    return sections


def render_html(data: ReportData) -> str:
    """The page: every text escaped, every number of the charts in a table."""
    date = data.date.isoformat()
    summary_rows: list[Sequence[str | int | None]] = [
        ["raw records", data.sightings + data.total_rejects],
        ["sightings", data.sightings],
        ["sightings with a date", data.dated_sightings],
        ["sightings without a US or Canadian state", data.sightings_without_state],
        ["rejects", data.total_rejects],
    ]
    month_rows: list[Sequence[str | int | None]] = []
    by_year: dict[int, dict[int, int]] = {}
    for m in data.by_month:
        by_year.setdefault(m.year, {})[m.month] = m.sightings
    for year, months in sorted(by_year.items()):
        month_rows.append(
            [str(year), *(months.get(month) for month in range(1, 13)), sum(months.values())]
        )
    busiest = max(data.by_month, key=lambda m: (m.sightings, -m.year, -m.month), default=None)
    busiest_text = (
        f"The busiest month: {MONTH_NAMES[busiest.month - 1]} {busiest.year}, "
        f"{_n(busiest.sightings)} sightings. "
        if busiest
        else ""
    )
    sections = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>UFO sightings report, {_e(date)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>UFO sightings</h1>",
        f'<p class="lead">NUFORC reports cleaned by ufo-etl, run date {_e(date)}.</p>',
        "</header>",
        _table("summary", "Records", ["", "records"], summary_rows, [False, True]),
        "<h2>Top 10 states</h2>",
        '<div class="columns">',
        _image("top10_states.png", "Bar chart of the 10 states with the most sightings"),
        _table(
            "top10-states",
            "Top 10 states",
            ["rank", "state", "sightings"],
            [[str(r.rank), r.name, r.sightings] for r in data.top_states],
            [True, False, True],
        ),
        "</div>",
        "<h2>Sightings by state and province</h2>",
        _image(
            "state_tiles.png",
            "Tile map of the US states and Canadian provinces coloured by sightings",
        ),
        '<p class="note">A <strong>tile map</strong>, not a choropleth: every state, '
        "district, territory and province is one equal square, placed roughly where it "
        "lies, so small states are as visible as large ones. A true choropleth needs "
        "boundary data, which this report does not download when it runs.</p>",
        "<details>",
        f"<summary>Sightings of all {_n(len(data.by_state))} states and provinces</summary>",
        _table(
            "by-state",
            "Sightings by state",
            ["state", "country", "sightings", "first", "last"],
            [
                [
                    r.state if r.state is not None else NO_STATE,
                    r.country,
                    r.sightings,
                    _when(r.first_sighted_at),
                    _when(r.last_sighted_at),
                ]
                for r in data.by_state
            ],
            [False, False, True, False, False],
            footer=["total", "", data.sightings, "", ""],
        ),
        "</details>",
        "<h2>Sightings per month</h2>",
        _image("by_month.png", "Line chart of sightings per month over the years"),
        f'<p class="note">{_e(busiest_text)}Months without sightings count as 0 on the '
        "chart; the moving average is drawn only from 24 months of data on. "
        f"{_n(data.sightings - data.dated_sightings)} sightings have no date and are "
        "not counted here.</p>",
        "<details>",
        f"<summary>Sightings per month, {_n(len(by_year))} years</summary>",
        _table(
            "by-month",
            "Sightings per month (blank: none)",
            ["year", *MONTH_NAMES, "total"],
            month_rows,
            [False, *([True] * 12), True],
            footer=["total", *([""] * 12), data.dated_sightings],
        ),
        "</details>",
        "<h2>Top 10 shapes</h2>",
        '<div class="columns">',
        _image("top10_shapes.png", "Bar chart of the 10 most reported shapes"),
        _table(
            "top10-shapes",
            "Top 10 shapes",
            ["rank", "shape", "sightings"],
            [[str(r.rank), r.name, r.sightings] for r in data.top_shapes],
            [True, False, True],
        ),
        "</div>",
        *_dataset_tables(data),
        "<h2>Rejected records</h2>",
        _table(
            "rejects",
            "Rejects by reason",
            ["reason", "meaning", "records"],
            [[reason, REJECT_MEANINGS.get(reason, ""), n] for reason, n in data.rejects.items()],
            [False, False, True],
            footer=["total", "", data.total_rejects],
        ),
        "<footer>",
        f"<p>From the datasets {_dataset_names()} of {_e(date)}. Charts drawn with "
        "matplotlib; this page loads nothing from the network.</p>",
        "</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(sections)


def render_report(data: ReportData, out_dir: str) -> list[str]:
    """Write ``index.html`` and every chart of :data:`CHARTS` into ``out_dir``;
    returns the file names."""
    import matplotlib

    # Every chart's settings: the font matplotlib ships, no math text from the data.
    with matplotlib.rc_context(
        {
            "font.family": "DejaVu Sans",
            "font.size": 11,
            "axes.titlesize": 14,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": False,
            "text.parse_math": False,
            "path.simplify": True,
        }
    ):
        _bar_chart(out_dir, "top10_states.png", "Top 10 states", data.top_states, _STATE_COLOR)
        _tile_chart(out_dir, "state_tiles.png", data)
        _month_chart(out_dir, "by_month.png", data.by_month)
        _bar_chart(out_dir, "top10_shapes.png", "Top 10 shapes", data.top_shapes, _SHAPE_COLOR)
    with open(os.path.join(out_dir, REPORT_INDEX), "w", encoding="utf-8", newline="\n") as out:
        out.write(render_html(data))
    return sorted([*CHARTS, REPORT_INDEX])


# --- the task --------------------------------------------------------------------------


class UFOReport(UFOTask):
    """The aggregates of the run date -> ``<data_root>/ufo/report/date=YYYY-MM-DD/``:
    ``index.html`` and its PNG charts, published atomically."""

    def requires(self) -> list[UFOTask]:
        tasks = {task_for(name) for name in REPORT_DATASETS}
        return [self.clone(task) for task in sorted(tasks, key=lambda t: t.get_task_family())]

    def output(self) -> DatasetTarget:
        return self.report_target(REPORT)

    def run(self) -> None:
        locations = {name: self.location(name) for name in REPORT_DATASETS}
        data = load_report_data(self.date, locations)
        location = self.output().location
        assert isinstance(location, ReportLocation)
        with tempfile.TemporaryDirectory(prefix="ufo-report-") as local:
            files = render_report(data, local)
            publish_report(
                local,
                location,
                {
                    "files": files,
                    "sightings": data.sightings,
                    "rejects": data.total_rejects,
                    "source": self.source,
                },
            )
        log.info("report: %s/%s", location.uri, REPORT_INDEX)
