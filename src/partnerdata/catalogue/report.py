"""The text ``partnerdata catalogue score`` prints: points per dimension and indicator, the rating, what
the official shapes find, and what to fix first."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from partnerdata.catalogue.score import INDICATORS, MOST, PROBE_MOST, Score, catalogue_urls, probe, score, shape_results
from partnerdata.errors import ExitStatus, UsageError

SHAPES_3 = ("html__shacl__shapes.ttl", "html__shacl__range.ttl", "html__shacl__shapes_recommended.ttl")
SHAPES_2 = (
    "dcat-ap_2.1.1_shacl_shapes.ttl",
    "dcat-ap_2.1.1_shacl_range.ttl",
    "dcat-ap_2.1.1_shacl_shapes_recommended.ttl",
)
LABELS = Path("dcat-ap-3.0.1", "vocabulary-labels.ttl")


def score_report(published: Path, with_probe: bool, shapes: Path | None) -> tuple[str, int]:
    """The report, and the exit status: 0 (the score is the score; a low one is not an error)."""
    ttl = published / "catalog.ttl"
    if not ttl.is_file():
        raise UsageError(
            f"{ttl}: no catalogue to score (catalog.ttl is written once settings.base_url is set and a run publishes)"
        )
    text = ttl.read_text(encoding="utf-8")
    graph = Graph().parse(data=text, format="turtle")
    lines: list[str] = []
    answers = None
    if with_probe:
        urls = catalogue_urls(graph)
        answers = probe(urls)
        if len(urls) > len(answers):
            lines.append(
                f"probe: {len(urls) - len(answers)} URLs not asked (not http(s), or past the {PROBE_MOST:,} a probe asks)"
            )
        failing = {
            url: status for url, status in answers.items() if not (isinstance(status, int) and 200 <= status < 400)
        }
        lines.append(f"probe: {len(answers)} URLs asked, {len(answers) - len(failing)} answered 200-399")
        lines += [f"  {status}: {url}" for url, status in sorted(failing.items())[:20]]
    violations, checked = _shapes(text, published, shapes, lines)
    result = score(graph, answers, violations if checked else None)
    lines[:0] = [f"{ttl}: {len(result.datasets)} datasets (each release and the series), scored as data.europa.eu's "
                 "Metadata Quality Assessment scores them (the catalogue: their mean)"]  # fmt: skip
    lines += _table(result)
    lines.append(f"total {result.total:.1f} of {MOST}: {result.rating}")
    fixes = result.fix_first()
    if fixes:
        lines.append("fix first:")
        lines += [f"  {missing:5.1f} points  {i.dimension}: {i.name}: {i.fix}" for missing, i in fixes]
    return "\n".join(lines), ExitStatus.OK


def _shapes(text: str, published: Path, shapes: Path | None, lines: list[str]) -> tuple[set[str], bool]:
    """The focus nodes of the 3.0.1 violations (and whether the shapes were there); the 2.1.1 file checked too."""
    if shapes is None or not (shapes / "dcat-ap-3.0.1").is_dir():
        lines.append("DCAT-AP shapes: not given (--shapes DIR or PARTNERDATA_REFERENCE), so compliance is not known")
        return set(), False
    focus, violations, warnings = shape_results(text, [shapes / "dcat-ap-3.0.1" / n for n in SHAPES_3], shapes / LABELS)
    lines.append(
        f"DCAT-AP 3.0.1 shapes, with the recommended ones (catalog.ttl): {violations} violations, {warnings} warnings"
    )
    second = published / "catalog-dcat-ap-2.ttl"
    if (shapes / "dcat-ap-2.1.1").is_dir() and second.is_file():
        _, violations_2, warnings_2 = shape_results(
            second.read_text(encoding="utf-8"), [shapes / "dcat-ap-2.1.1" / n for n in SHAPES_2], shapes / LABELS
        )
        lines.append(f"DCAT-AP 2.1.1 shapes, with the recommended ones (catalog-dcat-ap-2.ttl): {violations_2} "
                     f"violations, {warnings_2} warnings")  # fmt: skip
        if violations_2:  # the portal converts to 2.1.1 and checks that: compliance needs both
            focus = focus | {"(the DCAT-AP 2.1.1 form)"}
    return focus, True


def _table(result: Score) -> list[str]:
    lines = []
    for dimension in dict.fromkeys(i.dimension for i in INDICATORS):
        indicators = [i for i in INDICATORS if i.dimension == dimension]
        earned = sum(result.earned[i.name] for i in indicators)
        lines.append(f"  {dimension:<44} {earned:6.1f} of {sum(i.points for i in indicators)}")
        for indicator in indicators:
            unknown = "  (not known: see below)" if indicator.name in result.unknown else ""
            lines.append(
                f"    {indicator.name:<42} {result.earned[indicator.name]:6.1f} of {indicator.points}{unknown}"
            )
    return lines
