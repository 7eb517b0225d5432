"""A release's datapackage.json (the Frictionless Data Package descriptor), and the digest of what a
data user would call its content.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from partnerdata.config.schemas import Schemas

DESCRIPTIVE_PACKAGE_KEYS = (
    "title", "description", "licenses", "contributors", "contact_point", "keywords", "themes", "languages", "homepage",
)  # fmt: skip


def digest_of_content(resources: dict[str, dict[str, Any]], schemas: Schemas, metadata: dict[str, Any]) -> str:
    """What a data user would call a change: the published rows, the schemas, the metadata."""
    basis = {
        "csv": {n: r["csv"]["sha256"] for n, r in resources.items()},
        "schemas": schemas.digest(),
        "metadata": metadata,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def datapackage(
    schemas: Schemas,
    version: str,
    created: str,
    resources: dict[str, dict[str, Any]],
    sources: list[dict[str, Any]],
    provenance: dict[str, Any],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    package = {key: value for key, value in schemas.package.items() if key != "resources"}
    descriptions = schemas.package.get("resources", {})
    package.update(metadata)
    package.update(profile="tabular-data-package", version=version, created=created, sources=sources)
    package["resources"] = [
        {
            "name": name,
            "path": described["csv"]["path"],
            "profile": "tabular-data-resource",
            "title": descriptions.get(name, {}).get("title", name),
            "description": descriptions.get(name, {}).get("description", ""),
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "bytes": described["csv"]["bytes"],
            "hash": f"sha256:{described['csv']['sha256']}",
            "rows": described["rows"],
            "schema": schemas.published_descriptor(name),
            "parquet": {
                "path": described["parquet"]["path"],
                "mediatype": "application/vnd.apache.parquet",
                "bytes": described["parquet"]["bytes"],
                "hash": f"sha256:{described['parquet']['sha256']}",
            },
        }
        for name, described in resources.items()
    ]
    package["provenance"] = provenance
    return package
