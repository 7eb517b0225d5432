"""The catalogue as a person uses it: Debian's Chromium, headless, driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (the Debian package
that .ci/run installs) through ``executable_path``. Without that browser the test skips,
except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import hashlib
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.support.browser import chromium
from tests.support.browser import served as serving
from tests.support.release_data import catalogue_site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def served(schemas, tmp_path_factory):
    published = catalogue_site(schemas, tmp_path_factory.mktemp("site"), "https://data.example.org/published/")
    with serving(published) as base:
        yield published, base


def _charts_drawn(page) -> list[dict]:
    """Each chart's size on screen and how many shapes it drew."""
    return page.eval_on_selector_all(
        "figure.chart svg",
        """svgs => svgs.map(svg => {
            const box = svg.getBoundingClientRect();
            return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
                    shapes: svg.querySelectorAll('path, rect').length,
                    texts: Array.from(svg.querySelectorAll('text')).map(t => t.textContent)};
        })""",
    )


def test_a_data_user_finds_the_data_downloads_it_and_sees_the_charts(browser, served, tmp_path):
    published, base = served
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_loopback(route):  # the page must not need anything but this folder
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_loopback)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(base, wait_until="load")

    assert page.title() == "Activities and projects of international education programmes"
    assert page.get_by_role("heading", level=1).inner_text() == page.title()
    assert page.get_by_role("table", name="Files of the latest release").is_visible()

    charts = _charts_drawn(page)
    assert [c["label"] for c in charts] == [
        "Activities per theme and year",
        "Projects per sector and call year",
        "Countries involved",
    ]
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150 and chart["shapes"] > 20, chart
    assert "Belgium" in charts[2]["texts"] and "2019" in charts[0]["texts"]  # countries by name

    # Follow the download link of the current activities CSV, as a person clicks it.
    sums = urllib.request.urlopen(base + "latest/SHA256SUMS").read().decode()
    expected = {name: digest for digest, name in (line.split("  ", 1) for line in sums.splitlines())}
    for name in ("activities.csv", "projects.parquet"):
        with page.expect_download() as download_info:
            page.locator(f'a[href="latest/{name}"]').click()
        saved = tmp_path / name
        download_info.value.save_as(saved)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected[name], name
        assert saved.read_bytes() == (published / "latest" / name).read_bytes()

    # A release's own page, reached from the list of releases.
    page.get_by_role("table", name="Every release, newest first").get_by_role("link", name="1.0.2").click()
    page.wait_for_load_state("load")
    assert page.url == base + "releases/1.0.2/index.html"
    assert "a project title was wrong" in page.inner_text("main")

    page.goto(base)
    screenshot = tmp_path / "catalogue.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    assert elsewhere == [] and failed == []
    context.close()


def test_the_catalogue_works_with_the_network_off(browser, served, tmp_path):
    published, _ = served
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto((published / "index.html").as_uri(), wait_until="load")
    charts = _charts_drawn(page)
    assert len(charts) == 3 and all(c["width"] > 300 and c["shapes"] > 20 for c in charts)
    page.locator("details").first.click()  # the numbers behind a chart open without a script
    assert page.get_by_role("table", name="Activities per theme and year").is_visible()
    page.screenshot(path=str(tmp_path / "offline.png"))
    context.close()
