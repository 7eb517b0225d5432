"""The catalogue: index.html, a page per release, catalog.json, feed.xml, and `partnerdata serve`."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.request
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from partnerdata.catalogue import refresh_catalogue
from partnerdata.catalogue.serve import make_server
from tests.support.release_data import catalogue_site

BASE_URL = "https://data.example.org/published/"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def site(schemas, tmp_path_factory) -> Path:
    return catalogue_site(schemas, tmp_path_factory.mktemp("catalogue"), BASE_URL)


class Page(HTMLParser):
    """The parts of a page the tests look at: links, headings, table headers, images and scripts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.headings: list[int] = []
        self.tags: dict[str, int] = {}
        self.external: list[str] = []
        self.svg_labels: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for name in ("src", "href"):  # anything the browser would load by itself
            value = attributes.get(name) or ""
            if tag in ("script", "link", "img", "iframe", "source") and value:
                self.external.append(value)
        if tag == "svg":
            self.svg_labels.append(attributes.get("aria-label") or "")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_index_page_has_everything_a_data_user_needs(site):
    text = (site / "index.html").read_text(encoding="utf-8")
    page = Page(text)
    model = json.loads((site / "catalog.json").read_text())
    assert model["latest"] == "1.0.1"
    for expected in (
        "Activities and projects of international education programmes",  # title
        "Creative Commons Attribution 4.0 International",  # licence
        "partnerdata demo publisher",  # publisher, from sources.yaml
        "opendata@partnerdata.example.org",  # contact point
        "1.0.1, published 2026-11-21T02:00:00Z",  # current version and date
        "a project title was wrong",  # the withdrawn release, with its reason
        "fallback: last good data",  # freshness: the partner that failed
        "intercultural_pedagogy",  # allowed values in the data dictionary
    ):
        assert expected in text, expected
    # Headings go down one level at a time; tables have header cells; no script, style sheet or image is loaded
    # (the one script element is schema.org's JSON-LD: data, which no browser runs).
    assert page.headings[0] == 1 and all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    assert page.tags.get("th", 0) > 50 and page.tags.get("caption", 0) >= 5
    assert page.external == [] and text.count("<script") == text.count('<script type="application/ld+json">') == 1
    # Three charts, each an SVG with a label, a caption and its numbers.
    assert sorted(page.svg_labels) == [
        "Activities per theme and year",
        "Countries involved",
        "Projects per sector and call year",
    ]
    assert text.count("<figcaption") == 3 and text.count("The numbers behind this chart") == 3
    # Every relative link resolves to a file in published/; latest's stable links come first.
    relative = [link for link in page.links if not re.match(r"^[a-z]+:", link) and not link.startswith("#")]
    missing = [link for link in relative if not (site / link).exists()]
    assert missing == []
    assert "latest/activities.csv" in relative and "releases/1.0.0/activities.parquet" in relative
    # The changelog is newest first.
    changelog = text[text.index('id="changelog"') :]
    assert changelog.index(">1.0.2<") < changelog.index(">1.0.1<") < changelog.index(">1.0.0<")


def test_download_links_carry_the_sizes_hashes_and_row_counts_of_the_files(site):
    model = json.loads((site / "catalog.json").read_text())
    index = (site / "index.html").read_text(encoding="utf-8")
    for release in model["releases"]:
        folder = site / "releases" / release["version"]
        sums = dict(reversed(line.split("  ", 1)) for line in (folder / "SHA256SUMS").read_text().splitlines())
        for resource in release["resources"]:
            for file in resource["files"]:
                path = site / file["path"]
                assert file["bytes"] == path.stat().st_size
                assert file["sha256"] == sums[path.name] == _sha256(path)
                assert file["url"] == BASE_URL + file["path"]
                if release["version"] == model["latest"]:
                    assert file["sha256"] in index
            package = json.loads((folder / "datapackage.json").read_text())
            rows = {r["name"]: r["rows"] for r in package["resources"]}
            assert resource["rows"] == rows[resource["name"]]
    stable = {f["path"]: f for r in model["latest_resources"] for f in r["files"]}
    assert _sha256(site / "latest" / "projects.csv") == stable["latest/projects.csv"]["sha256"]
    assert [r["status"] for r in model["releases"]] == ["withdrawn", "current", "superseded"]


def test_every_release_has_its_own_page(site):
    for version, status in (("1.0.0", "superseded"), ("1.0.1", "current (latest)"), ("1.0.2", "withdrawn")):
        folder = site / "releases" / version
        text = (folder / "index.html").read_text(encoding="utf-8")
        page = Page(text)
        assert f"release {version}" in text and status in text
        relative = [link for link in page.links if not re.match(r"^[a-z]+:", link) and not link.startswith("#")]
        assert [link for link in relative if not (folder / link).exists()] == []
        assert "activities.csv" in relative and "../../index.html" in relative
        assert "Fields of Activities" in text  # the data dictionary of that release's schemas
    assert "a project title was wrong" in (site / "releases" / "1.0.2" / "index.html").read_text()
    # The page is the catalogue's, not part of the release: SHA256SUMS does not list it.
    assert "index.html" not in (site / "releases" / "1.0.0" / "SHA256SUMS").read_text()


def test_the_atom_feed_has_an_entry_per_release_with_its_changes(site):
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed" and feed.find(f"{ATOM}id").text == BASE_URL + "feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [
        "Release 1.0.2 (withdrawn)",
        "Release 1.0.1",
        "Release 1.0.0",
    ]
    assert "a project title was wrong" in entries[0].find(f"{ATOM}summary").text
    assert "values of 1 projects record(s) changed" in entries[1].find(f"{ATOM}summary").text
    assert entries[1].find(f"{ATOM}link").get("href") == BASE_URL + "releases/1.0.1/index.html"
    assert feed.find(f"{ATOM}updated").text == "2026-11-23T00:00:00Z"  # the withdrawal is the newest event


def test_the_catalogue_is_rebuilt_only_when_what_it_shows_changed(site):
    before = (site / "index.html").stat().st_mtime_ns
    assert refresh_catalogue(site, BASE_URL) is False
    assert (site / "index.html").stat().st_mtime_ns == before
    (site / "catalog.json").unlink()  # as a crash before its last write would leave it
    assert refresh_catalogue(site, BASE_URL) is True
    assert json.loads((site / "catalog.json").read_text())["latest"] == "1.0.1"
    assert refresh_catalogue(site, "https://elsewhere.example.org/data/") is True  # a new base URL
    assert "https://elsewhere.example.org/data/releases/1.0.0/activities.csv" in (site / "catalog.json").read_text()
    assert refresh_catalogue(site, BASE_URL) is True


def test_serve_gives_each_file_its_content_type(site):
    server = make_server(site, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        expected = {
            "": "text/html",
            "latest/activities.parquet": "application/vnd.apache.parquet",
            "latest/activities.csv": "text/csv",
            "catalog.ttl": "text/turtle",
            "catalog.json": "application/json",
            "latest/datapackage.json": "application/json",
            "feed.xml": "application/atom+xml",
            "latest/SHA256SUMS": "text/plain",
        }
        for path, kind in expected.items():
            with urllib.request.urlopen(base + path) as response:
                assert response.headers["Content-Type"].split(";")[0] == kind, path
                body = response.read()
            if path == "latest/activities.csv":
                assert body == (site / path).read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def test_serve_names_a_missing_folder(tmp_path, capsys):
    from partnerdata import cli

    assert cli.main(["serve", "--published", str(tmp_path / "nowhere"), "--port", "0"]) == 2
    assert "no such folder; run `partnerdata run` first" in capsys.readouterr().err


def test_without_a_base_url_there_is_no_dcat_file_and_no_link_to_it(site, tmp_path):
    import shutil

    copy = tmp_path / "published"
    shutil.copytree(site, copy, symlinks=True)
    (copy / ".catalogue-index.html.x1y2").write_text("half a page")  # as a crash mid-write leaves it
    assert refresh_catalogue(copy, "") is True
    assert not (copy / "catalog.ttl").exists() and not (copy / ".catalogue-index.html.x1y2").exists()
    for page in [copy / "index.html", *copy.glob("releases/*/index.html")]:
        assert "catalog.ttl" not in page.read_text(encoding="utf-8")
        assert Page(page.read_text(encoding="utf-8")).links  # the page itself is still there


def test_a_chart_whose_columns_a_schema_change_removed_is_left_out(site, tmp_path):
    import shutil

    import pyarrow.parquet as pq

    from partnerdata.catalogue.charts import charts

    folder = tmp_path / "release"
    shutil.copytree(site / "releases" / "1.0.1", folder)
    activities = pq.read_table(folder / "activities.parquet")
    pq.write_table(activities.rename_columns(["topic" if n == "theme" else n for n in activities.column_names]),
                   folder / "activities.parquet")  # fmt: skip
    assert [c.key for c in charts(folder)] == ["projects-per-sector", "countries"]


def test_a_catalogue_that_cannot_be_built_never_fails_the_run(site, monkeypatch, caplog):
    from partnerdata.config.layout import PROJECT_ROOT
    from partnerdata.config.schemas import load_schemas
    from partnerdata.config.sources import load_config
    from partnerdata.run import steps as pipeline

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "refresh_catalogue", broken)
    config = load_config(PROJECT_ROOT / "sources.yaml", load_schemas(PROJECT_ROOT / "schemas"), environ={})
    message = pipeline._refresh_catalogue(site, config)
    assert message == "the catalogue could not be rebuilt (OSError: disk full); the next run tries again"
    assert message in caplog.text


def test_charts_drawn_from_the_tables_of_a_run_are_those_drawn_from_the_files(site):
    import pyarrow.parquet as pq

    from partnerdata.catalogue.charts import charts, charts_of_tables

    latest = site / "latest"
    tables = {
        name: pq.read_table(latest / f"{name}.parquet")
        for name in ("activities", "projects", "organisations", "project_partners")
    }
    assert charts_of_tables(tables) == charts(latest) and len(charts(latest)) == 3


def test_the_catalogue_built_with_the_charts_a_run_drew_is_the_catalogue_built_from_the_files(site, tmp_path):
    """A run draws the charts in every language while it writes the release; the catalogue step then
    draws none, and its pages are those a cold rebuild writes."""
    import shutil

    import pyarrow.parquet as pq

    from partnerdata.catalogue import refresh_catalogue
    from partnerdata.catalogue.charts import charts_in_every_language

    latest = site / "latest"
    tables = {
        name: pq.read_table(latest / f"{name}.parquet")
        for name in ("activities", "projects", "organisations", "project_partners")
    }
    drawn = charts_in_every_language(tables)
    assert sorted(drawn) == ["en", "nl"] and all(len(charts) == 3 for charts in drawn.values())
    ran, cold = tmp_path / "ran", tmp_path / "cold"
    shutil.copytree(site, ran)
    shutil.copytree(site, cold)
    version = json.loads((site / "latest.json").read_text())["version"]
    assert refresh_catalogue(ran, BASE_URL, force=True, drawn=(version, drawn))
    assert refresh_catalogue(cold, BASE_URL, force=True)
    for name in ("index.html", "index.nl.html"):
        assert (ran / name).read_text(encoding="utf-8") == (cold / name).read_text(encoding="utf-8")
        assert 'id="chart-countries"' in (ran / name).read_text(encoding="utf-8")
    other = {"en": [], "nl": []}  # charts drawn for another version are not this release's: drawn again
    assert refresh_catalogue(ran, BASE_URL, force=True, drawn=("0.0.1", other))
    assert (ran / "index.html").read_text(encoding="utf-8") == (cold / "index.html").read_text(encoding="utf-8")


def test_an_activity_counts_once_per_country_however_often_its_row_names_it():
    import pyarrow as pa

    from partnerdata.catalogue.charts import counts_of_tables

    activities = pa.table(
        {
            "country": ["BE", "NL", None, "BE"],
            "partner_countries": [["BE", "NL", "NL"], None, ["ZA", None], []],
        }
    )
    counts = counts_of_tables({"activities": activities})
    assert counts.countries == {"BE": [2, 0], "NL": [2, 0], "ZA": [1, 0]}
    assert counts_of_tables({"activities": activities.slice(0, 0)}).countries is None


def _chart_tables():
    """Four activities, two projects and the countries of both, as a release holds them."""
    import datetime as dt

    import pyarrow as pa

    day = dt.date
    return {
        "activities": pa.table(
            {
                "start_date": [day(2023, 3, 1), day(2023, 5, 2), day(2024, 1, 9), day(2024, 2, 1)],
                "theme": ["inclusive_education", "inclusive_education", "multilingualism", None],
                "country": ["BE", "NL", "BE", "XK"],
                "partner_countries": pa.array([["NL"], [], ["ZA", "BE"], None], pa.list_(pa.string())),
            }
        ),
        "projects": pa.table(
            {"project_id": ["p1", "p2"], "call_year": [2022, 2023], "sector": ["school_education", "higher_education"]}
        ),
        "organisations": pa.table({"organisation_id": ["o1", "o2"], "country": ["BE", "ZA"]}),
        "project_partners": pa.table({"project_id": ["p1", "p2", "p2"], "organisation_id": ["o1", "o1", "o2"]}),
    }


def _svg_texts(svg: str) -> list[str]:
    return ["".join(text.itertext()) for text in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_charts_speak_the_language_of_their_translation():
    from partnerdata.catalogue.charts import charts_of_tables
    from partnerdata.config.translations import load_translations

    translations = load_translations()
    themes, sectors, countries = charts_of_tables(_chart_tables(), translations["nl"])

    assert [themes.key, sectors.key, countries.key] == ["activities-per-theme", "projects-per-sector", "countries"]
    assert [themes.title, sectors.title, countries.title] == [
        "Activiteiten per thema en jaar",
        "Projecten per sector en oproepjaar",
        "Betrokken landen",
    ]
    assert 'aria-label="Betrokken landen"' in countries.svg
    # The legend and the table name the themes and sectors by nl.yaml's labels, a missing theme as "(geen)".
    assert {"activiteiten", "Inclusief onderwijs", "Meertaligheid", "(geen)"} <= set(_svg_texts(themes.svg))
    assert themes.columns == ["jaar", "Inclusief onderwijs", "(geen)", "Meertaligheid", "totaal"]
    assert {"Hoger onderwijs", "Schoolonderwijs"} <= set(_svg_texts(sectors.svg))
    assert themes.summary == (
        "Gestapelde staven: 4 activiteiten van 2023 tot 2024, de meeste in 2023 (2). "
        "De grootste thema's: Inclusief onderwijs (2), (geen) (1), Meertaligheid (1)."
    )
    # Countries by their Dutch names (pycountry's), the table keeping the code the data holds.
    assert {"België", "Nederland", "Zuid-Afrika", "Kosovo", "activiteiten en projecten"} <= set(
        _svg_texts(countries.svg)
    )
    assert countries.columns == ["land", "activiteiten", "projecten"]
    assert countries.rows == [["België (BE)", 2, 2], ["Nederland (NL)", 2, 0], ["Zuid-Afrika (ZA)", 1, 1],
                              ["Kosovo (XK)", 1, 0]]  # fmt: skip
    assert countries.summary.startswith("Horizontale staven voor 4 landen (getoond: de 4 meest betrokken landen): ")
    assert "Inclusive education" not in themes.svg and "Belgium" not in countries.svg


def test_english_charts_are_the_default_and_draw_the_numbers_the_dutch_ones_do():
    from partnerdata.catalogue.charts import charts_of_tables
    from partnerdata.config.translations import load_translations

    translations = load_translations()
    english = charts_of_tables(_chart_tables())
    dutch = charts_of_tables(_chart_tables(), translations["nl"])

    # Drawing Dutch leaves nothing behind: English drawn after it is byte for byte English drawn before.
    assert charts_of_tables(_chart_tables(), translations["en"]) == english
    themes, sectors, countries = english
    assert [c.title for c in english] == [
        "Activities per theme and year",
        "Projects per sector and call year",
        "Countries involved",
    ]
    assert themes.columns == ["year", "Inclusive education", "(none)", "Multilingualism", "total"]
    assert themes.summary == (
        "Stacked bars: 4 activities from 2023 to 2024, most in 2023 (2). "
        "The largest themes: Inclusive education (2), (none) (1), Multilingualism (1)."
    )
    assert countries.columns == ["country", "activities", "projects"]
    assert countries.rows[0] == ["Belgium (BE)", 2, 2] and "Belgium" in _svg_texts(countries.svg)
    assert countries.summary == (
        "Horizontal bars for 4 countries (the 4 most involved shown): Belgium (2 activities, 2 projects), "
        "Netherlands (2 activities, 0 projects), South Africa (1 activities, 1 projects)."
    )
    # The same charts, keys and numbers in both languages, in the same order; only the words differ.
    assert [c.key for c in dutch] == [c.key for c in english]
    for ours, theirs in zip(english, dutch, strict=True):
        assert [row[1:] for row in ours.rows] == [row[1:] for row in theirs.rows]
        assert len(ours.columns) == len(theirs.columns)
    assert [row[0] for row in themes.rows] == [row[0] for row in dutch[0].rows] == ["2023", "2024"]
    codes = [re.search(r"\((\w+)\)$", str(row[0])) for row in (*countries.rows, *dutch[2].rows)]
    assert [code.group(1) for code in codes if code] == ["BE", "NL", "ZA", "XK"] * 2


def test_a_chart_without_its_columns_is_left_out_but_one_without_its_texts_is_an_error():
    from partnerdata.catalogue.charts import charts_of_tables
    from partnerdata.config.translations import Translation

    tables = _chart_tables()
    tables["activities"] = tables["activities"].rename_columns(["start_date", "topic", "country", "partner_countries"])
    assert [c.key for c in charts_of_tables(tables)] == ["projects-per-sector", "countries"]
    with pytest.raises(KeyError, match="no interface text 'chart_"):
        charts_of_tables(_chart_tables(), Translation(code="en", name="English", texts={}))


def test_the_release_charts_count_the_same_in_both_languages(site):
    from partnerdata.catalogue.charts import charts
    from partnerdata.config.translations import load_translations

    translations = load_translations()
    english, dutch = charts(site / "latest"), charts(site / "latest", translations["nl"])
    assert [c.key for c in dutch] == [c.key for c in english] and len(dutch) == 3
    assert [[row[1:] for row in c.rows] for c in dutch] == [[row[1:] for row in c.rows] for c in english]
    assert dutch[2].rows[0][0] != english[2].rows[0][0]  # a country's name is the language's
    assert dutch[2].rows[0][0].split(" (")[-1] == english[2].rows[0][0].split(" (")[-1]  # its code is not


def test_the_landing_page_describes_the_dataset_in_schema_org_json_ld(site):
    """Search engines' dataset search reads schema.org's Dataset from the page (issue 17)."""
    from rdflib import Graph, Namespace, URIRef

    text = (site / "index.html").read_text(encoding="utf-8")
    (found,) = re.findall(r'<script type="application/ld\+json">\n(.*?)\n</script>', text, re.S)
    document = json.loads(found)
    assert document["@type"] == "Dataset" and document["@context"] == "https://schema.org/"
    catalogue = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    files = {file["url"]: file for r in catalogue["latest_resources"] for file in r["files"]}
    # Parsed as JSON-LD by rdflib, with schema.org's context given inline (this machine reaches no other host).
    graph = Graph().parse(
        data=json.dumps({**document, "@context": {"@vocab": "https://schema.org/"}}), format="json-ld"
    )
    schema = Namespace("https://schema.org/")
    (dataset,) = graph.subjects(predicate=schema.version)
    downloads = list(graph.objects(dataset, schema.distribution))
    assert {str(graph.value(d, schema.contentUrl)) for d in downloads} == set(files)  # every distribution named
    assert {str(graph.value(d, schema.encodingFormat)) for d in downloads} == {
        "text/csv",
        "application/vnd.apache.parquet",
    }
    assert str(graph.value(dataset, schema.version)) == catalogue["latest"]
    assert str(graph.value(dataset, schema.license)) == catalogue["licence"]["path"]
    assert graph.value(dataset, schema.creator) is not None and graph.value(dataset, schema.name) is not None
    start, end = str(graph.value(dataset, schema.temporalCoverage)).split("/")
    assert start < end
    countries = {str(graph.value(place, schema.identifier)) for place in graph.objects(dataset, schema.spatialCoverage)}
    assert "BE" in countries
    assert not isinstance(graph.value(dataset, schema.url), URIRef) or str(graph.value(dataset, schema.url)) == BASE_URL


def test_nothing_in_the_json_ld_ends_its_element():
    from partnerdata.catalogue.jsonld import dataset_jsonld

    model = {"title": "A </script><script>alert(1)</script> & <!-- more", "description": "", "keywords": ["<b>"],
             "latest": "1.0.0", "releases": [{"version": "1.0.0", "created": "2026-11-25T09:30:00Z"}],
             "latest_resources": [], "base_url": None, "licence": {}, "publisher": {"name": "</script>"}}  # fmt: skip
    element = dataset_jsonld(model)
    inner = element.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert json.loads(inner)["name"] == model["title"]  # the text itself, unchanged
