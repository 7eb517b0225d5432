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

from partnerdata.catalogue.places import box_wkt, centre_wkt, country_box
from partnerdata.config.schemas import DATA_THEMES
from partnerdata.config.sources import PUBLISHER_TYPES
from partnerdata.util.safe_text import mailto_link, safe_link, xml_text

ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
GEOSPARQL = Namespace("http://www.opengis.net/ont/geosparql#")
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
ADMS_STATUS = Namespace("http://purl.org/adms/status/")
# A release's status -> the ADMS status of the release as a dataset, so that a portal that harvests again marks
# (or drops) a withdrawn one; its files carry the EU distribution status (FILE_STATUS).
RELEASE_STATUS = {
    "current": (ADMS_STATUS.Completed, "Completed"),
    "superseded": (ADMS_STATUS.Deprecated, "Deprecated"),
    "withdrawn": (ADMS_STATUS.Withdrawn, "Withdrawn"),
    "purged": (ADMS_STATUS.Withdrawn, "Withdrawn"),
}
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
# The EU vocabularies' terms the catalogue uses, each with the label a portal shows (and the shapes ask of a
# skos:Concept), so that a harvester needs to fetch none of them.
THEME_SCHEME = URIRef(EU_AUTHORITY + "data-theme")
PUBLIC_ACCESS = URIRef(EU_AUTHORITY + "access-right/PUBLIC")
STABLE = URIRef(EU_AUTHORITY + "planned-availability/STABLE")
DAILY = URIRef(EU_AUTHORITY + "frequency/DAILY")  # the series: a nightly run may publish a release
NEVER = URIRef(EU_AUTHORITY + "frequency/NEVER")  # a release: its files never change
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
USER_ASSIGNED = {"XK": "XKX"}  # Kosovo: not in ISO 3166-1, in the EU country authority as XKX


def catalog_turtle(model: dict[str, Any], profile: str = "3.0.1") -> str:
    """catalog.ttl: the DCAT-AP 3 description of the catalogue model (the same model gives the same text).

    ``profile="2.1.1"``: the same in the form DCAT-AP 2.1.1 wants (catalog-dcat-ap-2.ttl), where the two
    disagree: 2.1.1 types dcat:byteSize xsd:decimal where 3.0.1 wants xsd:nonNegativeInteger, and it accepts
    only SHA-1 checksums, so the SHA-256 ones (SHA256SUMS has them) are left out."""
    base = _base_url(model)
    graph = _new_graph()
    catalog = URIRef(base + "#catalog")
    series = URIRef(base + "#series")
    agents = _agents(graph, model, base)
    licence = _licence(graph, model["licence"], base)

    _describe_catalog(graph, catalog, model, base, agents, licence)
    _describe_series(graph, series, {**model, "profile": profile}, agents, licence)
    graph.add((catalog, DCAT.dataset, series))
    datasets = {}
    for release in model["releases"]:
        dataset = _describe_release(graph, release, {**model, "profile": profile}, series, agents, licence)
        graph.add((catalog, DCAT.dataset, dataset))
        datasets[release["version"]] = dataset
    _link_members(graph, series, model, datasets)
    return graph.serialize(format="turtle")


def _link_members(graph: Graph, series: URIRef, model: dict[str, Any], datasets: dict[str, URIRef]) -> None:
    """The series' first and last member (the current release: after a withdrawal, the one latest moved back
    to) and each release's previous one, so that a harvester follows the series as data users do."""
    releases = model["releases"]  # newest first
    if releases:
        graph.add((series, DCAT.first, datasets[releases[-1]["version"]]))
    if model.get("latest") in datasets:
        graph.add((series, DCAT.last, datasets[model["latest"]]))
    for release in releases:
        previous = release.get("previous_version")
        if previous in datasets:
            graph.add((datasets[release["version"]], DCAT.prev, datasets[previous]))


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
        ("dcatap", DCATAP),
        ("gsp", GEOSPARQL),
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
    if described.get("type") in PUBLISHER_TYPES:
        kind = URIRef(PUBLISHER_TYPE + described["type"])
        graph.add((publisher, DCTERMS.type, kind))
        graph.add((kind, RDF.type, SKOS.Concept))
        graph.add((kind, SKOS.prefLabel, Literal(PUBLISHER_TYPES[described["type"]], lang="en")))
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


def _describe_catalog(
    graph: Graph, catalog: URIRef, model: dict[str, Any], base: str, agents: Agents, licence: URIRef
) -> None:
    """The published/ folder as a catalogue: its homepage is the index page under the base URL."""
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, _text(f"Catalogue: {model['title']}")))
    graph.add((catalog, DCTERMS.description, _text(model["description"] or model["title"])))
    graph.add((catalog, FOAF.homepage, _page(graph, base)))
    _add_agents(graph, catalog, agents)
    _add_dates(graph, catalog, model)
    _add_languages(graph, catalog, model)
    if model.get("themes"):
        graph.add((catalog, DCAT.themeTaxonomy, THEME_SCHEME))
        graph.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
        graph.add((THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en")))
    graph.add((catalog, DCTERMS.license, licence))
    _add_coverage(graph, catalog, overall_coverage(model), temporal=False)


def _describe_series(graph: Graph, series: URIRef, model: dict[str, Any], agents: Agents, licence: URIRef) -> None:
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
    _add_context(graph, series, model, DAILY)
    _add_coverage(graph, series, overall_coverage(model))
    for resource in model.get("latest_resources", []):  # the stable URLs of the current release's files
        for file in resource["files"]:
            latest = {"page_url": str(series).removesuffix("#series"), "status": "current", "created": model["updated"]}
            distribution = _describe_file(graph, latest, resource, {**file, "id": f"latest-{resource['name']}"},
                                          model, licence)  # fmt: skip
            if distribution is not None:
                graph.add((series, DCAT.distribution, distribution))


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
    if release["status"] in RELEASE_STATUS:
        status, label = RELEASE_STATUS[release["status"]]
        graph.add((dataset, ADMS.status, status))
        graph.add((status, RDF.type, SKOS.Concept))
        graph.add((status, SKOS.prefLabel, Literal(label, lang="en")))
    graph.add((dataset, DCAT.landingPage, _page(graph, release["page_url"])))
    graph.add((dataset, DCTERMS.license, licence))
    if release.get("created"):
        graph.add((dataset, DCTERMS.issued, _datetime(release["created"])))
        graph.add((dataset, DCTERMS.modified, _datetime(release["created"])))
    for keyword in model.get("keywords", []):
        graph.add((dataset, DCAT.keyword, _text(keyword)))
    _add_agents(graph, dataset, agents)
    _add_context(graph, dataset, model, NEVER)
    _add_coverage(graph, dataset, release.get("coverage"))
    distributions = [
        distribution
        for resource in release["resources"]
        for file in resource["files"]
        if (distribution := _describe_file(graph, release, resource, file, model, licence)) is not None
    ]
    if not distributions:  # purged: what is left is the tombstone page, which says what happened
        distributions.append(_tombstone(graph, release, model, licence))
    for distribution in distributions:
        graph.add((dataset, DCAT.distribution, distribution))
    return dataset


def _tombstone(graph: Graph, release: dict[str, Any], model: dict[str, Any], licence: URIRef) -> URIRef:
    """A purged release's one distribution: its page, which says that and why its files were deleted."""
    distribution = URIRef(release["page_url"] + "#tombstone")
    graph.add((distribution, RDF.type, DCAT.Distribution))
    graph.add((distribution, DCTERMS.title, _text(f"Release {release['version']}: its data files were deleted")))
    graph.add((distribution, DCAT.accessURL, _page(graph, release["page_url"])))
    graph.add((distribution, DCAT.mediaType, _media_type(graph, "text/html")))
    graph.add((distribution, DCTERMS.format, URIRef(EU_AUTHORITY + "file-type/HTML")))
    graph.add((URIRef(EU_AUTHORITY + "file-type/HTML"), RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((distribution, DCTERMS.license, licence))
    graph.add((distribution, ADMS.status, _status(graph, "withdrawn")))
    graph.add((distribution, DCTERMS.description, _text(
        "The page of a release that was withdrawn and whose data files were deleted (a purge): it says when and "
        "why, and keeps the checksums of the files that were there.")))  # fmt: skip
    _add_rights(graph, distribution, model)
    _add_availability(graph, distribution)
    return distribution


def _add_context(graph: Graph, node: URIRef, model: dict[str, Any], frequency: URIRef) -> None:
    """What a portal filters and scores a dataset by: its themes, languages, access rights and update frequency."""
    for code in model.get("themes", []):
        theme = URIRef(f"{THEME_SCHEME}/{code}")
        graph.add((node, DCAT.theme, theme))
        graph.add((theme, RDF.type, SKOS.Concept))
        graph.add((theme, SKOS.inScheme, THEME_SCHEME))
        graph.add((theme, SKOS.prefLabel, Literal(DATA_THEMES[code], lang="en")))
    _add_languages(graph, node, model)
    graph.add((node, DCTERMS.accessRights, PUBLIC_ACCESS))
    graph.add((PUBLIC_ACCESS, RDF.type, DCTERMS.RightsStatement))
    graph.add((PUBLIC_ACCESS, RDFS.label, Literal("Public", lang="en")))
    graph.add((node, DCTERMS.accrualPeriodicity, frequency))
    graph.add((frequency, RDF.type, DCTERMS.Frequency))


def overall_coverage(model: dict[str, Any]) -> dict[str, Any] | None:
    """What the releases the catalogue offers cover together (withdrawn ones left out): every country, the
    earliest and the latest date."""
    covered = [
        r["coverage"] for r in model["releases"] if r.get("coverage") and r["status"] not in ("withdrawn", "purged")
    ]  # a withdrawn one may be wrong
    if not covered:
        return None
    starts = [c["start"] for c in covered if c.get("start")]
    ends = [c["end"] for c in covered if c.get("end")]
    return {"countries": sorted({code for c in covered for code in c.get("countries", [])}),
            "start": min(starts) if starts else None, "end": max(ends) if ends else None}  # fmt: skip


def _add_coverage(graph: Graph, node: URIRef, coverage: dict[str, Any] | None, temporal: bool = True) -> None:
    """dct:spatial: the EU country authority's term for each country the rows name; dct:temporal: a
    dct:PeriodOfTime from the earliest to the latest date in them."""
    import pycountry

    if not coverage:
        return
    for code in coverage.get("countries", []):
        country = pycountry.countries.get(alpha_2=code)
        alpha_3 = country.alpha_3 if country is not None else USER_ASSIGNED.get(code)
        if alpha_3 is None:  # a code the EU country authority has no term for
            continue
        term = URIRef(f"{EU_AUTHORITY}country/{alpha_3}")
        graph.add((node, DCTERMS.spatial, term))
        graph.add((term, RDF.type, DCTERMS.Location))
        box = country_box(code)
        if box is not None:  # what a portal's map search reads
            graph.add((term, DCAT.bbox, Literal(box_wkt(box), datatype=GEOSPARQL.wktLiteral)))
            graph.add((term, DCAT.centroid, Literal(centre_wkt(box), datatype=GEOSPARQL.wktLiteral)))
    if temporal and (coverage.get("start") or coverage.get("end")):
        period = URIRef(f"{node}-period") if "#" in str(node) else BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        for key, predicate in (("start", DCAT.startDate), ("end", DCAT.endDate)):
            if coverage.get(key):
                graph.add((period, predicate, Literal(xml_text(coverage[key]), datatype=XSD.date, normalize=False)))


def _add_languages(graph: Graph, node: URIRef, model: dict[str, Any]) -> None:
    """The EU language authority's terms for the ISO 639-1 codes of package.json's languages."""
    import pycountry

    for code in model.get("languages", []):
        language = pycountry.languages.get(alpha_2=code)
        if language is None:
            continue
        term = URIRef(f"{EU_AUTHORITY}language/{language.alpha_3.upper()}")
        graph.add((node, DCTERMS.language, term))
        graph.add((term, RDF.type, DCTERMS.LinguisticSystem))


def _add_rights(graph: Graph, distribution: URIRef, model: dict[str, Any]) -> None:
    """dct:rights: in words, under which licence the data may be reused, and where they come from."""
    rights = URIRef(_base_url(model) + "#rights")
    licence = model.get("licence") or {}
    name = licence.get("title") or licence.get("name") or "the licence given with the data"
    where = f" ({licence['path']})" if safe_link(licence.get("path")) else ""
    graph.add((distribution, DCTERMS.rights, rights))
    graph.add((rights, RDF.type, DCTERMS.RightsStatement))
    graph.add((rights, RDFS.label, _text(
        f"Reuse is governed by {name}{where}. The data are compiled from what the partner organisations named "
        "in each release's sources reported.")))  # fmt: skip


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
    distribution = URIRef(f"{release['page_url']}#{file.get('id', resource['name'])}-{fmt}")
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
    dcat_ap_2 = model.get("profile") == "2.1.1"
    if file.get("bytes") is not None:
        size = XSD.decimal if dcat_ap_2 else XSD.nonNegativeInteger
        graph.add((distribution, DCAT.byteSize, Literal(str(int(file["bytes"])), datatype=size, normalize=False)))
    if file.get("sha256") and not dcat_ap_2:
        graph.add((distribution, SPDX.checksum, _checksum(graph, file["sha256"])))
    _add_rights(graph, distribution, model)
    _add_availability(graph, distribution)
    return distribution


def _add_availability(graph: Graph, distribution: URIRef) -> None:
    """dcatap:availability: the files of a release never change."""
    graph.add((distribution, DCATAP.availability, STABLE))
    graph.add((STABLE, RDF.type, SKOS.Concept))
    graph.add((STABLE, SKOS.prefLabel, Literal("Stable", lang="en")))


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
