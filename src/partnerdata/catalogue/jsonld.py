"""The landing page's schema.org Dataset, as JSON-LD, so that search engines' dataset search can index it.

What it says comes from the catalogue model (as catalog.ttl does): name, description, keywords, licence,
creator and publisher, version, the current release's files as DataDownloads (contentUrl under the base URL,
or relative without one, encodingFormat, contentSize), temporalCoverage and spatialCoverage from the
release's rows. It is data, not a script: the text is escaped so that nothing in it ends the element.
"""

from __future__ import annotations

import json
from typing import Any

import pycountry

from partnerdata.catalogue.model import file_url
from partnerdata.util.safe_text import safe_link, xml_text


def dataset_jsonld(model: dict[str, Any]) -> str | None:
    """The <script type="application/ld+json"> element for published/index.html, or None without a release."""
    latest = next((r for r in model["releases"] if r["version"] == model.get("latest")), None)
    if latest is None:
        return None
    base = model.get("base_url")
    document: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": xml_text(model["title"]),
        "description": xml_text(model["description"] or model["title"]),
        "keywords": [xml_text(k) for k in model.get("keywords", [])],
        "version": latest["version"],
        "isAccessibleForFree": True,
        "distribution": [
            {
                "@type": "DataDownload",
                "name": xml_text(f"{resource['title']} ({file['format']})"),
                "contentUrl": file["url"],
                "encodingFormat": file["mediatype"],
                **({"contentSize": f"{file['bytes']} B"} if file.get("bytes") is not None else {}),
            }
            for resource in model.get("latest_resources", [])
            for file in resource["files"]
        ],
    }
    if base:
        document["url"] = file_url(base, "")
    if latest.get("created"):
        document["dateModified"] = latest["created"]
    licence = model.get("licence") or {}
    if safe_link(licence.get("path")):
        document["license"] = licence["path"]
    publisher = model.get("publisher") or {}
    if publisher.get("name"):
        organisation = {"@type": "Organization", "name": xml_text(publisher["name"])}
        if safe_link(publisher.get("url")):
            organisation["url"] = publisher["url"]
        document["creator"] = document["publisher"] = organisation
    document.update(_coverage(latest.get("coverage")))
    text = json.dumps(document, ensure_ascii=False, indent=1)
    # Inside <script>, "</" could end the element and "<!--" open a comment: neither survives as written.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _coverage(coverage: dict[str, Any] | None) -> dict[str, Any]:
    if not coverage:
        return {}
    found: dict[str, Any] = {}
    if coverage.get("start") and coverage.get("end"):
        found["temporalCoverage"] = f"{coverage['start']}/{coverage['end']}"
    places = []
    for code in coverage.get("countries", []):
        country = pycountry.countries.get(alpha_2=code)
        if country is not None:
            places.append({"@type": "Country", "name": country.name, "identifier": code})
    if places:
        found["spatialCoverage"] = places
    return found
