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
    distributions = list(graph.subjects(RDF.type, DCAT.Distribution))
    assert len(distributions) == len(expected)
    assert not list(graph.objects(versions["1.0.1"], DCAT.distribution))
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


@pytest.mark.conformance
def test_the_official_dcat_ap_3_shapes_find_no_violation(reference, model, tmp_path, capsys):
    from pyshacl import validate  # only the conformance test needs it

    folder = reference / "dcat-ap-3.0.1"
    for name in (*SHAPES, "vocabulary-labels.ttl"):
        assert (folder / name).is_file(), f"{folder / name} is missing: the reference folder is incomplete"
    (tmp_path / "catalog.ttl").write_text(catalog_turtle(model), encoding="utf-8")
    shapes = Graph()
    for name in SHAPES:
        shapes.parse(folder / name)
    data = Graph().parse(tmp_path / "catalog.ttl")
    data.parse(folder / "vocabulary-labels.ttl")
    _, results, text = validate(data, shacl_graph=shapes, inference="none")

    found = {"Violation": [], "Warning": [], "Info": []}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).removeprefix(str(SH))
        found.setdefault(severity, []).append(
            f"{severity}: {results.value(result, SH.focusNode)} {results.value(result, SH.resultPath)}: "
            f"{results.value(result, SH.resultMessage)}"
        )
    with capsys.disabled():  # warnings and infos are shown, never fatal
        print(f"\nDCAT-AP 3.0.1: {len(found['Warning'])} warnings, {len(found['Info'])} infos")
        for line in sorted(found["Warning"] + found["Info"]):
            print("  " + line)
    assert not found["Violation"], text
