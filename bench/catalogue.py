"""Benchmark: the catalogue and its explorer on a release of 1,000,000 activities (make bench-catalogue).

1. The release: tests/support/large_release.py generates --rows activities (with about 500
   organisations, 2,000 projects and their partners) and publishes them with the library's own
   publish_release, under .bench/catalogue/. A finished release is reused; its marker keeps the
   publish step's time, so a reuse still prints it.
2. The catalogue's part of the publish step, as a run's publish step does it (run/steps.py): the
   release's files are written while a thread counts and draws the charts in every language
   (charts_in_every_language), then refresh_catalogue writes the pages with those charts. Five
   rounds on the same generated tables, each in a fresh folder: publish_release alone (P), the
   same with the drawing thread (P'), the one or the other first in turn, then the catalogue (C),
   which copies DuckDB-WASM's files into the fresh folder as a first publish does. The
   catalogue's part is (P' - P + C) / P, the median of the rounds. For the record, without a
   limit: a cold rebuild, ``refresh_catalogue(published, None, force=True)`` with nothing drawn
   (what a withdrawal, a pruning or a new translation costs), and the same figures on the bundled demo
   (tests/support/release_data.demo_tables): its 245 rows publish in a tenth of a second, so the
   catalogue's fixed cost is most of it there.
3. The explorer (explore/activities.html, the DuckDB-WASM engine) in Debian's Chromium, driven by
   Playwright, served by ``make_server`` on 127.0.0.1, port 0. Three page loads, each in a new
   browser context (nothing cached): the time from navigation until #status shows the total (the
   engine ready and the first page drawn) and the bytes the page fetched (the Content-Length of
   every GET response). Then, in the same page, filters a user sets one after the other, each
   timed until #status shows its count: a theme, then a year, then a text search, then a sort by
   the start date; then, for the record and without a limit, the costliest cases over all the
   records: a sort, a search that matches, a search that matches nothing. Each count is checked
   against Python's duckdb over the same Parquet file, and so are the rows the page shows.
   Every request is recorded; any not to 127.0.0.1 is aborted and counted (it must be none).

The catalogue's modules are imported before anything is timed.
Each figure is printed with its limit and PASS or FAIL; the exit status is 1 when a limit fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.large_release import (  # noqa: E402 (the root is on the path only now)
    generated_tables,
    large_release,
    publish_tables,
    release_marker,
)

CATALOGUE_SHARE = 0.25  # what the catalogue adds to the publish step, at most this part of the release's own time
PAGE_READY_SECONDS = 15.0
QUERY_SECONDS = 5.0
PAGE_LOADS = 3
CATALOGUE_REPEATS = 3
PUBLISH_ROUNDS = 5  # P' - P is a small difference of two noisy times: five rounds, not three
WAIT_MS = 120_000  # a step slower than this is reported as failed, not waited for
THEME, YEAR, WORD, NO_MATCH = "gender", "2019", "storytelling", "qqqzzz"
SORTED_BY = "start_date"
LOADING = "Loading the records…"  # schemas/translations/en.yaml: explore_js_loading
NO_RECORD = "No record matches these filters."  # explore_js_none
STATUS = re.compile(r"^([\d,]+) shown of ([\d,]+) matching records \(([\d,]+) in all\)\.$")
# Every change of #status, with the page's clock: a step is over when a text other than "Loading" follows it.
STATUS_LOG = """
window.statusLog = [];
document.addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('status');
  new MutationObserver(() => window.statusLog.push(status.textContent)).observe(status, {childList: true});
});
"""


# ----------------------------------------------------------------------------- the machine


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    memory = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    import duckdb
    import pyarrow

    from partnerdata.catalogue.explore import duckdb_folder

    return (
        f"machine: {len(os.sched_getaffinity(0))} cores (nproc), {cpu}, {memory / 2**20:.1f} GiB RAM; "
        f"Python {platform.python_version()}, pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}, "
        f"{duckdb_folder().rsplit('/', 1)[-1]}"
    )


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def _warm_imports() -> None:
    import partnerdata.catalogue.dcat  # noqa: F401
    from partnerdata.catalogue import refresh_catalogue  # noqa: F401


# ----------------------------------------------------------------------------- the catalogue build


def catalogue_seconds(published: Path, repeats: int) -> float:
    """The median time of refresh_catalogue(published, None, force=True)."""
    from partnerdata.catalogue import refresh_catalogue

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        refresh_catalogue(published, None, force=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class PublishRound:
    """One round of the publish step on the same tables, in seconds."""

    alone: float  # publish_release
    drawing: float  # publish_release while a thread draws the charts in every language
    catalogue: float  # refresh_catalogue with those charts

    @property
    def share(self) -> float:
        """What the catalogue adds to the publish step, against the release's own writing."""
        return (self.drawing - self.alone + self.catalogue) / self.alone


def publish_rounds(rows: int, seed: int, work: Path, repeats: int) -> list[PublishRound]:
    """``repeats`` rounds of the publish step with and without the catalogue (module docstring, 2)."""
    from partnerdata.catalogue import refresh_catalogue
    from partnerdata.config.layout import SCHEMAS_DIR
    from partnerdata.validate.configuration import load_schemas

    schemas = load_schemas(SCHEMAS_DIR)
    tables = generated_tables(schemas, rows, seed)
    rounds = []
    for index in range(repeats):
        with tempfile.TemporaryDirectory(prefix="rounds-", dir=work) as folder:
            if index % 2:  # every other round the other way round: neither publish always goes first
                drawn, version, with_drawing = _publish_drawing(tables, schemas, Path(folder) / "drawing")
                alone = publish_tables(tables, schemas, Path(folder) / "alone", "alone")["seconds"]
            else:
                alone = publish_tables(tables, schemas, Path(folder) / "alone", "alone")["seconds"]
                drawn, version, with_drawing = _publish_drawing(tables, schemas, Path(folder) / "drawing")
            started = time.perf_counter()
            refresh_catalogue(Path(folder) / "drawing", None, drawn=(version, drawn))
            rounds.append(PublishRound(alone, with_drawing, time.perf_counter() - started))
    return rounds


def _publish_drawing(tables: dict[str, Any], schemas: Any, published: Path) -> tuple[dict[str, Any], str, float]:
    """publish_release while a thread draws the charts, as run/steps.py's publish step: (charts, version, seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    from partnerdata.catalogue.charts import charts_in_every_language

    started = time.perf_counter()
    with ThreadPoolExecutor(1) as drawing:
        charts = drawing.submit(charts_in_every_language, tables)
        version = publish_tables(tables, schemas, published, "drawing")["version"]
        drawn = charts.result()
    return drawn, version, time.perf_counter() - started


def charts_seconds(published: Path) -> float:
    """What the charts of the latest release take in every language, counted once (a part of a cold build)."""
    from partnerdata.catalogue.charts import chart_counts, draw_charts
    from partnerdata.config.translations import load_translations

    started = time.perf_counter()
    counts = chart_counts(published / "latest")
    for translation in load_translations().values():
        draw_charts(counts, translation)
    return time.perf_counter() - started


def demo_figures(repeats: int) -> tuple[float, float]:
    """(publish, catalogue) seconds on the bundled demo, each the median of ``repeats`` fresh folders."""
    from tests.support.release_data import demo_tables

    from partnerdata.catalogue import refresh_catalogue
    from partnerdata.config.layout import SCHEMAS_DIR
    from partnerdata.validate.configuration import load_schemas

    schemas = load_schemas(SCHEMAS_DIR)
    publish, catalogue = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-catalogue-demo-") as folder:
            tables = demo_tables(schemas, Path(folder) / "work")
            publish.append(publish_tables(tables, schemas, Path(folder) / "published", "demo")["seconds"])
            started = time.perf_counter()
            refresh_catalogue(Path(folder) / "published", None, force=True)
            catalogue.append(time.perf_counter() - started)
    return statistics.median(publish), statistics.median(catalogue)


# ----------------------------------------------------------------------------- the expected answers


@dataclass
class Query:
    """What the page is asked: the filters, the text, the sort (as explore.js's state holds them)."""

    filters: dict[str, str] = field(default_factory=dict)
    text: str = ""
    sort: str | None = None


class Reference:
    """Python's duckdb over the release's Parquet file: the counts and rows the page must show."""

    def __init__(self, parquet: Path, config: dict[str, Any]) -> None:
        import duckdb

        self.connection = duckdb.connect()
        self.connection.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet('{parquet}')")
        self.filters = {spec["id"]: spec for spec in config["filters"]}
        self.searched = config["searched"]
        self.page_rows = config["pageRows"]

    def where(self, query: Query) -> tuple[str, list[Any]]:
        clauses, values = [], []
        for name, wanted in query.filters.items():
            spec = self.filters[name]
            if spec["kind"] == "year":
                clauses.append(f'year("{spec["field"]}") = ?')
                values.append(int(wanted))
            elif spec["kind"] == "contains":
                clauses.append(f'list_contains("{spec["field"]}", ?)')
                values.append(wanted)
            else:
                clauses.append(f'"{spec["field"]}" = ?')
                values.append(wanted)
        if query.text:
            clauses.append("(" + " OR ".join(f"contains(lower(coalesce(\"{n}\", '')), ?)" for n in self.searched) + ")")
            values += [query.text.lower()] * len(self.searched)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), values

    def count(self, query: Query) -> int:
        where, values = self.where(query)
        return self.connection.execute(f"SELECT count(*) FROM src{where}", values).fetchone()[0]

    def matching(self, query: Query, ids: list[str]) -> int:
        """How many of these activity_ids are rows the query matches."""
        where, values = self.where(query)
        where = (where + " AND " if where else " WHERE ") + "activity_id IN (SELECT unnest(?))"
        return self.connection.execute(f"SELECT count(*) FROM src{where}", [*values, ids]).fetchone()[0]

    def first_sorted(self, query: Query) -> list[str]:
        """The sort column's values of the first page (the rows between equal values may come in any order)."""
        where, values = self.where(query)
        sql = (
            f"SELECT coalesce(CAST(\"{query.sort}\" AS VARCHAR), '') FROM src{where} "
            f'ORDER BY "{query.sort}" ASC NULLS LAST LIMIT {self.page_rows}'
        )
        return [row[0] for row in self.connection.execute(sql, values).fetchall()]


# ----------------------------------------------------------------------------- the page


@dataclass
class Answer:
    """One step in the browser: its time, the bytes it fetched, and whether the page's answer was right."""

    name: str
    seconds: float | None
    bytes: int
    status: str
    problems: list[str]
    limit: float | None


class ExplorerPage:
    """explore/activities.html in a new browser context: every request recorded, only 127.0.0.1 let through."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.elsewhere: list[str] = []
        self.fetched = 0
        self.errors: list[str] = []
        self.context.route("**/*", self._only_loopback)
        self.context.on("response", self._count)
        self.page = self.context.new_page()
        self.page.add_init_script(STATUS_LOG)
        self.page.on(
            "console",
            lambda m: m.type == "error" and self.errors.append(f"console: {m.text} ({m.location.get('url')})"),
        )
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.url = url

    def _only_loopback(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            self.elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def _count(self, response: Any) -> None:
        if response.request.method == "GET":
            self.fetched += int(response.headers.get("content-length") or 0)

    def step(self, act: Callable[[], None]) -> tuple[float | None, int, str]:
        """Do ``act``; the seconds and bytes until #status shows an answer (None: none within WAIT_MS)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        seen, fetched = self.page.evaluate("window.statusLog ? window.statusLog.length : 0"), self.fetched
        started = time.perf_counter()
        act()
        try:
            self.page.wait_for_function(
                "([seen, loading]) => (window.statusLog || []).slice(seen).some(text => text !== loading)",
                arg=[seen, LOADING],
                timeout=WAIT_MS,
            )
        except PlaywrightTimeout:
            return None, self.fetched - fetched, self.page.inner_text("#status")
        return time.perf_counter() - started, self.fetched - fetched, self.page.inner_text("#status")

    def config(self) -> dict[str, Any]:
        return json.loads(self.page.inner_text("#explore-config"))

    def column(self, position: int) -> list[str]:
        return self.page.eval_on_selector_all(
            "#records tbody tr", "(rows, i) => rows.map(r => r.cells[i].textContent)", position
        )

    def close(self) -> None:
        self.context.close()


def shown_count(status: str) -> int | None:
    """The matching count #status gives, or None for another text (a failure, "Loading")."""
    if status == NO_RECORD:
        return 0
    matched = STATUS.match(status)
    return int(matched.group(2).replace(",", "")) if matched else None


def check(page: ExplorerPage, reference: Reference, query: Query, status: str) -> list[str]:
    """What is wrong with the page's answer to ``query``: its count, its rows, their order."""
    expected = reference.count(query)
    count = shown_count(status)
    if count != expected:
        return [f"status {status!r}, duckdb counts {expected:,}"]
    shown = page.config()["shown"]
    ids = page.column(shown.index("activity_id"))
    problems = []
    if len(ids) != min(expected, reference.page_rows):
        problems.append(f"{len(ids)} rows drawn, {min(expected, reference.page_rows)} expected")
    if ids and reference.matching(query, ids) != len(ids):
        problems.append(f"only {reference.matching(query, ids)} of the {len(ids)} rows drawn match the filters")
    if query.sort and page.column(shown.index(query.sort)) != reference.first_sorted(query):
        problems.append(f"the rows are not in the order of {query.sort}")
    return problems


# ----------------------------------------------------------------------------- a session


def session(browser: Any, url: str, reference_of: Callable[[dict[str, Any]], Reference]) -> dict[str, Any]:
    """One page load in a new context, then the filters one after the other."""
    page = ExplorerPage(browser, url)
    seconds, fetched, status = page.step(lambda: page.page.goto(url, wait_until="commit"))
    config = page.config()
    reference = reference_of(config)
    load = Answer("page load until the first page is drawn", seconds, fetched, status,
                  check(page, reference, Query(), status), PAGE_READY_SECONDS)  # fmt: skip
    if config["engine"] != "duckdb":
        load.problems.append(f"the page uses the {config['engine']!r} engine, not duckdb")
    answers = [load]
    if seconds is not None and not load.problems:
        answers += _filters(page, reference)
    page.close()
    return {"answers": answers, "requests": len(page.requests), "elsewhere": page.elsewhere, "errors": page.errors}


def _filters(page: ExplorerPage, reference: Reference) -> list[Answer]:
    p = page.page
    heading = f'#records th[data-column="{SORTED_BY}"] button'
    steps: list[tuple[str, Callable[[], Any], Query, float | None]] = [
        (f"filter: theme {THEME}", lambda: p.select_option("#filter-theme", THEME),
         Query({"theme": THEME}), QUERY_SECONDS),
        (f"filter: + year {YEAR}", lambda: p.select_option("#filter-year", YEAR),
         Query({"theme": THEME, "year": YEAR}), QUERY_SECONDS),
        (f"+ text search {WORD!r} (200 ms debounce included)", lambda: p.fill("#filter-text", WORD),
         Query({"theme": THEME, "year": YEAR}, WORD), QUERY_SECONDS),
        (f"+ sort by {SORTED_BY}", lambda: p.click(heading),
         Query({"theme": THEME, "year": YEAR}, WORD, SORTED_BY), QUERY_SECONDS),
        ("reset", lambda: p.click("#reset"), Query(), None),
        (f"all records: sort by {SORTED_BY}", lambda: p.click(heading), Query(sort=SORTED_BY), None),
        ("reset", lambda: p.click("#reset"), Query(), None),
        (f"all records: text search {WORD!r}", lambda: p.fill("#filter-text", WORD), Query(text=WORD), None),
        (f"all records: text search {NO_MATCH!r} (no match)", lambda: p.fill("#filter-text", NO_MATCH),
         Query(text=NO_MATCH), None),
    ]  # fmt: skip
    answers = []
    for name, act, query, limit in steps:
        seconds, fetched, status = page.step(act)
        answers.append(Answer(name, seconds, fetched, status, check(page, reference, query, status), limit))
    return answers


def browser_figures(published: Path, loads: int) -> list[dict[str, Any]]:
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    from partnerdata.catalogue.serve import make_server

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"bench-catalogue: no Chromium at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    server = make_server(published, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/explore/activities.html"
    parquet = published / "latest" / "activities.parquet"
    references: dict[str, Reference] = {}

    def reference_of(config: dict[str, Any]) -> Reference:
        return references.setdefault("activities", Reference(parquet, config))

    sessions = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print(f"bench-catalogue: Chromium {browser.version}, {url}", flush=True)
            for number in range(loads):
                print(f"bench-catalogue: page load {number + 1} of {loads} ...", flush=True)
                sessions.append(session(browser, url, reference_of))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return sessions


# ----------------------------------------------------------------------------- the report


def verdict(value: float | None, limit: float | None) -> str:
    if limit is None:
        return "(no limit)"
    return "PASS" if value is not None and value <= limit else "FAIL"


def report_browser(sessions: list[dict[str, Any]]) -> bool:
    """Print the median of each step over the page loads; True when every limit holds and every answer is right."""
    passed = True
    names = [a.name for a in sessions[0]["answers"]]
    print(f"  explorer, median of {len(sessions)} page loads (new browser context each):")
    for index, name in enumerate(names):
        answers = [s["answers"][index] for s in sessions if index < len(s["answers"])]
        times = [a.seconds for a in answers]
        median = None if None in times or not times else statistics.median(times)
        megabytes = statistics.median(a.bytes for a in answers) / 1e6
        problems = sorted({p for a in answers for p in a.problems})
        mark = verdict(median, answers[0].limit)
        right = "counts right" if not problems else "WRONG: " + "; ".join(problems)
        shown = f"{median:6.2f} s" if median is not None else "  none "
        limit = f"<= {answers[0].limit:g} s" if answers[0].limit is not None else "        "
        runs = ", ".join(f"{t:.2f}" if t is not None else "-" for t in times)
        print(f"    {name:<58} {shown} {limit} {mark:<10} {megabytes:6.1f} MB  ({runs}) {right}")
        passed &= (mark != "FAIL") and not problems
    elsewhere = sum(len(s["elsewhere"]) for s in sessions)
    print(f"    requests per page session: {', '.join(str(s['requests']) for s in sessions)}; "
          f"not to 127.0.0.1 (aborted): {elsewhere} (must be 0) {'PASS' if elsewhere == 0 else 'FAIL'}")  # fmt: skip
    for url in sorted({u for s in sessions for u in s["elsewhere"]}):
        print(f"      {url}")
    for error in sorted({e for s in sessions for e in s["errors"]}):
        print(f"    browser: {error}")
    return passed and elsewhere == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "catalogue")
    parser.add_argument("--loads", type=int, default=PAGE_LOADS, help="page loads in the browser")
    args = parser.parse_args()
    print(machine(), flush=True)
    _warm_imports()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    before = release_marker(work)
    print(f"bench-catalogue: a release of {args.rows:,} activities in {work} ...", flush=True)
    started = time.perf_counter()
    published = large_release(work, args.rows, args.seed)
    marker = release_marker(work) or {}
    made = "reused" if marker == before else "generated and published"
    latest = published / "latest"
    print(f"bench-catalogue:   {made} in {time.perf_counter() - started:.1f} s: release {marker['version']}, "
          f"activities.csv {(latest / 'activities.csv').stat().st_size / 1e6:,.0f} MB, "
          f"activities.parquet {(latest / 'activities.parquet').stat().st_size / 1e6:,.1f} MB", flush=True)  # fmt: skip
    print("bench-catalogue: the publish step with and without the catalogue ...", flush=True)
    rounds = publish_rounds(args.rows, args.seed, work, PUBLISH_ROUNDS)
    print("bench-catalogue: a cold catalogue build ...", flush=True)
    catalogue = catalogue_seconds(published, CATALOGUE_REPEATS)
    drawing = charts_seconds(published)
    print("bench-catalogue: the demo ...", flush=True)
    demo_publish, demo_catalogue = demo_figures(CATALOGUE_REPEATS)
    sessions = browser_figures(published, args.loads)

    share = statistics.median(r.share for r in rounds)
    median = {part: statistics.median(getattr(r, part) for r in rounds) for part in ("alone", "drawing", "catalogue")}
    print(f"\ncatalogue benchmark: {args.rows:,} activities (seed {args.seed})")
    print(f"  publish_release (P)              {median['alone']:7.2f} s  (median of {PUBLISH_ROUNDS} rounds)")
    print(f"  the same while the charts are drawn (P') {median['drawing']:5.2f} s")
    print(f"  refresh_catalogue with them (C)  {median['catalogue']:7.2f} s")
    print("  rounds (P, P', C): " + "; ".join(f"{r.alone:.2f}, {r.drawing:.2f}, {r.catalogue:.2f}" for r in rounds))
    print(
        f"  catalogue's part (P' - P + C) / P {share:6.2f}    <= {CATALOGUE_SHARE:g}  {verdict(share, CATALOGUE_SHARE)}"
    )
    print(f"  cold rebuild, nothing drawn      {catalogue:7.2f} s  (median of {CATALOGUE_REPEATS}; no limit; "
          f"counting and drawing the charts in every language alone: {drawing:.2f} s)")  # fmt: skip
    print(f"  demo: publish {demo_publish:.3f} s, catalogue {demo_catalogue:.2f} s, catalogue / publish "
          f"{demo_catalogue / demo_publish:.1f} (no limit: the catalogue's fixed cost against 245 rows)")  # fmt: skip
    passed = report_browser(sessions)
    passed &= share <= CATALOGUE_SHARE
    print(f"\nbench-catalogue: {'every limit holds' if passed else 'a limit FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
