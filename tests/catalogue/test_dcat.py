"""The DCAT-AP 3 catalogue (catalog.ttl) of a real published/ folder, checked by the official shapes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from partnerdata.catalogue.dcat import catalog_turtle
from partnerdata.catalogue.model import build_model
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.sources import load_config
from partnerdata.release.publish import publish_release
from partnerdata.release.purge import purge_release
from partnerdata.release.withdraw import withdraw_release
from partnerdata.run.steps import package_metadata
from tests.support.release_data import demo_tables

BASE_URL = "https://data.example.org/published/"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SH = Namespace("http://www.w3.org/ns/shacl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # not rdflib's: pytest's collection probes it and warns
SHAPES = ("html__shacl__shapes.ttl", "html__shacl__range.ttl")


def _retitled(tables: dict[str, pa.Table], suffix: str) -> dict[str, pa.Table]:
    """The demo tables with the first project's title changed: a patch release."""
    projects = tables["projects"]
    index = projects.schema.get_field_index("title")
    titles = projects.column("title").to_pylist()
    titles[0] = f"{titles[0]}{suffix}"
    return {**tables, "projects": projects.set_column(index, projects.schema.field(index), pa.array(titles))}


@pytest.fixture(scope="module")
def published(schemas, tmp_path_factory) -> Path:
    """Four releases: 1.0.0 superseded, 1.0.1 purged, 1.0.2 current, 1.0.3 withdrawn (files kept)."""
    root = tmp_path_factory.mktemp("dcat")
    folder = root / "published"
    tables = demo_tables(schemas, root / "work")
    metadata = package_metadata(load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={}), schemas)
    day = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    for number, suffix in enumerate(("", " (a)", " (b)", " (c)")):
        now = day + dt.timedelta(days=number)
        outcome = publish_release(_retitled(tables, suffix), schemas, folder, now, "fp", {}, [], {}, metadata)
        assert outcome.version == f"1.0.{number}", outcome.message
    withdraw_release(folder, "1.0.3", "a project title was wrong", "tester", day + dt.timedelta(days=5))
    purge_release(folder, "1.0.1", "personal data in a title", "tester", day + dt.timedelta(days=5))
    return folder


@pytest.fixture(scope="module")
def model(published) -> dict:
    model = build_model(published, BASE_URL)
    assert {r["version"]: r["status"] for r in model["releases"]} == {
        "1.0.3": "withdrawn",
        "1.0.2": "current",
        "1.0.1": "purged",
        "1.0.0": "superseded",
    }
    return model


def test_the_catalogue_describes_every_release_and_file(model):
    text = catalog_turtle(model)
    graph = Graph().parse(data=text, format="turtle")

    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    series = list(graph.subjects(RDF.type, DCAT.DatasetSeries))
    assert len(catalogs) == 1 and len(series) == 1
    catalog, series = catalogs[0], series[0]
    assert graph.value(catalog, URIRef("http://xmlns.com/foaf/0.1/homepage")) == URIRef(BASE_URL)
    releases = {s for s in graph.subjects(RDF.type, DCAT.Dataset) if s != series}
    assert set(graph.objects(catalog, DCAT.dataset)) == releases | {series}
    versions = {str(graph.value(d, DCAT.version)): d for d in releases}
    assert sorted(versions) == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    for dataset in releases:
        assert graph.value(dataset, DCAT.inSeries) == series
        assert graph.value(dataset, DCT.issued).datatype == XSD.dateTime
    notes = {version: str(graph.value(d, ADMS.versionNotes)) for version, d in versions.items()}
    assert "a project title was wrong" in notes["1.0.3"] and "personal data in a title" in notes["1.0.1"]

    expected = {
        file["url"]: file
        for release in model["releases"]
        for resource in release["resources"]
        for file in resource["files"]
        if file["available"]
    }
    assert len(expected) == 3 * 8  # the purged release has no files left
    distributions = [d for release in releases for d in graph.objects(release, DCAT.distribution)]
    (tombstone,) = graph.objects(versions["1.0.1"], DCAT.distribution)  # purged: its page, which says why
    assert graph.value(tombstone, DCAT.accessURL) == URIRef(BASE_URL + "releases/1.0.1/")
    assert graph.value(tombstone, DCAT.downloadURL) is None
    distributions.remove(tombstone)
    assert len(distributions) == len(expected)
    stable = {str(graph.value(d, DCAT.downloadURL)) for d in graph.objects(series, DCAT.distribution)}
    assert stable == {file["url"] for r in model["latest_resources"] for file in r["files"]}  # latest/'s copies
    assert all(url.startswith(BASE_URL + "latest/") for url in stable) and len(stable) == 8
    for distribution in distributions:
        url = graph.value(distribution, DCAT.downloadURL)
        file = expected[str(url)]
        assert str(url).startswith(BASE_URL) and graph.value(distribution, DCAT.accessURL) == url
        assert graph.value(distribution, DCAT.byteSize) == Literal(file["bytes"], datatype=XSD.nonNegativeInteger)
        checksum = graph.value(distribution, SPDX.checksum)
        assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(graph.value(checksum, SPDX.checksumValue)) == file["sha256"]
        assert str(graph.value(distribution, DCAT.mediaType)).endswith("/" + file["mediatype"])

    assert catalog_turtle(model) == text  # the same model, the same text


def test_without_a_base_url_there_is_no_catalogue(published):
    with pytest.raises(ValueError, match=r"settings\.base_url in sources\.yaml"):
        catalog_turtle(build_model(published, None))


def _shacl(reference: Path, text: str, folder: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The results of the official shapes ``names`` (in reference/``folder``) on ``text``, by severity."""
    from pyshacl import validate  # only the conformance tests need it

    for name in names:
        assert (reference / folder / name).is_file(), (
            f"{reference / folder / name} is missing: the reference folder is incomplete"
        )
    shapes = Graph()
    for name in names:
        shapes.parse(reference / folder / name)
    data = Graph().parse(data=text, format="turtle")
    data.parse(reference / "dcat-ap-3.0.1" / "vocabulary-labels.ttl")
    _, results, _ = validate(data, shacl_graph=shapes, inference="none")
    found: dict[str, list[str]] = {"Violation": [], "Warning": [], "Info": []}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).removeprefix(str(SH))
        found.setdefault(severity, []).append(
            f"{severity}: {results.value(result, SH.focusNode)} {results.value(result, SH.resultPath)}: "
            f"{results.value(result, SH.resultMessage)}"
        )
    return found


@pytest.mark.conformance
def test_the_dcat_ap_3_shapes_with_the_recommended_ones_find_nothing(reference, model):
    """Superseded, withdrawn, purged and current releases: no violation and no warning (issue 17)."""
    found = _shacl(reference, catalog_turtle(model), "dcat-ap-3.0.1", (*SHAPES, "html__shacl__shapes_recommended.ttl"))
    assert found == {"Violation": [], "Warning": [], "Info": []}, "\n".join(found["Violation"] + found["Warning"])


@pytest.mark.conformance
def test_the_dcat_ap_2_catalogue_passes_the_2_1_1_shapes(reference, model):
    """data.europa.eu converts what it harvests to DCAT-AP 2.1.1, and national portals still run it."""
    names = (
        "dcat-ap_2.1.1_shacl_shapes.ttl",
        "dcat-ap_2.1.1_shacl_range.ttl",
        "dcat-ap_2.1.1_shacl_shapes_recommended.ttl",
    )
    found = _shacl(reference, catalog_turtle(model, profile="2.1.1"), "dcat-ap-2.1.1", names)
    assert found == {"Violation": [], "Warning": [], "Info": []}, "\n".join(found["Violation"] + found["Warning"])
    assert not found["Violation"]
    three = _shacl(reference, catalog_turtle(model), "dcat-ap-2.1.1", names[:2])
    assert three["Violation"], "the 3.0.1 form is refused by 2.1.1 (byteSize, SHA-256): why both files exist"


def _coverage(graph: Graph, dataset: URIRef) -> tuple[set[str], str, str]:
    period = graph.value(dataset, DCT.temporal)
    countries = {str(c).rsplit("/", 1)[1] for c in graph.objects(dataset, DCT.spatial)}
    return countries, str(graph.value(period, DCAT.startDate)), str(graph.value(period, DCAT.endDate))


def test_spatial_and_temporal_coverage_follow_the_data(schemas, tmp_path):
    """A release whose rows name a new country and a later date is described with both (issue 17)."""
    folder = tmp_path / "published"
    tables = demo_tables(schemas, tmp_path / "work")
    metadata = package_metadata(load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={}), schemas)
    day = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    publish_release(tables, schemas, folder, day, "fp", {}, [], {}, metadata)
    activities = tables["activities"]
    assert "IS" not in activities.column("country").to_pylist()
    countries = activities.column("country").to_pylist()
    countries[0] = "IS"  # Iceland
    ends = activities.column("end_date").to_pylist()
    ends[0] = dt.date(2031, 12, 31)
    for name, values in (("country", countries), ("end_date", ends)):
        index = activities.schema.get_field_index(name)
        activities = activities.set_column(
            index, activities.schema.field(index), pa.array(values, activities.schema.field(index).type)
        )
    publish_release(
        {**tables, "activities": activities}, schemas, folder, day + dt.timedelta(days=1), "fp2", {}, [], {}, metadata
    )

    model = build_model(folder, BASE_URL)
    newer, older = (r["version"] for r in model["releases"])
    graph = Graph().parse(data=catalog_turtle(model), format="turtle")
    first = _coverage(graph, URIRef(f"{BASE_URL}releases/{older}/#dataset"))
    second = _coverage(graph, URIRef(f"{BASE_URL}releases/{newer}/#dataset"))
    assert "ISL" not in first[0] and "ISL" in second[0] and "BEL" in first[0]
    assert first[2] < "2031-12-31" == second[2] and first[1] == second[1]
    assert graph.value(URIRef("http://publications.europa.eu/resource/authority/country/ISL"), DCAT.bbox) is not None
    series = _coverage(graph, URIRef(BASE_URL + "#series"))
    assert series[0] == first[0] | second[0] and series[2] == "2031-12-31"


def test_withdrawals_reach_harvesters(model):
    """A portal that harvests again finds a withdrawn release marked, and the series' last member moved back."""
    graph = Graph().parse(data=catalog_turtle(model), format="turtle")
    dataset_status = {
        v: str(graph.value(URIRef(f"{BASE_URL}releases/{v}/#dataset"), ADMS.status)).rsplit("/", 1)[1]
        for v in ("1.0.0", "1.0.1", "1.0.2", "1.0.3")
    }
    assert dataset_status == {"1.0.0": "Deprecated", "1.0.1": "Withdrawn", "1.0.2": "Completed", "1.0.3": "Withdrawn"}
    series = URIRef(BASE_URL + "#series")
    assert graph.value(series, DCAT.last) == URIRef(f"{BASE_URL}releases/1.0.2/#dataset")  # 1.0.3 was withdrawn
    assert graph.value(series, DCAT.first) == URIRef(f"{BASE_URL}releases/1.0.0/#dataset")
    assert graph.value(URIRef(f"{BASE_URL}releases/1.0.1/#dataset"), DCAT.prev) == URIRef(
        f"{BASE_URL}releases/1.0.0/#dataset"
    )
    notes = str(graph.value(URIRef(f"{BASE_URL}releases/1.0.3/#dataset"), ADMS.versionNotes))
    assert "Withdrawn on" in notes and "a project title was wrong" in notes


def test_coverage_reads_odd_columns_and_never_stops_the_catalogue(tmp_path):
    """Shares after a colon, dictionary-encoded countries, a date kept as text, a broken file."""
    import json

    import pyarrow.parquet as pq

    from partnerdata.release.store import coverage_of, release_coverage

    table = pa.table(
        {
            "country": pa.array(["BE", "NL", None]).dictionary_encode(),
            "recipient_countries": pa.array([["KE:60", "PE:40"], [], None], pa.list_(pa.string())),
            "start_date": pa.array([dt.date(2020, 1, 2), None, dt.date(2019, 5, 6)]),
            "end_date": pa.array(["2031-01-01", None, None]),  # not a date column: says nothing sure
        }
    )
    pq.write_table(table, tmp_path / "projects.parquet")
    fields = [{"name": "country", "type": "string"}, {"name": "recipient_countries", "type": "list"},
              {"name": "start_date", "type": "date"}, {"name": "end_date", "type": "date"}]  # fmt: skip
    package = {"resources": [{"parquet": {"path": "projects.parquet"}, "schema": {"fields": fields}},
                             {"parquet": None, "schema": {"fields": fields}}]}  # fmt: skip
    assert coverage_of(tmp_path, package) == {"countries": ["BE", "KE", "NL", "PE"], "start": "2019-05-06",
                                              "end": "2020-01-02"}  # fmt: skip
    release = tmp_path / "published" / "releases" / "1.0.0"
    release.mkdir(parents=True)
    (release / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    (release / "projects.parquet").write_bytes(b"PAR1 not parquet at all")
    assert release_coverage(tmp_path / "published", "1.0.0") is None  # no coverage, no crash


def test_a_torn_catalog_json_is_no_cache(published, tmp_path):
    import shutil

    copy = tmp_path / "published"
    shutil.copytree(published, copy)
    (copy / "catalog.json").write_text('{"catalogue_format": 1, "coverage_format": 2, "releases": [', encoding="utf-8")
    model = build_model(copy, BASE_URL)
    assert all(r["coverage"] for r in model["releases"])  # read again from the files (or the tombstone)
