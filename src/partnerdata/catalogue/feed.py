"""published/feed.xml: an Atom feed (RFC 4287) with one entry per release and its change summary.

Every text and attribute goes through xml_text: a withdrawal reason with a form feed in it lives
in withdrawn.json, so it would otherwise break every feed written after it. Absolute links are
made only from a base URL that safe_link accepts (else the feed uses urn: ids and relative links).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from partnerdata.catalogue.model import file_url
from partnerdata.util.safe_text import safe_link, xml_text

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(model: dict[str, Any]) -> str:
    """Newest release first; a withdrawn release's entry says so and why."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    base = safe_link(model["base_url"])
    _text(feed, "id", file_url(base, "feed.xml") if base else "urn:partnerdata:feed")
    _text(feed, "title", model["title"])
    _text(feed, "subtitle", "Every release of the dataset, with what changed")
    newest = (
        max((r.get("withdrawn", {}) or {}).get("withdrawn_at") or r["created"] or "" for r in model["releases"])
        if model["releases"]
        else ""
    )
    _text(feed, "updated", newest or "1970-01-01T00:00:00Z")
    _link(feed, "self", file_url(base, "feed.xml"))
    _link(feed, "alternate", file_url(base, "index.html"), "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", model["publisher"].get("name") or model["title"])
    if safe_link(model["publisher"].get("url")):
        _text(author, "uri", model["publisher"]["url"])
    if model["licence"].get("title") or model["licence"].get("name"):
        _text(feed, "rights", model["licence"].get("title") or model["licence"]["name"])
    for release in model["releases"]:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", release["page_url"] if base else f"urn:partnerdata:release:{release['version']}")
        title = f"Release {release['version']}"
        withdrawn = release.get("withdrawn")
        if withdrawn:
            title += " (withdrawn)"
        _text(entry, "title", title)
        _text(entry, "published", release["created"] or "1970-01-01T00:00:00Z")
        _text(entry, "updated", (withdrawn or {}).get("withdrawn_at") or release["created"] or "1970-01-01T00:00:00Z")
        _link(entry, "alternate", file_url(base, release["page"]), "text/html")
        lines = []
        if withdrawn:
            lines.append(f"Withdrawn on {withdrawn.get('withdrawn_at')}: {withdrawn.get('reason')}")
        bump = release["bump"]
        if bump == "initial":
            lines.append("The first release.")
        elif bump:  # a release older than changes.json records none
            lines.append(f"A {bump} change since {release['previous_version']}.")
        lines += release["reasons"][:20]
        _text(entry, "summary", "\n".join(lines))
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = xml_text(str(text))
    return element


def _link(parent: ET.Element, rel: str, href: str, kind: str | None = None) -> ET.Element:
    attributes = {"rel": rel, **({"type": kind} if kind else {}), "href": xml_text(href)}
    return ET.SubElement(parent, f"{{{ATOM}}}link", attributes)
