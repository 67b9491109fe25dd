"""The report: a real pipeline run, its numbers against the Parquet aggregates,
its files, its atomic publication (locally and on S3), and headless Chromium."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import luigi
import pyarrow.compute as pc
import pytest
from PIL import Image
from s3_fixtures import BUCKET, S3Server
from test_pipeline import RUN_DATE, _cli, read_dataset

import etl.report
import etl.tasks
from backends import SUCCESS, Backend, DatasetError, DatasetLocation
from backends._reports import REPORT, REPORT_INDEX, ReportLocation, publish_report
from etl.generate import generate
from etl.report import (
    CHARTS,
    NO_STATE,
    REPORT_DATASETS,
    TABLE_DATASETS,
    TILES,
    ReportData,
    load_report_data,
    render_report,
)
from transforms.schema import CANADIAN_PROVINCES, REJECT_REASONS, US_STATES

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
# Data that must come out of the page as text, never as markup (or as math text
# in matplotlib): a shape frequent enough to be in the top 10.
HOSTILE_SHAPE = "$\\ufo$ <script>console.log(\"ufo\")</script> & 'q' </td>"
AGGREGATES = REPORT_DATASETS


# --- helpers ---------------------------------------------------------------------------


class Page(HTMLParser):
    """The tables (by id; their thead, tbody and tfoot rows as cell texts), every
    URL-like attribute, and a count of every tag."""

    URL_ATTRIBUTES = frozenset({"src", "href", "srcset", "poster", "data", "action", "background"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict[str, list[list[str]]]] = {}
        self.refs: list[tuple[str, str, str]] = []
        self.tags: Counter[str] = Counter()
        self._table: str | None = None
        self._section = "tbody"
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and value is not None:
                self.refs.append((tag, name, value))
        if tag == "table":
            self._table = dict(attrs)["id"]
            assert self._table is not None
            self.tables[self._table] = {"thead": [], "tbody": [], "tfoot": []}
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table][self._section].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def body(self, table: str) -> list[list[str]]:
        return self.tables[table]["tbody"]

    def foot(self, table: str) -> list[str]:
        (row,) = self.tables[table]["tfoot"]
        return row


def num(text: str) -> int:
    """A number as the report prints it (thousands separators)."""
    return int(text.replace(",", ""))


def check_png(path: Path, size: tuple[int, int]) -> None:
    """``path`` decodes, has ``size``, and shows something: many colours, not a blank."""
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG", path.name
        assert image.size == size, path.name
        rgb = image.convert("RGB")
    colors = rgb.getcolors(maxcolors=1 << 24)
    assert colors is not None
    assert len(colors) > 50, f"{path.name}: only {len(colors)} colours"
    most_common = max(count for count, _ in colors)
    assert most_common < 0.97 * size[0] * size[1], f"{path.name} is almost one colour"


def write_raw(path: Path, rows: int, seed: int) -> None:
    """A generated dirty file, plus 300 sightings of :data:`HOSTILE_SHAPE`."""
    generate(rows, path, seed=seed)
    text = path.read_bytes()
    extra = "".join(
        f"1/2/14 20:{i % 60:02d}\tTown {i}\tca\t{HOSTILE_SHAPE}\t5 minutes\tLights {i}\t1/3/14\n"
        for i in range(300)
    )
    path.write_bytes(text + (b"" if text.endswith(b"\n") else b"\n") + extra.encode())


def report_dir(data_root: str, date: dt.date = RUN_DATE) -> Path:
    return Path(ReportLocation(data_root, REPORT, date).uri)


def aggregate_locations(data_root: str) -> dict[str, DatasetLocation]:
    return {name: DatasetLocation(data_root, name, RUN_DATE) for name in AGGREGATES}


def build_pipeline(data_root: str) -> bool:
    config = luigi.configuration.get_config()
    config.set("etl", "data_root", data_root)
    return bool(luigi.build([etl.UFOPipeline(date=RUN_DATE)], local_scheduler=True, workers=1))


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "ufo.tsv"
    write_raw(path, 4_000, seed=21)
    return path


@pytest.fixture(scope="module")
def etl_config(raw_file: Path) -> Iterator[None]:
    """``[etl]`` pointing at :func:`raw_file` for this module, restored afterwards."""
    config = luigi.configuration.get_config()
    keys = ("raw_path", "raw_format", "data_root")
    saved = {k: config.get("etl", k, None) for k in keys}
    config.set("etl", "raw_path", str(raw_file))
    config.set("etl", "raw_format", "tsv")
    yield
    for key, value in saved.items():
        if value is None:
            config.remove_option("etl", key)
        else:
            config.set("etl", key, value)


@pytest.fixture(scope="module")
def pipeline_root(
    backend: Backend, etl_config: None, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The data root of one real pipeline run over :func:`raw_file`."""
    data_root = str(tmp_path_factory.mktemp("out"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(etl.tasks, "current_backend", lambda: backend)
        assert build_pipeline(data_root)
    return data_root


@pytest.fixture(scope="module")
def page(pipeline_root: str) -> Page:
    return Page((report_dir(pipeline_root) / REPORT_INDEX).read_text(encoding="utf-8"))


# --- a real run ------------------------------------------------------------------------


def test_default_run_writes_a_complete_report(pipeline_root: str) -> None:
    location = ReportLocation(pipeline_root, REPORT, RUN_DATE)
    assert location.exists()
    assert etl.UFOReport(date=RUN_DATE).complete()
    directory = report_dir(pipeline_root)
    assert directory == Path(pipeline_root) / "ufo" / "report" / f"date={RUN_DATE.isoformat()}"
    expected = sorted([*CHARTS, REPORT_INDEX])
    assert sorted(p.name for p in directory.iterdir()) == sorted([*expected, SUCCESS])
    assert [Path(f).name for f in location.data_files()] == expected
    marker = json.loads((directory / SUCCESS).read_text())
    assert marker["files"] == expected
    assert marker["sightings"] == read_dataset(pipeline_root, "sightings").num_rows
    # Staging is cleaned up; the datasets are untouched by the report.
    assert not [p for p in Path(pipeline_root).glob("ufo/_staging/**/*") if p.is_file()]
    assert not list(Path(pipeline_root).glob("ufo/etl/report*"))


def test_tables_equal_the_aggregates(pipeline_root: str, page: Page) -> None:
    for table, name in (("top10-states", "state"), ("top10-shapes", "shape")):
        want = sorted(
            (r["rank"], r[name], r["sightings"])
            for r in read_dataset(pipeline_root, table.replace("-", "_")).to_pylist()
        )
        got = [(num(rank), value, num(n)) for rank, value, n in page.body(table)]
        assert got == want, table
        assert len(got) == 10, table
    assert HOSTILE_SHAPE in {row[1] for row in page.body("top10-shapes")}

    by_state = read_dataset(pipeline_root, "by_state").to_pylist()
    got_states = {
        row[0]: (row[1] or None, num(row[2]), row[3] or None, row[4] or None)
        for row in page.body("by-state")
    }
    assert got_states == {
        (r["state"] if r["state"] is not None else NO_STATE): (
            r["country"],
            r["sightings"],
            r["first_sighted_at"].date().isoformat() if r["first_sighted_at"] else None,
            r["last_sighted_at"].date().isoformat() if r["last_sighted_at"] else None,
        )
        for r in by_state
    }
    assert num(page.foot("by-state")[2]) == sum(r["sightings"] for r in by_state)

    by_month = read_dataset(pipeline_root, "by_month").to_pylist()
    got_months: dict[tuple[int, int], int] = {}
    for year, *months, total in page.body("by-month"):
        cells = {m: num(v) for m, v in enumerate(months, start=1) if v}
        assert num(total) == sum(cells.values()), year
        got_months.update({(int(year), m): v for m, v in cells.items()})
    assert got_months == {(r["year"], r["month"]): r["sightings"] for r in by_month}
    assert num(page.foot("by-month")[-1]) == sum(r["sightings"] for r in by_month)

    rejects = read_dataset(pipeline_root, "rejects")
    counts = {
        r["values"]: r["counts"] for r in pc.value_counts(rejects.column("reason")).to_pylist()
    }
    got_rejects = {row[0]: num(row[2]) for row in page.body("rejects")}
    assert got_rejects == {reason: counts.get(reason, 0) for reason in REJECT_REASONS}
    assert set(counts) == set(REJECT_REASONS)  # the generated dirt has every reason
    assert num(page.foot("rejects")[2]) == rejects.num_rows

    sightings = read_dataset(pipeline_root, "sightings")
    summary = {label: num(value) for label, value in page.body("summary")}
    assert summary == {
        "raw records": sightings.num_rows + rejects.num_rows,
        "sightings": sightings.num_rows,
        "sightings with a date": sightings.num_rows - sightings.column("sighted_at").null_count,
        "sightings without a US or Canadian state": sightings.column("state").null_count,
        "rejects": rejects.num_rows,
    }


def test_page_references_only_its_own_files(pipeline_root: str, page: Page) -> None:
    directory = report_dir(pipeline_root)
    html = (directory / REPORT_INDEX).read_text(encoding="utf-8")
    assert page.refs, "no images?"
    for tag, attribute, value in page.refs:
        assert "://" not in value and not value.startswith(("/", "data:", "//")), value
        assert (directory / value).is_file(), f"<{tag} {attribute}={value!r}> does not exist"
        assert (directory / value).resolve().parent == directory.resolve()
    assert sorted(value for _, _, value in page.refs) == sorted(CHARTS)
    # Nothing to fetch or run: no scripts, stylesheets, frames or fonts.
    for tag in ("script", "link", "iframe", "object", "embed", "base"):
        assert page.tags[tag] == 0, tag
    assert "url(" not in html and "@import" not in html and "://" not in html
    # Data is text, never markup.
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_pngs_decode_and_show_something(pipeline_root: str) -> None:
    for name, size in CHARTS.items():
        check_png(report_dir(pipeline_root) / name, size)
        with Image.open(report_dir(pipeline_root) / name) as image:
            assert "Software" not in image.info, name  # no version stamp: reproducible


def test_rendering_is_deterministic(pipeline_root: str, tmp_path: Path) -> None:
    data = load_report_data(RUN_DATE, aggregate_locations(pipeline_root))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    render_report(data, str(tmp_path / "a"))
    render_report(data, str(tmp_path / "b"))
    for name in [*CHARTS, REPORT_INDEX]:
        published = (report_dir(pipeline_root) / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == published, name
        assert (tmp_path / "b" / name).read_bytes() == published, name


def test_report_reads_only_the_reason_of_rejects(
    pipeline_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[tuple[str, tuple[str, ...] | None]] = []
    real_columns, real_table = etl.report.read_columns, etl.report.read_table

    def read_columns(location: DatasetLocation, columns: Any) -> Any:
        read.append((location.dataset, tuple(columns)))
        return real_columns(location, columns)

    def read_table(location: DatasetLocation) -> Any:
        read.append((location.dataset, None))
        return real_table(location)

    monkeypatch.setattr(etl.report, "read_columns", read_columns)
    monkeypatch.setattr(etl.report, "read_table", read_table)
    load_report_data(RUN_DATE, aggregate_locations(pipeline_root))
    assert sorted(read, key=str) == sorted(
        [
            ("rejects", ("reason",)),
            ("top10_states", None),
            ("top10_shapes", None),
            ("by_state", None),
            ("by_month", None),
            *((name, None) for name in TABLE_DATASETS),
        ],
        key=str,
    )


# --- failures --------------------------------------------------------------------------


def test_failed_render_leaves_no_report_and_rerun_recovers(
    backend: Backend, etl_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_root = str(tmp_path / "out")
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)

    def broken_chart(out_dir: str, name: str, *args: Any) -> None:
        (Path(out_dir) / name).write_bytes(b"\x89PNG half a chart")
        raise RuntimeError("the renderer died")

    with monkeypatch.context() as mp:
        mp.setattr(etl.report, "_month_chart", broken_chart)
        assert not build_pipeline(data_root)
    # The datasets are complete; the report is not, and left no file behind.
    assert DatasetLocation(data_root, "by_month", RUN_DATE).exists()
    assert not ReportLocation(data_root, REPORT, RUN_DATE).exists()
    assert not etl.UFOReport(date=RUN_DATE).complete()
    assert not [p for p in Path(data_root).glob("ufo/report/**/*") if p.is_file()]
    assert not [p for p in Path(data_root).glob("ufo/_staging/report/**/*") if p.is_file()]

    assert build_pipeline(data_root)
    assert ReportLocation(data_root, REPORT, RUN_DATE).exists()
    for name, size in CHARTS.items():
        check_png(report_dir(data_root) / name, size)


def test_a_run_without_sightings_still_reports(
    backend: Backend, etl_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = "Date / Time\tCity\tState\tShape\tDuration\tSummary\tPosted\n"
    raw = tmp_path / "headers_only.tsv"
    raw.write_text(header * 3 + "too\tfew\tfields\n", encoding="utf-8")
    monkeypatch.setattr(etl.tasks, "current_backend", lambda: backend)
    config = luigi.configuration.get_config()
    module_raw_path = config.get("etl", "raw_path")
    config.set("etl", "raw_path", str(raw))
    data_root = str(tmp_path / "out")
    try:
        assert build_pipeline(data_root)
    finally:
        config.set("etl", "raw_path", module_raw_path)
    page = Page((report_dir(data_root) / REPORT_INDEX).read_text(encoding="utf-8"))
    assert page.body("top10-states") == [] and page.body("by-state") == []
    assert {row[0]: num(row[2]) for row in page.body("rejects")} == {
        "malformed": 1,
        "header_row": 2,
        "duplicate": 0,
    }
    for name, size in CHARTS.items():
        with Image.open(report_dir(data_root) / name) as image:
            assert image.size == size


@pytest.mark.attack
def test_killed_publisher_leaves_nothing_complete_and_rerun_recovers(
    raw_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["UFOPipeline", "--local-scheduler", "--date", RUN_DATE.isoformat(),
            "--etl-raw-path", str(raw_file), "--etl-data-root", str(out)]  # fmt: skip
    # SIGKILL after the files are in staging, before the commit.
    killed = _cli(*args, kill_before_commit=REPORT)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not ReportLocation(str(out), REPORT, RUN_DATE).exists()
    assert not [p for p in out.glob("ufo/report/**/*") if p.is_file()]
    staged = {p.name for p in out.glob("ufo/_staging/report/**/*") if p.is_file()}
    assert staged == {*CHARTS, REPORT_INDEX}
    rerun = _cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert ReportLocation(str(out), REPORT, RUN_DATE).exists()
    assert (report_dir(str(out)) / REPORT_INDEX).is_file()


def _render(directory: Path, data: ReportData) -> Path:
    directory.mkdir(parents=True)
    render_report(data, str(directory))
    return directory


EMPTY = ReportData(
    date=RUN_DATE,
    top_states=[],
    top_shapes=[],
    by_state=[],
    by_month=[],
    rejects=dict.fromkeys(REJECT_REASONS, 0),
)


def test_publish_replaces_a_report_and_a_failed_commit_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = ReportLocation(str(tmp_path / "out"), REPORT, RUN_DATE)
    first = _render(tmp_path / "first", EMPTY)
    (first / "stale.png").write_bytes((first / "by_month.png").read_bytes())
    publish_report(str(first), location, {"n": 1})
    assert location.exists()
    assert (Path(location.uri) / "stale.png").is_file()

    second = _render(tmp_path / "second", EMPTY)

    def failing_commit(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as mp:
        mp.setattr("backends._reports.commit", failing_commit)
        with pytest.raises(OSError, match="disk full"):
            publish_report(str(second), location, {"n": 2})
    # The old report is intact, and the staging copy is gone.
    assert json.loads(Path(location.success_uri).read_text()) == {"n": 1}
    assert not [p for p in (tmp_path / "out" / "ufo" / "_staging").rglob("*") if p.is_file()]

    publish_report(str(second), location, {"n": 2})
    assert json.loads(Path(location.success_uri).read_text()) == {"n": 2}
    assert sorted(p.name for p in Path(location.uri).iterdir()) == sorted(
        [*CHARTS, REPORT_INDEX, SUCCESS]
    )


def test_publish_refuses_a_directory_that_is_not_a_report(tmp_path: Path) -> None:
    location = ReportLocation(str(tmp_path / "out"), REPORT, RUN_DATE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no index.html"):
        publish_report(str(tmp_path / "empty"), location, {})
    nested = _render(tmp_path / "nested", EMPTY)
    (nested / "sub").mkdir()
    with pytest.raises(DatasetError, match="flat directory"):
        publish_report(str(nested), location, {})
    assert not location.exists()


def test_report_on_s3(s3_server: S3Server, tmp_path: Path) -> None:
    data_root = f"s3://{BUCKET}/report-test"
    location = ReportLocation(data_root, REPORT, RUN_DATE, s3_server.settings)
    assert location.uri == f"{data_root}/ufo/report/date={RUN_DATE.isoformat()}"
    first = _render(tmp_path / "first", EMPTY)
    (first / "stale.png").write_bytes(b"old")
    publish_report(str(first), location, {"n": 1})
    publish_report(str(_render(tmp_path / "second", EMPTY)), location, {"n": 2})
    assert location.exists()
    assert [f.rsplit("/", 1)[1] for f in location.data_files()] == sorted([*CHARTS, REPORT_INDEX])
    fs = s3_server.filesystem()
    with fs.open_input_stream(location.success_uri.removeprefix("s3://")) as marker:
        assert json.loads(marker.read()) == {"n": 2}
    key = location.index_uri.removeprefix("s3://")
    with fs.open_input_stream(key) as index:
        assert index.read() == (tmp_path / "second" / REPORT_INDEX).read_bytes()
    import pyarrow.fs as pafs

    staging = fs.get_file_info(
        pafs.FileSelector(
            f"{BUCKET}/report-test/ufo/_staging", recursive=True, allow_not_found=True
        )
    )
    assert not [i for i in staging if i.is_file]


# --- rendering edge cases --------------------------------------------------------------


def test_empty_aggregates_render(tmp_path: Path) -> None:
    out = _render(tmp_path / "empty", EMPTY)
    for name, size in CHARTS.items():
        with Image.open(out / name) as image:
            assert image.size == size
    page = Page((out / REPORT_INDEX).read_text(encoding="utf-8"))
    assert page.body("top10-states") == [] and page.body("by-month") == []
    assert {row[0]: num(row[2]) for row in page.body("rejects")} == dict.fromkeys(REJECT_REASONS, 0)


def test_tile_map_places_every_state_and_province_once() -> None:
    assert set(TILES) == US_STATES | CANADIAN_PROVINCES
    assert len(set(TILES.values())) == len(TILES)


# --- headless Chromium -----------------------------------------------------------------

# Injected into a copy of the page: records every resource that fails to load,
# every image's decoded size, and every resource the page fetched.
_CHECK_SCRIPT = """<script>
window.__failed = [];
window.addEventListener("error", (e) => {
  const t = e.target;
  window.__failed.push(t && (t.src || t.href) ? (t.src || t.href) : String(e.message));
}, true);
window.addEventListener("load", () => {
  document.documentElement.dataset.check = JSON.stringify({
    failed: window.__failed,
    images: [...document.images].map((i) => [i.getAttribute("src"), i.complete,
                                             i.naturalWidth, i.naturalHeight]),
    resources: performance.getEntriesByType("resource").map((r) => r.name),
  });
});
</script>"""


def _chromium(url: str, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url],
        capture_output=True,
        text=True,
        timeout=180,
    )


def _console_messages(stderr: str) -> list[str]:
    """Console messages Chromium logs (``INFO:CONSOLE:12] "message", source: ...``);
    the report has no scripts, so any is an error."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def browser_check(page_dir: Path, index: str, profile: Path) -> dict[str, Any]:
    """Load a copy of ``page_dir/index`` with :data:`_CHECK_SCRIPT` in headless
    Chromium; what it saw, and its console messages."""
    html = (page_dir / index).read_text(encoding="utf-8")
    assert "<head>" in html
    (page_dir / "_check.html").write_text(html.replace("<head>", "<head>" + _CHECK_SCRIPT, 1))
    result = _chromium(
        (page_dir / "_check.html").as_uri(), profile, "--virtual-time-budget=10000", "--dump-dom"
    )
    assert result.returncode == 0, result.stderr[-3000:]

    class Root(HTMLParser):
        check: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "html":
                self.check = dict(attrs).get("data-check")

    root = Root()
    root.feed(result.stdout)
    assert root.check, f"the check script did not run: {result.stdout[:500]}"
    seen: dict[str, Any] = json.loads(root.check)
    # The injected script itself logs nothing; the page's own messages remain.
    seen["console"] = _console_messages(result.stderr)
    return seen


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)


@pytest.mark.slow
@needs_chromium
def test_browser_check_catches_errors(tmp_path: Path) -> None:
    """The check below can fail: a missing image and a console error are caught."""
    page_dir = tmp_path / "bad"
    page_dir.mkdir()
    (page_dir / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
        '<img src="missing.png"><script>console.error("boom")</script></body></html>'
    )
    seen = browser_check(page_dir, "index.html", tmp_path / "profile")
    assert any(url.endswith("missing.png") for url in seen["failed"])
    assert seen["images"] == [["missing.png", True, 0, 0]]
    assert any('"boom"' in line for line in seen["console"])


@pytest.mark.slow
@needs_chromium
def test_report_renders_in_headless_chromium(pipeline_root: str, tmp_path: Path) -> None:
    page_dir = tmp_path / "report"
    shutil.copytree(report_dir(pipeline_root), page_dir)
    seen = browser_check(page_dir, REPORT_INDEX, tmp_path / "profile")
    assert seen["console"] == []
    assert seen["failed"] == []
    assert sorted(tuple(i) for i in seen["images"]) == sorted(
        (name, True, width, height) for name, (width, height) in CHARTS.items()
    )
    # Whatever Chromium lists as fetched (it lists no file:// loads) is in the report.
    assert all(url.startswith(page_dir.as_uri() + "/") for url in seen["resources"])

    # The page itself, unmodified: a screenshot and no console message.
    shot = tmp_path / "shot.png"
    result = _chromium(
        (report_dir(pipeline_root) / REPORT_INDEX).as_uri(),
        tmp_path / "profile2",
        "--window-size=1000,1600",
        f"--screenshot={shot}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _console_messages(result.stderr) == []
    check_png(shot, (1000, 1600))
