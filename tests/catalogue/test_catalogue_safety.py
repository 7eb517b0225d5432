"""The catalogue stays well-formed and link-safe whatever text settings and partners put into it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF

from partnerdata.catalogue import refresh_catalogue
from partnerdata.catalogue.dcat import catalog_turtle
from partnerdata.catalogue.feed import atom_feed
from partnerdata.catalogue.model import build_model
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.sources import load_config
from partnerdata.release.publish import publish_release
from partnerdata.release.withdraw import withdraw_release
from partnerdata.run.steps import package_metadata
from partnerdata.util.safe_text import mailto_link, relative_link, safe_link
from tests.support.release_data import demo_tables

BASE_URL = "https://data.example.org/published/"
ATOM = "{http://www.w3.org/2005/Atom}"
VCARD_EMAIL = URIRef("http://www.w3.org/2006/vcard/ns#hasEmail")
REASON = "a project title was wrong\x0c (see\x00 ticket \x1b[31m42)"
PUBLISHER = {"name": "Evil <b>publisher</b>", "url": "javascript:alert(1)"}
CONTACT = {"name": 'Open "data" desk', "email": 'desk" onmouseover="alert(1)"@example.org'}
# Characters that XML forbids and HTML flags as errors: none may reach a page, the feed or catalog.ttl.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SOURCES = [
    {
        "title": "Partner <script>alert(1)</script>",
        "source_id": "hostile",
        "organisation": "Org\x0c with a form feed",
        "status": "fallback",
        "snapshot_fetched_at": "2026-11-24T02:00:05Z",
        "snapshot_sha256": "0" * 64,
        "snapshot_age_days": 1.0,
        "error": "HTTP 503\x00 from [x](javascript:alert(1))",
        "path": "https://partner.example.org/export.csv",
    }
]


def _retitled(tables: dict[str, pa.Table], suffix: str) -> dict[str, pa.Table]:
    projects = tables["projects"]
    index = projects.schema.get_field_index("title")
    titles = projects.column("title").to_pylist()
    titles[0] += suffix
    return {**tables, "projects": projects.set_column(index, projects.schema.field(index), pa.array(titles))}


class Links(HTMLParser):
    """Every href and src of a page, unescaped as a browser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value or "" for name, value in attrs if name in ("href", "src", "action", "formaction")]


@pytest.fixture(scope="module")
def hostile(schemas, tmp_path_factory) -> dict:
    """A published/ folder whose settings hold a javascript: publisher URL and a quoted contact
    e-mail, whose partner sources hold markup and controls, and whose newest release 1.0.1 was
    withdrawn for a reason with a form feed, a NUL and an escape sequence in it."""
    root = tmp_path_factory.mktemp("safety")
    config = load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={})
    settings = dataclasses.replace(config.settings, publisher=PUBLISHER, contact_point=CONTACT)
    metadata = package_metadata(dataclasses.replace(config, settings=settings), schemas)
    tables = demo_tables(schemas, root / "work")
    published = root / "published"
    day = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)

    def publish(number: int) -> None:
        outcome = publish_release(
            _retitled(tables, f" ({number})"), schemas, published, day + dt.timedelta(days=number), f"fp{number}",
            {}, SOURCES, {}, metadata,
        )  # fmt: skip
        assert outcome.version == f"1.0.{number}", outcome.message

    publish(0)
    publish(1)
    withdraw_release(published, "1.0.1", "placeholder", "tester", day + dt.timedelta(days=2))
    # `release withdraw` refuses such a reason now; a withdrawn.json an older partnerdata wrote may hold one.
    registry = json.loads((published / "withdrawn.json").read_text(encoding="utf-8"))
    registry["1.0.1"]["reason"] = REASON
    (published / "withdrawn.json").write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")
    assert refresh_catalogue(published, BASE_URL) is True
    return {"published": published, "publish": publish}


def _pages(published: Path) -> list[Path]:
    return [published / "index.html", *sorted(published.glob("releases/*/index.html"))]


def _assert_well_formed(published: Path) -> None:
    """feed.xml and catalog.ttl parse; no page, feed or catalogue holds a control character or a live script link."""
    feed = ET.parse(published / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    Graph().parse(published / "catalog.ttl", format="turtle")
    for path in [*_pages(published), published / "feed.xml", published / "catalog.ttl"]:
        text = path.read_text(encoding="utf-8")
        assert not CONTROLS.search(text), path
        assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", unescape(text), flags=re.I), path
    for page in _pages(published):
        for link in Links(page.read_text(encoding="utf-8")).links:
            # Every link is one of the site's own files, an http(s) URL or a plausible mailto: address.
            assert relative_link(link) or safe_link(link) or mailto_link(link) == link, (page, link)


def test_hostile_settings_and_reasons_give_well_formed_files(hostile):
    _assert_well_formed(hostile["published"])


def test_the_feed_keeps_the_reason_without_its_control_characters(hostile):
    feed = ET.parse(hostile["published"] / "feed.xml").getroot()
    entries = {e.find(f"{ATOM}title").text: e for e in feed.findall(f"{ATOM}entry")}
    summary = entries["Release 1.0.1 (withdrawn)"].find(f"{ATOM}summary").text
    assert "a project title was wrong (see ticket [31m42)" in summary
    author = feed.find(f"{ATOM}author")
    assert author.find(f"{ATOM}name").text == "Evil <b>publisher</b>"  # text, escaped by the serializer
    assert author.find(f"{ATOM}uri") is None  # the javascript: URL is left out


def test_the_pages_show_refused_urls_as_text(hostile):
    published = hostile["published"]
    index = (published / "index.html").read_text(encoding="utf-8")
    assert "Evil &lt;b&gt;publisher&lt;/b&gt; (<code>javascript:alert(1)</code>)" in index
    assert "desk&quot; onmouseover=&quot;alert(1)&quot;@example.org" in index and "mailto:" not in index
    assert "Partner &lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert index.count("<script") == index.count('<script type="application/ld+json">') <= 1  # data only, no code
    assert "Org with a form feed" in index
    page = (published / "releases" / "1.0.1" / "index.html").read_text(encoding="utf-8")
    assert "a project title was wrong (see ticket [31m42)" in page


def test_catalog_ttl_leaves_out_what_is_no_valid_iri(hostile):
    graph = Graph().parse(hostile["published"] / "catalog.ttl", format="turtle")
    publisher = URIRef(BASE_URL + "#publisher")
    assert graph.value(publisher, FOAF.name) == Literal("Evil <b>publisher</b>")
    assert graph.value(publisher, FOAF.homepage) is None
    assert list(graph.objects(None, VCARD_EMAIL)) == []
    assert not [o for o in graph.objects() if isinstance(o, URIRef) and str(o).lower().startswith("javascript:")]
    notes = [str(o) for o in graph.objects() if "a project title was wrong" in str(o)]
    assert notes and all(not CONTROLS.search(note) for note in notes)


def test_a_later_release_and_refresh_still_give_well_formed_files(hostile):
    published = hostile["published"]
    hostile["publish"](2)  # withdrawn.json still holds the reason with its control characters
    assert refresh_catalogue(published, BASE_URL) is True
    _assert_well_formed(published)
    assert refresh_catalogue(published, BASE_URL, force=True) is True
    _assert_well_formed(published)
    assert json.loads((published / "catalog.json").read_text())["latest"] == "1.0.2"


def test_file_names_from_datapackage_never_become_script_links(hostile, tmp_path):
    copy = tmp_path / "published"
    shutil.copytree(hostile["published"], copy, symlinks=True)
    package_path = copy / "releases" / "1.0.0" / "datapackage.json"
    package = json.loads(package_path.read_text(encoding="utf-8"))
    package["resources"][0]["path"] = "javascript:alert(1)"
    package["resources"][1]["path"] = "a file name with spaces.csv"
    package["resources"][2]["description"] = "text\x0cwith\x00controls"
    package_path.write_text(json.dumps(package), encoding="utf-8")
    assert refresh_catalogue(copy, BASE_URL, force=True) is True
    _assert_well_formed(copy)
    page = (copy / "releases" / "1.0.0" / "index.html").read_text(encoding="utf-8")
    assert "javascript:alert(1)" in page  # shown as the file's name, not as a link
    graph = Graph().parse(copy / "catalog.ttl", format="turtle")
    assert not [o for o in graph.objects() if "with spaces" in str(o)]  # no valid IRI: its distribution is left out


def test_a_base_url_that_is_no_http_url_makes_no_absolute_link(hostile):
    model = build_model(hostile["published"], "javascript:alert(1)//")
    feed = ET.fromstring(atom_feed(model))
    assert feed.find(f"{ATOM}id").text == "urn:partnerdata:feed"
    assert all(not link.get("href").lower().startswith("javascript:") for link in feed.iter(f"{ATOM}link"))
    with pytest.raises(ValueError, match=r"settings\.base_url in sources\.yaml is 'javascript:alert\(1\)//'"):
        catalog_turtle(model)
