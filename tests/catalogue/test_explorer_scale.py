"""The explorer on a release of a million activities: the DuckDB-WASM engine, in Debian's Chromium.

The release is generated (tests/support/large_release.py) and published by publish_release, the
catalogue built by refresh_catalogue and served by partnerdata's own server on 127.0.0.1. This test
checks that the answers are right, not how fast they come: the waits are generous, and the speed
is bench/catalogue.py's (make bench-catalogue).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from urllib.parse import urlsplit

import duckdb
import pytest

from partnerdata.catalogue import refresh_catalogue
from partnerdata.catalogue.serve import make_server
from tests.support.browser import chromium
from tests.support.large_release import large_release

pytestmark = pytest.mark.slow

ACTIVITIES = 1_000_000
ENGINE_READY_MS = 120_000
STATUS = re.compile(r"^([\d,]+) shown of ([\d,]+) matching records \(([\d,]+) in all\)\.$")
LOADING = "Loading the records…"


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    published = large_release(folder, ACTIVITIES)
    refresh_catalogue(published, None)
    server = make_server(published, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield published, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder)  # 400 MB, of which the CSV is 372: not left for pytest's last three runs


def _answer(page, previous: str) -> tuple[str, int, int]:
    """Wait until #status holds an answer other than ``previous``; (text, matching, in all)."""
    page.wait_for_function(
        "([previous, loading]) => { const t = document.getElementById('status').textContent;"
        " return t !== previous && t !== loading && !t.startsWith('The first '); }",
        arg=[previous, LOADING],
        timeout=ENGINE_READY_MS,
    )
    text = page.inner_text("#status")
    matched = STATUS.match(text)
    assert matched, f"#status says {text!r}"
    return text, int(matched.group(2).replace(",", "")), int(matched.group(3).replace(",", ""))


def test_a_million_activities_are_filtered_in_the_browser_by_duckdb(browser, served):
    published, base = served
    parquet = published / "latest" / "activities.parquet"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_loopback(route):  # DuckDB-WASM must load nothing from another host (no extension, no CDN)
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(base + "explore/activities.html")
    config = json.loads(page.inner_text("#explore-config"))
    assert config["engine"] == "duckdb"
    assert config["total"] == ACTIVITIES

    text, matching, in_all = _answer(page, "")
    assert (matching, in_all) == (ACTIVITIES, ACTIVITIES)

    theme = page.eval_on_selector_all("#filter-theme option", "options => options.map(o => o.value)")[3]
    page.select_option("#filter-theme", theme)
    text, _, _ = _answer(page, text)
    page.select_option("#filter-year", "2019")
    text, matching, in_all = _answer(page, text)

    database = duckdb.connect()
    where = f"FROM read_parquet('{parquet}') WHERE theme = ? AND year(start_date) = 2019"
    expected = database.execute(f"SELECT count(*) {where}", [theme]).fetchone()[0]
    assert 0 < expected < ACTIVITIES
    assert (matching, in_all) == (expected, ACTIVITIES)
    id_column = config["shown"].index("activity_id")
    shown = page.eval_on_selector_all(
        "#records tbody tr", "(rows, i) => rows.map(r => r.cells[i].textContent)", id_column
    )
    assert len(shown) == min(expected, config["pageRows"])
    found = database.execute(
        f"SELECT count(*) {where} AND activity_id IN (SELECT unnest(?))", [theme, shown]
    ).fetchone()
    assert found[0] == len(shown), f"of the rows shown, only {found[0]} have theme {theme} and a start in 2019"

    assert elsewhere == []
    assert errors == []
    context.close()
