"""The catalogue in DCAT-AP 3 (Turtle): what the EU and national open-data portals harvest.

It describes the model of catalogue.model.build_model, nothing else, so that catalog.json and
catalog.ttl never disagree. The shape of the description:

- one dcat:Catalog, the published/ folder, whose homepage is the base URL;
- one dcat:DatasetSeries, the dataset as a whole, across its releases;
- one dcat:Dataset per release (superseded, current, withdrawn or purged), dcat:inSeries the series,
  with its version and, in adms:versionNotes, why it was made and why it was withdrawn;
- one dcat:Distribution per file a release still has (a purged release has none).

Portals only accept absolute URIs, so the public base URL is required. Every node the
catalogue names is a hash URI under it, except the file URLs themselves, the EU and IANA
vocabulary terms, and the checksums (blank nodes: they only make sense inside their file).
Vocabulary terms are typed here (dct:MediaType, dct:LicenseDocument...) because the DCAT-AP
shapes check the class of each value and a harvester cannot be expected to fetch the vocabularies.

The texts and URLs come from settings and partner data, so nothing here can make catalog.ttl
invalid: every literal goes through xml_text (no NUL or form feed a parser or a portal chokes on),
and a URL from the data becomes an IRI only when safe_link accepts it (an http(s) URL with a host,
nothing a Turtle IRI cannot hold); otherwise the statement that would use it is left out.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast
from urllib.parse import urljoin

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from partnerdata.util.safe_text import mailto_link, safe_link, xml_text

ADMS = Namespace("http://www.w3.org/ns/adms#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # DCAT 3: rdflib.namespace.DCAT lacks DatasetSeries, inSeries, version
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
EU_FILE_TYPES = {
    "csv": URIRef("http://publications.europa.eu/resource/authority/file-type/CSV"),
    "parquet": URIRef("http://publications.europa.eu/resource/authority/file-type/PARQUET"),
}
EU_LICENCE = "http://publications.europa.eu/resource/authority/licence/"
# SPDX identifier -> the EU licence authority's code, for the licences with an obvious match.
EU_LICENCES = {
    "CC-BY-4.0": "CC_BY_4_0",
    "CC-BY-SA-4.0": "CC_BYSA_4_0",
    "CC-BY-ND-4.0": "CC_BYND_4_0",
    "CC-BY-NC-4.0": "CC_BYNC_4_0",
    "CC-BY-NC-SA-4.0": "CC_BYNCSA_4_0",
    "CC-BY-NC-ND-4.0": "CC_BYNCND_4_0",
    "CC0-1.0": "CC0",
    "ODC-By-1.0": "ODC_BY",
    "ODbL-1.0": "ODC_BL",
    "PDDL-1.0": "ODC_PDDL",
}
DISTRIBUTION_STATUS = Namespace("http://publications.europa.eu/resource/authority/distribution-status/")
# A release's status (catalogue model) -> the status of its files for a portal.
FILE_STATUS = {
    "current": (DISTRIBUTION_STATUS.COMPLETED, "Completed"),
    "superseded": (DISTRIBUTION_STATUS.DEPRECATED, "Deprecated"),
    "withdrawn": (DISTRIBUTION_STATUS.WITHDRAWN, "Withdrawn"),
}
FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet"}


def catalog_turtle(model: dict[str, Any]) -> str:
    """catalog.ttl: the DCAT-AP 3 description of the catalogue model (the same model gives the same text)."""
    base = _base_url(model)
    graph = _new_graph()
    catalog = URIRef(base + "#catalog")
    series = URIRef(base + "#series")
    agents = _agents(graph, model, base)
    licence = _licence(graph, model["licence"], base)

    _describe_catalog(graph, catalog, model, base, agents)
    _describe_series(graph, series, model, agents)
    graph.add((catalog, DCAT.dataset, series))
    for release in model["releases"]:
        dataset = _describe_release(graph, release, model, series, agents, licence)
        graph.add((catalog, DCAT.dataset, dataset))
    return graph.serialize(format="turtle")


def _base_url(model: dict[str, Any]) -> str:
    """The public URL of published/, ending in '/': every URI of the catalogue is under it."""
    base = model.get("base_url")
    if not base:
        raise ValueError(
            "the DCAT catalogue needs absolute URLs: set settings.base_url in sources.yaml "
            "(the public URL of the published/ folder)"
        )
    if not safe_link(base):
        raise ValueError(
            f"settings.base_url in sources.yaml is {base!r}: the DCAT catalogue needs an absolute http(s) URL "
            "with a host and without spaces or control characters (the public URL of the published/ folder)"
        )
    return base if base.endswith("/") else base + "/"


def _new_graph() -> Graph:
    """An empty graph with the prefixes DCAT-AP documents use, so that catalog.ttl reads like its examples."""
    graph = Graph()
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("vcard", VCARD),
        ("adms", ADMS),
        ("spdx", SPDX),
        ("skos", SKOS),
        ("xsd", XSD),
    ):
        graph.bind(prefix, namespace, replace=True)
    return graph


class Agents(TypedDict):
    publisher: URIRef
    contact_point: URIRef | None  # None when settings give no contact point


def _agents(graph: Graph, model: dict[str, Any], base: str) -> Agents:
    """The publisher and the contact point, shared by the catalogue, the series and every release."""
    publisher = URIRef(base + "#publisher")
    described = model.get("publisher") or {}
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, _text(described.get("name") or model["title"])))
    homepage = _document(graph, described.get("url"))
    if homepage is not None:
        graph.add((publisher, FOAF.homepage, homepage))
    return {"publisher": publisher, "contact_point": _contact_point(graph, model.get("contact_point") or {}, base)}


def _contact_point(graph: Graph, contact: dict[str, Any], base: str) -> URIRef | None:
    """A vcard:Organization; typed vcard:Kind as well, since the shapes check that class without inference."""
    if not contact:
        return None
    node = URIRef(base + "#contact-point")
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    if contact.get("name"):
        graph.add((node, VCARD.fn, _text(contact["name"])))
    email = mailto_link(contact.get("email"))
    if email:
        graph.add((node, VCARD.hasEmail, URIRef(email)))
    if safe_link(contact.get("url")):
        graph.add((node, VCARD.hasURL, URIRef(contact["url"])))
    return node


def _licence(graph: Graph, licence: dict[str, Any], base: str) -> URIRef:
    """The EU licence authority's URI when the SPDX id has one (portals filter on it), else the licence's URL."""
    name = licence.get("name", "")
    path = safe_link(licence.get("path"))
    if name in EU_LICENCES:
        node = URIRef(EU_LICENCE + EU_LICENCES[name])
    elif path:
        node = URIRef(path)
    else:
        node = URIRef(base + "#licence")
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    if licence.get("title") or name:
        graph.add((node, DCTERMS.title, _text(licence.get("title") or name)))
    if path and URIRef(path) != node:
        graph.add((node, RDFS.seeAlso, URIRef(path)))
    return node


def _describe_catalog(graph: Graph, catalog: URIRef, model: dict[str, Any], base: str, agents: Agents) -> None:
    """The published/ folder as a catalogue: its homepage is the index page under the base URL."""
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, _text(f"Catalogue: {model['title']}")))
    graph.add((catalog, DCTERMS.description, _text(model["description"] or model["title"])))
    graph.add((catalog, FOAF.homepage, _page(graph, base)))
    _add_agents(graph, catalog, agents)
    _add_dates(graph, catalog, model)


def _describe_series(graph: Graph, series: URIRef, model: dict[str, Any], agents: Agents) -> None:
    """The dataset as a whole; each release is a member. Typed dcat:Dataset as well (DCAT 3 makes a
    series a dataset) so that the catalogue can list it under dcat:dataset without inference."""
    graph.add((series, RDF.type, DCAT.DatasetSeries))
    graph.add((series, RDF.type, DCAT.Dataset))
    graph.add((series, DCTERMS.title, _text(model["title"])))
    graph.add((series, DCTERMS.description, _text(model["description"] or model["title"])))
    for keyword in model.get("keywords", []):
        graph.add((series, DCAT.keyword, _text(keyword)))
    _add_agents(graph, series, agents)
    _add_dates(graph, series, model)


def _describe_release(
    graph: Graph,
    release: dict[str, Any],
    model: dict[str, Any],
    series: URIRef,
    agents: Agents,
    licence: URIRef,
) -> URIRef:
    """One release: a dataset of its own, since its files never change once published."""
    dataset = URIRef(release["page_url"] + "#dataset")  # under the base URL, which _base_url checked
    version = release["version"]
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, _text(f"{model['title']}, release {version}")))
    graph.add((dataset, DCTERMS.description, _text(model["description"] or model["title"])))
    graph.add((dataset, DCTERMS.identifier, _text(str(dataset))))
    graph.add((dataset, DCAT.version, _text(version)))
    graph.add((dataset, ADMS.versionNotes, _text(_version_notes(release))))
    graph.add((dataset, DCAT.inSeries, series))
    graph.add((dataset, DCAT.landingPage, _page(graph, release["page_url"])))
    graph.add((dataset, DCTERMS.license, licence))
    if release.get("created"):
        graph.add((dataset, DCTERMS.issued, _datetime(release["created"])))
        graph.add((dataset, DCTERMS.modified, _datetime(release["created"])))
    for keyword in model.get("keywords", []):
        graph.add((dataset, DCAT.keyword, _text(keyword)))
    _add_agents(graph, dataset, agents)
    for resource in release["resources"]:
        for file in resource["files"]:
            distribution = _describe_file(graph, release, resource, file, model, licence)
            if distribution is not None:
                graph.add((dataset, DCAT.distribution, distribution))
    return dataset


def _version_notes(release: dict[str, Any]) -> str:
    """Why this release exists (the bump and its reasons) and, when withdrawn, why data users should not use it."""
    if release.get("bump") == "initial":
        notes = "First release."
    elif release.get("bump") is None:  # a release older than changes.json
        notes = "Release " + release["version"] + "; what changed was not recorded."
    else:
        previous = f" (compared with {release['previous_version']})" if release.get("previous_version") else ""
        reasons = "; ".join(release.get("reasons") or []) or "no reason recorded"
        notes = f"{release['bump'].capitalize()} release{previous}: {reasons}."
    withdrawn = release.get("withdrawn")
    if withdrawn:
        notes += f" Withdrawn on {withdrawn.get('withdrawn_at', '?')}: {withdrawn.get('reason', 'no reason given')}."
        if release.get("status") == "purged":
            notes += " Its data files were deleted."
    return notes


def _describe_file(
    graph: Graph,
    release: dict[str, Any],
    resource: dict[str, Any],
    file: dict[str, Any],
    model: dict[str, Any],
    licence: URIRef,
) -> URIRef | None:
    """One published file: where to download it, what it is, and how to check it arrived intact.

    None for a file that is gone (a purged release) or whose name in datapackage.json makes no valid URL."""
    fmt = file["format"]
    distribution = URIRef(f"{release['page_url']}#{resource['name']}-{fmt}")
    if not file.get("available", True) or not safe_link(file["url"]) or not safe_link(str(distribution)):
        return None
    url = URIRef(file["url"])
    graph.add((distribution, RDF.type, DCAT.Distribution))
    graph.add((distribution, DCTERMS.title, _text(f"{resource['title']} ({FORMAT_NAMES.get(fmt, fmt)})")))
    description = model.get("descriptions", {}).get(resource["name"], {}).get("description")
    if description:
        graph.add((distribution, DCTERMS.description, _text(description)))
    graph.add((distribution, DCAT.downloadURL, url))
    graph.add((distribution, DCAT.accessURL, url))
    graph.add((distribution, DCAT.mediaType, _media_type(graph, file["mediatype"])))
    if fmt in EU_FILE_TYPES:
        graph.add((distribution, DCTERMS.format, EU_FILE_TYPES[fmt]))
        graph.add((EU_FILE_TYPES[fmt], RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((distribution, DCTERMS.license, licence))
    if release.get("created"):
        graph.add((distribution, DCTERMS.issued, _datetime(release["created"])))
    if release["status"] in FILE_STATUS:
        graph.add((distribution, ADMS.status, _status(graph, release["status"])))
    if file.get("bytes") is not None:
        graph.add((distribution, DCAT.byteSize, Literal(file["bytes"], datatype=XSD.nonNegativeInteger)))
    if file.get("sha256"):
        graph.add((distribution, SPDX.checksum, _checksum(graph, file["sha256"])))
    return distribution


def _checksum(graph: Graph, sha256: str) -> BNode:
    """spdx:Checksum; the value as written in SHA256SUMS (lower-case hex), so users can compare by eye."""
    node = BNode()
    graph.add((node, RDF.type, SPDX.Checksum))
    graph.add((node, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((node, SPDX.checksumValue, Literal(xml_text(sha256), datatype=XSD.hexBinary, normalize=False)))
    return node


def _add_agents(graph: Graph, node: URIRef, agents: Agents) -> None:
    graph.add((node, DCTERMS.publisher, agents["publisher"]))
    if agents["contact_point"] is not None:
        graph.add((node, DCAT.contactPoint, agents["contact_point"]))


def _add_dates(graph: Graph, node: URIRef, model: dict[str, Any]) -> None:
    """Issued: the first release. Modified: the last release published or withdrawn, since either changes
    what the catalogue says (the model's 'updated' is latest's date, which a withdrawal moves back)."""
    created = sorted(r["created"] for r in model["releases"] if r.get("created"))
    withdrawn = [
        r["withdrawn"]["withdrawn_at"] for r in model["releases"] if (r.get("withdrawn") or {}).get("withdrawn_at")
    ]
    if created:
        graph.add((node, DCTERMS.issued, _datetime(created[0])))
        graph.add((node, DCTERMS.modified, _datetime(max(created + withdrawn))))


def _datetime(value: str) -> Literal:
    """xsd:dateTime, kept as the model writes it (UTC, with Z)."""
    return Literal(xml_text(value), datatype=XSD.dateTime, normalize=False)


def _text(value: Any) -> Literal:
    """A plain literal of text from the data, without the characters XML 1.0 forbids."""
    return Literal(xml_text(str(value)))


def _document(graph: Graph, url: str | None) -> URIRef | None:
    """A web page named in the data (a foaf:Document), or None when safe_link refuses its URL."""
    return _page(graph, cast(str, url)) if safe_link(url) else None  # safe_link passed it: a str


def _page(graph: Graph, url: str) -> URIRef:
    """A page of the catalogue itself (under the checked base URL), typed foaf:Document."""
    node = URIRef(url)
    graph.add((node, RDF.type, FOAF.Document))
    return node


def _media_type(graph: Graph, mediatype: str) -> URIRef:
    node = URIRef(urljoin(IANA_MEDIA_TYPES, mediatype))
    graph.add((node, RDF.type, DCTERMS.MediaType))
    return node


def _status(graph: Graph, release_status: str) -> URIRef:
    """The EU distribution status of a release's files, with the label the shapes want of a skos:Concept."""
    status, label = FILE_STATUS[release_status]
    graph.add((status, RDF.type, SKOS.Concept))
    graph.add((status, SKOS.inScheme, URIRef(str(DISTRIBUTION_STATUS).rstrip("/"))))
    graph.add((status, SKOS.prefLabel, Literal(label, lang="en")))
    return status
