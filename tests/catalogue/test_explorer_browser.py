"""The explorer as a data user meets it: Debian's Chromium, headless, driven by Playwright, on the
catalogue served on loopback and opened from the disk (file://), in English and in Dutch.

Every answer the page gives is checked against DuckDB over the release's own files; every request
the browser makes is recorded, and one to another host is aborted and fails the test; axe-core
(from the npm registry, web/packages.json) finds no serious or critical problem. Screenshots go
to build/screenshots/ (or $PARTNERDATA_SCREENSHOTS).
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from partnerdata.catalogue import explore, refresh_catalogue
from partnerdata.catalogue.serve import make_server
from partnerdata.config.layout import PROJECT_ROOT, WEB_PACKAGES
from partnerdata.config.translations import load_translations
from tests.support.browser import chromium, served
from tests.support.release_data import catalogue_site

pytestmark = pytest.mark.slow

AXE = WEB_PACKAGES / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("PARTNERDATA_SCREENSHOTS", PROJECT_ROOT / "build" / "screenshots"))
LANGUAGES = ("en", "nl")


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def site(schemas, tmp_path_factory):
    published = catalogue_site(schemas, tmp_path_factory.mktemp("explore"), "https://data.example.org/published/")
    with served(published) as base:
        yield published, base


class Guard:
    """Records every request of a browser context and aborts one that would leave the machine."""

    def __init__(self, context):
        self.requests: list[str] = []
        self.refused: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in {"file", "blob", "data"} or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


def _open(browser, url: str):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    guard = Guard(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return context, page, guard, errors


def _ready(page, language: str) -> None:
    loading = load_translations()[language].template("explore_js_loading")
    page.wait_for_function(
        "loading => { const s = document.getElementById('status'); return s && s.textContent && s.textContent !== loading"
        " && !document.getElementById('filters').hidden; }",
        arg=loading,
        timeout=60_000,
    )


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _query(sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect() as connection:
        return connection.execute(sql, params or []).fetchall()


def _theme_and_year(parquet: Path) -> tuple[str, str, list[str]]:
    """A theme and year that several activities share, and those activities' ids, by DuckDB."""
    theme, year = _query(
        f"SELECT theme, year(start_date)::VARCHAR AS y FROM read_parquet('{parquet}') WHERE theme IS NOT NULL "
        "GROUP BY ALL HAVING count(*) >= 2 ORDER BY count(*) DESC, theme, y LIMIT 1"
    )[0]
    ids = [
        row[0]
        for row in _query(
            f"SELECT activity_id FROM read_parquet('{parquet}') WHERE theme = ? AND year(start_date) = ?::INTEGER "
            "ORDER BY activity_id",
            [theme, year],
        )
    ]
    return theme, year, ids


def _shown_ids(page) -> list[str]:
    return page.eval_on_selector_all("#records tbody tr td:first-child", "cells => cells.map(c => c.textContent)")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("where", ["http", "file"])
def test_filter_download_and_record_match_duckdb(browser, site, where, language):
    published, base = site
    root = base if where == "http" else published.resolve().as_uri() + "/"
    latest = published / "latest"
    parquet = latest / "activities.parquet"
    theme, year, expected = _theme_and_year(parquet)
    tr = load_translations()[language]
    context, page, guard, errors = _open(browser, root + "explore/" + explore.page_name("activities", language))
    try:
        _ready(page, language)
        assert page.get_attribute("html", "lang") == language
        page.select_option("#filter-theme", theme)
        page.select_option("#filter-year", year)
        total = tr.template("explore_js_status").split("{")[0]
        page.wait_for_function(
            "n => document.querySelectorAll('#records tbody tr').length === n", arg=min(len(expected), 50)
        )
        assert sorted(_shown_ids(page)) == expected
        assert f"{len(expected)}" in page.inner_text("#status") and page.inner_text("#status").startswith(total or "")
        # The theme's label in this language in the table and in the select.
        label = tr.label("theme", theme)
        assert page.eval_on_selector("#filter-theme", "s => s.options[s.selectedIndex].textContent") == label
        assert label in page.inner_text("#records tbody")

        # The filtered rows as CSV: the published CSV's own lines for those rows, byte for byte.
        with page.expect_download() as download_info:
            page.click("#download")
        downloaded = Path(download_info.value.path()).read_text(encoding="utf-8")
        published_csv = (latest / "activities.csv").read_text(encoding="utf-8")
        lines = _csv_records(published_csv)
        wanted = [lines[0]] + [line for line in lines[1:] if next(csv.reader([line]))[0] in expected]
        assert _csv_records(downloaded) == wanted
        assert downloaded == "".join(wanted)

        # A record: every field, its source partner and the snapshot's date.
        first = expected[0]
        page.click(f'#records tbody a[href="#record={first}"]')
        page.wait_for_selector("#record:not([hidden])")
        assert first in page.inner_text("#record-heading")
        fields = page.eval_on_selector_all("#record-fields dt", "dts => dts.map(d => d.textContent)")
        schema_fields = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))["resources"]
        activity_fields = next(r for r in schema_fields if r["name"] == "activities")["schema"]["fields"]
        assert len(fields) == len(activity_fields) + 2
        assert tr.template("explore_js_source") in fields and tr.template("explore_js_snapshot") in fields
        snapshot = _query(f"SELECT source_id FROM read_parquet('{parquet}') WHERE activity_id = ?", [first])[0][0]
        sources = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))["sources"]
        source = next(s for s in sources if s["source_id"] == snapshot)
        assert source["snapshot_fetched_at"] in page.inner_text("#record")
        # The organiser is a link to its record on the organisations page.
        organiser = page.locator("#record-fields a").first
        assert explore.page_name("organisations", language) + "#record=" in organiser.get_attribute("href")

        problems = _axe(page)
        assert problems == [], problems
        _shot(page, f"explore-activities-{where}-{language}")
        assert errors == []
        assert guard.refused == [], guard.refused
    finally:
        context.close()


def _csv_records(text: str) -> list[str]:
    """A CSV text as its records, each with its line end (a record may hold quoted line breaks)."""
    records, current = [], ""
    for line in io.StringIO(text, newline=""):
        current += line
        if current.count('"') % 2 == 0:
            records.append(current)
            current = ""
    return records


@pytest.mark.parametrize("language", LANGUAGES)
def test_record_links_open_the_referenced_record(browser, site, language):
    published, base = site
    parquet = published / "latest" / "activities.parquet"
    activity, project = _query(
        f"SELECT activity_id, project_id FROM read_parquet('{parquet}') WHERE project_id IS NOT NULL ORDER BY 1 LIMIT 1"
    )[0]
    url = base + "explore/" + explore.page_name("activities", language) + f"#record={activity}"
    context, page, guard, errors = _open(browser, url)
    try:
        _ready(page, language)
        page.wait_for_selector("#record:not([hidden])")
        page.click(f'#record-fields a[href$="#record={project}"]')
        page.wait_for_url(f"**/{explore.page_name('projects', language)}#record={project}")
        _ready(page, language)
        page.wait_for_selector("#record:not([hidden])")
        assert project in page.inner_text("#record-heading")
        assert errors == [] and guard.refused == []
    finally:
        context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_map_draws_the_country_counts(browser, site, language):
    published, base = site
    parquet = published / "latest" / "activities.parquet"
    counts = dict(_query(f"SELECT country, count(*) FROM read_parquet('{parquet}') GROUP BY country"))
    tr = load_translations()[language]
    context, page, guard, errors = _open(browser, base + "explore/" + explore.page_name("map", language))
    try:
        assert page.get_attribute("html", "lang") == language
        drawn = page.eval_on_selector_all(
            "#map-activities svg path[data-country] title",
            "titles => titles.map(t => [t.parentElement.dataset.country, t.textContent])",
        )
        assert drawn, "no country shaded"
        for code, title in drawn:
            assert title == f"{tr.label('country', code)}: {counts[code]}"
        shown = {code for code, _ in drawn}
        table = dict(
            page.eval_on_selector_all(
                "#map-activities table tbody tr",
                "rows => rows.map(r => [r.dataset.country, Number(r.querySelector('td').textContent.replace(/[^0-9]/g, ''))])",
            )
        )
        assert table == counts  # every country in the table, drawn or too small for the map
        assert shown <= set(counts)
        box = page.eval_on_selector("#map-activities svg", "s => s.getBoundingClientRect().width")
        assert box > 300
        assert _axe(page) == []
        _shot(page, f"explore-map-{language}")
        assert errors == [] and guard.refused == []
    finally:
        context.close()


def test_language_switch_and_lang_on_every_page(browser, site):
    published, base = site
    pages = sorted(p.relative_to(published).as_posix() for p in published.rglob("*.html"))
    assert (
        "index.nl.html" in pages and "explore/activities.nl.html" in pages and "releases/1.0.1/index.nl.html" in pages
    )
    for relative in pages:
        language = "nl" if relative.endswith(".nl.html") else "en"
        head = (published / relative).read_text(encoding="utf-8")[:200]
        assert f'<html lang="{language}">' in head, relative
    context, page, guard, errors = _open(browser, base + "index.html")
    try:
        page.click('nav.languages a[hreflang="nl"]')
        page.wait_for_url("**/index.nl.html")
        assert page.get_attribute("html", "lang") == "nl"
        assert "Gegevenswoordenboek" in page.inner_text("body > nav")
        page.click('a[href="explore/activities.nl.html"]')
        _ready(page, "nl")
        page.click('nav.languages a[hreflang="en"]')
        page.wait_for_url("**/explore/activities.html")
        _ready(page, "en")
        assert page.get_attribute("html", "lang") == "en"
        for name in ("index.html", "index.nl.html"):
            page.goto(base + name)
            assert _axe(page) == [], name
            _shot(page, "catalogue-" + name.replace(".html", ""))
        assert errors == [] and guard.refused == []
    finally:
        context.close()


def test_without_scripts_the_pages_keep_their_content(browser, site):
    published, base = site
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base + "explore/activities.html")
        assert page.locator("#records tbody tr").count() == explore.PAGE_ROWS
        assert page.locator("#filters").is_hidden()
        assert page.locator("noscript").count() == 1
        page.goto(base + "explore/map.html")
        assert page.locator("#map-activities svg path[data-country]").count() > 100
    finally:
        context.close()


def test_the_duckdb_engine_gives_the_same_rows(browser, schemas, tmp_path, monkeypatch):
    """The engine of large releases, forced on the demo: DuckDB-WASM over HTTP range requests."""
    published = catalogue_site(schemas, tmp_path, "https://data.example.org/published/")
    monkeypatch.setattr(explore, "COMPACT_MOST_BYTES", 0)
    refresh_catalogue(published, "https://data.example.org/published/", force=True)
    assert (published / explore.duckdb_folder() / "duckdb-eh.wasm").exists()
    server = make_server(published, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        theme, year, expected = _theme_and_year(published / "latest" / "activities.parquet")
        context, page, guard, errors = _open(browser, base + "explore/activities.html")
        try:
            config = json.loads(page.text_content("#explore-config"))
            assert config["engine"] == "duckdb"
            _ready(page, "en")
            page.select_option("#filter-theme", theme)
            page.select_option("#filter-year", year)
            page.wait_for_function(
                "n => document.querySelectorAll('#records tbody tr').length === n", arg=min(len(expected), 50)
            )
            assert sorted(_shown_ids(page)) == expected
            page.fill("#filter-text", expected[0].lower())
            page.wait_for_function("() => document.querySelectorAll('#records tbody tr').length === 1")
            assert _shown_ids(page) == [expected[0]]
            assert errors == []
            assert guard.refused == []
            assert any(".parquet" in url for url in guard.requests)
        finally:
            context.close()
        # From the disk, the page says it needs a web server, and keeps its first rows.
        context, page, guard, errors = _open(browser, published.resolve().as_uri() + "/explore/activities.html")
        try:
            page.wait_for_function("() => document.getElementById('status').textContent.includes('web server')")
            assert page.locator("#records tbody tr").count() == explore.PAGE_ROWS
            assert guard.refused == []
        finally:
            context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_every_control_works_from_the_keyboard(browser, site):
    published, base = site
    context, page, guard, errors = _open(browser, base + "explore/activities.html")
    try:
        _ready(page, "en")
        page.focus("#filter-activity_type")
        page.keyboard.press("ArrowDown")  # a closed select changes its value and says so
        chosen = page.eval_on_selector("#filter-activity_type", "s => s.value")
        assert chosen
        page.wait_for_function(
            "v => Array.from(document.querySelectorAll('#records tbody tr')).length > 0"
            " && document.getElementById('status').textContent.includes('matching')",
            arg=chosen,
        )
        parquet = published / "latest" / "activities.parquet"
        count = _query(f"SELECT count(*) FROM read_parquet('{parquet}') WHERE activity_type = ?", [chosen])[0][0]
        assert f"of {count} matching" in page.inner_text("#status")
        # Sort by start date from the keyboard: the heading's button, Enter twice (descending).
        button = page.locator('#records th[data-column="start_date"] button')
        button.focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        page.wait_for_selector('#records th[data-column="start_date"][aria-sort="descending"]')
        dates = page.eval_on_selector_all(
            "#records tbody tr",
            "rows => rows.map(r => r.querySelector('td:nth-child(' + "
            "(Array.from(document.querySelectorAll('#records th')).findIndex(h => h.dataset.column === 'start_date') + 1)"
            " + ')').textContent)",
        )
        assert dates == sorted(dates, reverse=True)
        # A record from the keyboard: its link, Enter; the panel takes the focus; Escape is not needed,
        # the close button is a button.
        page.focus("#records tbody a >> nth=0")
        page.keyboard.press("Enter")
        page.wait_for_selector("#record:not([hidden])")
        assert page.evaluate("() => document.activeElement.id") == "record"
        page.focus("#record-close")
        page.keyboard.press("Enter")
        page.wait_for_selector("#record", state="hidden")
        # Every control has a label a screen reader reads.
        unlabelled = page.eval_on_selector_all(
            "#filters select, #filters input",
            "controls => controls.filter(c => !document.querySelector('label[for=\"' + c.id + '\"]')).map(c => c.id)",
        )
        assert unlabelled == []
        assert errors == [] and guard.refused == []
    finally:
        context.close()


@pytest.mark.parametrize("name", ["projects", "organisations", "project_partners"])
def test_the_other_resources_pages_and_a_release_page_pass_axe(browser, site, name):
    published, base = site
    context, page, guard, errors = _open(browser, base + "explore/" + explore.page_name(name, "nl"))
    try:
        _ready(page, "nl")
        assert page.locator("#records tbody tr").count() > 0
        assert _axe(page) == []
        page.goto(base + "releases/1.0.1/index.nl.html")
        assert page.get_attribute("html", "lang") == "nl"
        assert _axe(page) == []
        assert errors == [] and guard.refused == []
    finally:
        context.close()
