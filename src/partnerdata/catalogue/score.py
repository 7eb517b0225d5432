"""``partnerdata catalogue score``: the catalogue scored as data.europa.eu's Metadata Quality Assessment scores it.

The MQA (https://data.europa.eu/mqa/methodology) gives each harvested dataset up to 405 points in five
dimensions; a catalogue's score is the mean of its datasets'. Dataset properties earn an indicator's points
when present; distribution properties earn them in proportion to the share of the dataset's distributions
that have them. Ratings: Excellent from 351, Good from 221, Sufficient from 121, else Bad.

What it cannot know by itself, it says: whether the URLs answer (``--probe`` asks each, bounded), and
whether the catalogue is DCAT-AP compliant (the official shapes, when given). The EU portal's own lists of
machine-readable and non-proprietary formats are not on this machine: the ones below are the EU file types
partnerdata writes (CSV, Parquet) and their usual neighbours, and say so.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from partnerdata.catalogue.dcat import DCAT, EU_AUTHORITY, EU_LICENCE, IANA_MEDIA_TYPES

FILE_TYPE = EU_AUTHORITY + "file-type/"
ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
MACHINE_READABLE = {f"{FILE_TYPE}{code}" for code in ("CSV", "PARQUET", "JSON", "XML", "RDF_TURTLE", "RDF_XML",
                                                      "JSON_LD", "GEOJSON", "XLSX", "ODS", "TSV")}  # fmt: skip
NON_PROPRIETARY = {f"{FILE_TYPE}{code}" for code in ("CSV", "PARQUET", "JSON", "XML", "RDF_TURTLE", "RDF_XML",
                                                     "JSON_LD", "GEOJSON", "ODS", "TSV", "HTML", "TXT")}  # fmt: skip
RATINGS = ((351, "Excellent"), (221, "Good"), (121, "Sufficient"), (0, "Bad"))
PROBE_TIMEOUT = 10.0  # seconds per request
PROBE_MOST = 2000  # URLs a probe asks
PROBE_THREADS = 8
PROBE_DEADLINE = 300.0  # seconds for the whole probe


@dataclass
class Context:
    """What the indicators read: the catalogue's graph, the probe's answers (None: not probed), the shapes'
    violations by focus node (None: not checked)."""

    graph: Graph
    answers: dict[str, int | str] | None = None
    violations: set[str] | None = None


Check = Callable[[Context, URIRef, list[URIRef]], float | None]  # share earned in 0..1; None: cannot tell


@dataclass(frozen=True)
class Indicator:
    dimension: str
    name: str
    points: int
    check: Check
    fix: str  # what earns the points


def _has(predicate: URIRef) -> Check:
    return lambda c, dataset, _: 1.0 if (dataset, predicate, None) in c.graph else 0.0


def _share(test: Callable[[Context, URIRef], bool | float]) -> Check:
    """The share of the dataset's distributions that pass ``test`` (a test may give half: 0.5)."""

    def share(c: Context, _: URIRef, distributions: list[URIRef]) -> float:
        return sum(float(test(c, d)) for d in distributions) / len(distributions) if distributions else 0.0

    return share


def _values(c: Context, node: URIRef, predicate: URIRef) -> list[str]:
    return [str(v) for v in c.graph.objects(node, predicate)]


def _answers(predicate: URIRef) -> Check:
    """The share of distributions whose URLs (of ``predicate``) all answer 200-399; None when not probed."""

    def answered(c: Context, _: URIRef, distributions: list[URIRef]) -> float | None:
        if c.answers is None:
            return None
        if not distributions:
            return 0.0
        ok = 0
        for distribution in distributions:
            urls = _values(c, distribution, predicate)
            ok += bool(urls) and all(isinstance(c.answers.get(u), int) and 200 <= int(c.answers[u]) < 400 for u in urls)
        return ok / len(distributions)

    return answered


def _vocabulary(c: Context, distribution: URIRef) -> float:
    formats = _values(c, distribution, DCTERMS.format)
    types = _values(c, distribution, DCAT.mediaType)
    return (bool(formats) and all(f.startswith(FILE_TYPE) for f in formats)) / 2 + (
        bool(types) and all(t.startswith(IANA_MEDIA_TYPES) for t in types)
    ) / 2


def _compliant(c: Context, dataset: URIRef, distributions: list[URIRef]) -> float | None:
    if c.violations is None:
        return None
    return 0.0 if {str(dataset), *map(str, distributions)} & c.violations else 1.0


def _issued(c: Context, dataset: URIRef, distributions: list[URIRef]) -> float:
    nodes = [dataset, *distributions]
    return sum(1 for n in nodes if (n, DCTERMS.issued, None) in c.graph) / len(nodes)


def _modified(c: Context, dataset: URIRef, distributions: list[URIRef]) -> float:
    return 1.0 if any((n, DCTERMS.modified, None) in c.graph for n in [dataset, *distributions]) else 0.0


INDICATORS = [
    Indicator("Findability", "keywords", 30, _has(DCAT.keyword), "dcat:keyword: package.json's keywords"),
    Indicator("Findability", "categories", 30, _has(DCAT.theme), "dcat:theme: package.json's themes"),
    Indicator("Findability", "geo search", 20, _has(DCTERMS.spatial), "dct:spatial: rows with a country"),
    Indicator("Findability", "time-based search", 20, _has(DCTERMS.temporal), "dct:temporal: rows with dates"),
    Indicator(
        "Accessibility",
        "access URL answers",
        50,
        _answers(DCAT.accessURL),
        "every dcat:accessURL answers 200 (run with --probe to know)",
    ),
    Indicator(
        "Accessibility",
        "download URL",
        20,
        _share(lambda c, d: (d, DCAT.downloadURL, None) in c.graph),
        "a dcat:downloadURL on every distribution",
    ),
    Indicator(
        "Accessibility",
        "download URL answers",
        30,
        _answers(DCAT.downloadURL),
        "every dcat:downloadURL answers 200 (run with --probe to know)",
    ),
    Indicator(
        "Interoperability",
        "format",
        20,
        _share(lambda c, d: (d, DCTERMS.format, None) in c.graph),
        "dct:format on every distribution",
    ),
    Indicator(
        "Interoperability",
        "media type",
        10,
        _share(lambda c, d: (d, DCAT.mediaType, None) in c.graph),
        "dcat:mediaType on every distribution",
    ),
    Indicator(
        "Interoperability",
        "format and media type from a vocabulary",
        10,
        _share(_vocabulary),
        "EU file types and IANA media types",
    ),
    Indicator(
        "Interoperability",
        "non-proprietary format",
        20,
        _share(lambda c, d: any(f in NON_PROPRIETARY for f in _values(c, d, DCTERMS.format))),
        "open formats (CSV, Parquet)",
    ),
    Indicator(
        "Interoperability",
        "machine-readable format",
        20,
        _share(lambda c, d: any(f in MACHINE_READABLE for f in _values(c, d, DCTERMS.format))),
        "machine-readable formats (CSV, Parquet), not a page",
    ),
    Indicator(
        "Interoperability",
        "DCAT-AP compliance",
        30,
        _compliant,
        "no violation of the DCAT-AP 3.0.1 shapes (give --shapes to know)",
    ),
    Indicator(
        "Reusability",
        "licence",
        20,
        _share(lambda c, d: (d, DCTERMS.license, None) in c.graph),
        "dct:license on every distribution",
    ),
    Indicator(
        "Reusability",
        "licence from the vocabulary",
        10,
        _share(lambda c, d: any(v.startswith(EU_LICENCE) for v in _values(c, d, DCTERMS.license))),
        "a licence of the EU licence vocabulary (settings.licence: CC-BY-4.0 ...)",
    ),
    Indicator("Reusability", "access restrictions", 10, _has(DCTERMS.accessRights), "dct:accessRights"),
    Indicator(
        "Reusability",
        "access restrictions from the vocabulary",
        5,
        lambda c, ds, _: 1.0 if any(v.startswith(ACCESS_RIGHT) for v in _values(c, ds, DCTERMS.accessRights)) else 0.0,
        "an EU access-right term",
    ),  # fmt: skip
    Indicator("Reusability", "contact point", 20, _has(DCAT.contactPoint), "settings.contact_point"),
    Indicator("Reusability", "publisher", 10, _has(DCTERMS.publisher), "settings.publisher"),
    Indicator(
        "Contextuality",
        "rights",
        5,
        _share(lambda c, d: (d, DCTERMS.rights, None) in c.graph),
        "dct:rights on every distribution",
    ),
    Indicator(
        "Contextuality",
        "file size",
        5,
        _share(lambda c, d: (d, DCAT.byteSize, None) in c.graph),
        "dcat:byteSize on every distribution",
    ),
    Indicator("Contextuality", "date of issue", 5, _issued, "dct:issued on the dataset and its distributions"),
    Indicator("Contextuality", "modification date", 5, _modified, "dct:modified"),
]
MOST = sum(i.points for i in INDICATORS)  # 405


@dataclass
class Score:
    """The catalogue's mean score per indicator, and its datasets'."""

    datasets: dict[str, float]  # dataset URI -> its points
    earned: dict[str, float]  # indicator -> mean points
    unknown: list[str] = field(default_factory=list)  # indicators that could not be told (not probed, no shapes)

    @property
    def total(self) -> float:
        return sum(self.earned.values())

    @property
    def rating(self) -> str:
        return next(label for floor, label in RATINGS if self.total >= floor)

    def fix_first(self) -> list[tuple[float, Indicator]]:
        """The indicators short of their points, the most missing first."""
        missing = [(i.points - self.earned[i.name], i) for i in INDICATORS if self.earned[i.name] < i.points - 0.005]
        return sorted(missing, key=lambda m: -m[0])


def score(graph: Graph, answers: dict[str, int | str] | None, violations: set[str] | None) -> Score:
    datasets = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str)
    if violations:  # a violation on a node that is no dataset or distribution (a checksum, an agent) counts for all
        described = {str(d) for d in datasets} | {str(o) for o in graph.objects(None, DCAT.distribution)}
        if violations - described:
            violations = violations | {str(d) for d in datasets}
    context = Context(graph, answers, violations)
    per_dataset: dict[str, float] = {}
    earned = {i.name: 0.0 for i in INDICATORS}
    unknown: set[str] = set()
    for dataset in datasets:
        assert isinstance(dataset, URIRef)
        distributions = sorted((d for d in graph.objects(dataset, DCAT.distribution) if isinstance(d, URIRef)), key=str)
        total = 0.0
        for indicator in INDICATORS:
            share = indicator.check(context, dataset, distributions)
            if share is None:
                unknown.add(indicator.name)
                share = 0.0
            points = indicator.points * share
            earned[indicator.name] += points / len(datasets)
            total += points
        per_dataset[str(dataset)] = total
    return Score(per_dataset, earned, sorted(unknown))


def catalogue_urls(graph: Graph) -> list[str]:
    """Every access and download URL of the catalogue, once."""
    found = {str(o) for p in (DCAT.accessURL, DCAT.downloadURL) for o in graph.objects(None, p)}
    return sorted(found)


def probe(
    urls: Iterable[str], timeout: float = PROBE_TIMEOUT, deadline: float = PROBE_DEADLINE
) -> dict[str, int | str]:
    """The HTTP status of each http(s) URL (HEAD, or GET when HEAD is not allowed, reading no body), or why
    there is none: at most PROBE_MOST URLs, PROBE_THREADS at a time, ``timeout`` per connection and read,
    ``deadline`` in all (a URL not answered by then says so), 5 redirects."""
    chosen = [u for u in urls if u.startswith(("http://", "https://"))][:PROBE_MOST]

    def ask(url: str) -> int | str:
        try:
            with requests.Session() as session:
                session.max_redirects = 5
                response = session.head(url, timeout=timeout, allow_redirects=True)
                if response.status_code in (405, 501):
                    response = session.get(url, timeout=timeout, allow_redirects=True, stream=True)
                    response.close()
                return response.status_code
        except requests.RequestException as error:
            return type(error).__name__

    pool = concurrent.futures.ThreadPoolExecutor(PROBE_THREADS)
    futures = {pool.submit(ask, url): url for url in chosen}
    done, _ = concurrent.futures.wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    return {
        url: (future.result() if future in done else "no answer within the probe's time")
        for future, url in futures.items()
    }


def shape_results(text: str, shapes: list[Path], labels: Path | None) -> tuple[set[str], int, int]:
    """pyshacl with the given shape files on the catalogue: the focus nodes of violations, and the counts of
    violations and warnings."""
    from pyshacl import validate
    from rdflib import Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    shape_graph = Graph()
    for path in shapes:
        shape_graph.parse(path)
    data = Graph().parse(data=text, format="turtle")
    if labels is not None and labels.is_file():
        data.parse(labels)
    _, results, _ = validate(data, shacl_graph=shape_graph, inference="none")
    focus: set[str] = set()
    violations = warnings = 0
    for result in results.subjects(RDF.type, sh.ValidationResult):
        severity = results.value(result, sh.resultSeverity)
        if severity == sh.Violation:
            violations += 1
            focus.add(str(results.value(result, sh.focusNode)))
        elif severity == sh.Warning:
            warnings += 1
    return focus, violations, warnings
