"""The explorer's files, without a browser: what the catalogue step writes under published/explore/
and published/assets/, in each language (the browser tests use them: test_explorer_browser.py)."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pyarrow.parquet as pq
import pytest

from partnerdata.catalogue import explore, refresh_catalogue
from partnerdata.config.translations import load_translations
from tests.support.release_data import catalogue_site

BASE = "https://data.example.org/published/"


@pytest.fixture(scope="module")
def site(schemas, tmp_path_factory):
    return catalogue_site(schemas, tmp_path_factory.mktemp("explore"), BASE)


def _config(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="explore-config">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def _rows(site, resource: str) -> dict:
    script = (site / "explore" / "data" / f"{resource}-1.0.1.js").read_text(encoding="utf-8")
    assignment = script.splitlines()[1]  # window.partnerdataRows["activities"] = {...};
    return json.loads(assignment.split(" = ", 1)[1].rstrip(";"))


def test_every_resource_has_a_page_and_a_map_in_each_language(site):
    written = sorted(p.name for p in (site / "explore").glob("*.html"))
    expected = sorted(
        explore.page_name(stem, language)
        for stem in ("activities", "projects", "organisations", "project_partners", "map")
        for language in ("en", "nl")
    )
    assert written == expected
    for name in written:
        text = (site / "explore" / name).read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>\n") and f'<html lang="{"nl" if ".nl." in name else "en"}">' in text
    for language in ("en", "nl"):
        index = (site / explore.page_name("index", language)).read_text(encoding="utf-8")
        assert f'href="explore/{explore.page_name("activities", language)}"' in index


def test_the_rows_script_holds_the_published_csv_cells_of_the_current_release(site):
    data = _rows(site, "activities")
    assert data["version"] == "1.0.1"
    with open(site / "releases" / "1.0.1" / "activities.csv", encoding="utf-8", newline="") as handle:
        assert data["rows"] == list(csv.reader(handle))[1:]
    page = (site / "explore" / "activities.html").read_text(encoding="utf-8")
    config = _config(page)
    assert config["engine"] == "memory" and config["total"] == len(data["rows"])
    assert config["data"] == "data/activities-1.0.1.js" and f'<script src="{config["data"]}">' in page
    assert config["parquet"] is None and config["duckdb"] is None


def test_filters_offer_the_values_present_with_their_labels_in_each_language(site):
    parquet = pq.read_table(site / "releases" / "1.0.1" / "activities.parquet")
    themes = sorted(set(parquet.column("theme").drop_null().to_pylist()))
    translations = load_translations()
    for language in ("en", "nl"):
        page = (site / "explore" / explore.page_name("activities", language)).read_text(encoding="utf-8")
        select = re.search(r'<select id="filter-theme".*?</select>', page, re.S).group(0)
        values = re.findall(r'<option value="([^"]*)">([^<]*)</option>', select)
        assert [v for v, _ in values] == ["", *themes]
        assert dict(values)[themes[0]] == translations[language].label("theme", themes[0])
        years = re.findall(
            r'<option value="(\d{4})">', re.search(r'<select id="filter-year".*?</select>', page, re.S).group(0)
        )
        assert years == sorted({str(d.year) for d in parquet.column("start_date").to_pylist()})
        config = _config(page)
        assert config["language"] == language
        assert config["texts"]["status"] == translations[language].template("explore_js_status")


def test_without_a_script_the_page_shows_the_first_rows_with_labels_and_links(site):
    page = (site / "explore" / "activities.nl.html").read_text(encoding="utf-8")
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    assert body.count("<tr>") == explore.PAGE_ROWS
    first = _rows(site, "activities")["rows"][0]
    assert f'<a href="#record={first[0]}">{first[0]}</a>' in body
    assert 'href="organisations.nl.html#record=' in body
    assert load_translations()["nl"].label("activity_type", first[3]) in body


def test_text_from_the_data_cannot_end_the_config_element(schemas, tmp_path):
    published = catalogue_site(schemas, tmp_path, BASE)
    package = json.loads((published / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["sources"]
    sources = [{**s, "title": "</script><script>alert(1)</script>"} for s in package["sources"]]
    model = {"sources": sources}
    page_model = json.loads((published / "catalog.json").read_text(encoding="utf-8"))
    page_model.update(model)
    explore.write_explorer(published, page_model, load_translations(), explore_write)
    page = (published / "explore" / "activities.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert _config(page)["sources"][sources[0]["source_id"]]["title"] == sources[0]["title"]


def explore_write(path, text):
    path.write_text(text, encoding="utf-8")


def test_a_large_resource_is_queried_with_duckdb_whose_files_are_copied_once(schemas, tmp_path, monkeypatch):
    published = catalogue_site(schemas, tmp_path, BASE)
    assert not (published / "assets" / "duckdb-wasm-1.28.0").exists()  # the demo never needs it
    monkeypatch.setattr(explore, "COMPACT_MOST_BYTES", 0)
    refresh_catalogue(published, BASE, force=True)
    folder = published / explore.duckdb_folder()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*explore.DUCKDB_FILES, explore.ARROW_FILE[1], ".complete"]
    )
    stamp = (folder / "duckdb-eh.wasm").stat().st_mtime_ns
    refresh_catalogue(published, BASE, force=True)
    assert (folder / "duckdb-eh.wasm").stat().st_mtime_ns == stamp  # once, not per catalogue build
    page = (published / "explore" / "activities.html").read_text(encoding="utf-8")
    config = _config(page)
    assert config["engine"] == "duckdb" and config["parquet"] == "../releases/1.0.1/activities.parquet"
    assert '<script type="importmap">' in page and config["data"] is None
    assert list((published / "explore" / "data").iterdir()) == []  # no rows script for a queried resource
    assert '<tbody><tr><td><a href="#record=' in page  # the first rows, read from the CSV


def test_stale_pages_and_rows_are_removed_and_no_release_leaves_no_explorer(schemas, tmp_path):
    published = catalogue_site(schemas, tmp_path, BASE)
    (published / "explore" / "gone.html").write_text("old", encoding="utf-8")
    (published / "explore" / "data" / "activities-0.9.0.js").write_text("old", encoding="utf-8")
    refresh_catalogue(published, BASE, force=True)
    assert not (published / "explore" / "gone.html").exists()
    assert not (published / "explore" / "data" / "activities-0.9.0.js").exists()
    model = json.loads((published / "catalog.json").read_text(encoding="utf-8"))
    assert explore.write_explorer(published, {**model, "latest": None}, load_translations(), explore_write) == []
    assert not (published / "explore").exists()


def test_a_translation_change_rebuilds_the_catalogue(schemas, tmp_path, monkeypatch):
    from partnerdata.config import translations

    published = catalogue_site(schemas, tmp_path, BASE)
    assert refresh_catalogue(published, BASE) is False  # current
    folder = tmp_path / "translations"
    shutil.copytree(translations.TRANSLATIONS_DIR, folder)
    text = (folder / "nl.yaml").read_text(encoding="utf-8").replace("Leerweek", "Leerweek (nieuw)")
    (folder / "nl.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(translations, "TRANSLATIONS_DIR", folder)
    monkeypatch.setattr("partnerdata.catalogue.translation_digest", lambda: translations.translation_digest(folder))
    monkeypatch.setattr("partnerdata.catalogue.load_translations", lambda: translations.load_translations(folder))
    assert refresh_catalogue(published, BASE) is True
    assert "Leerweek (nieuw)" in (published / "explore" / "activities.nl.html").read_text(encoding="utf-8")


def test_the_dictionary_says_its_constraints_in_words_and_folds_long_lists(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "participants_<wbr>international" in page
    assert "required; at least 3 characters; at most 300 characters" in page
    assert re.search(r"<details><summary>250 codes</summary>", page)
    assert re.search(r"<details><summary>matches a pattern \(\d+ characters\)</summary><code>", page)
    dutch = (site / "index.nl.html").read_text(encoding="utf-8")
    assert "verplicht; minstens 3 tekens; hoogstens 300 tekens" in dutch
    assert "<code>learning_week</code> Leerweek" in dutch
