"""The catalogue's model: what published/ holds, read from the releases on disk.

Everything the pages, the feed and the DCAT description show comes from here, and the
model itself is published as catalog.json. It is built from published/ alone (each
release's datapackage.json and changes.json, withdrawn.json, latest.json) and the public
base URL, so any tool can rebuild the catalogue, and a crash never leaves it behind for long.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, cast
from urllib.parse import urljoin

from partnerdata.config import layout
from partnerdata.release.store import (
    CHANGES_JSON,
    TOMBSTONE_JSON,
    WITHDRAWN_JSON,
    current_release,
    existing_versions,
    read_package,
    release_coverage,
)
from partnerdata.util import safe_text

MODEL_VERSION = 1
COVERAGE_FORMAT = 2  # how release coverage is read (release.store.coverage_of); a change reads it again
RELEASE_DOCUMENTS = ("SHA256SUMS", "datapackage.json", "CHANGES.md", "changes.json", "validation.json", TOMBSTONE_JSON)
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def build_model(published_dir: Path, base_url: str | None) -> dict[str, Any]:
    """catalog.json: the dataset, every release (newest first) with its files, and latest's stable files."""
    published_dir = Path(published_dir)
    withdrawn = _withdrawn(published_dir)
    current = current_release(published_dir)
    latest = current["version"] if current else None
    releases = []
    known = _known_coverage(published_dir)
    for number in reversed(existing_versions(published_dir)):
        version = ".".join(map(str, number))
        release = _release(published_dir, version, withdrawn.get(version), latest, base_url)
        if release is not None:
            release["coverage"] = known[version] if version in known else release_coverage(published_dir, version)
            releases.append(release)
    # The dataset is described as its current release describes it (or its newest, when none is current).
    described = next((r for r in releases if r["version"] == latest), releases[0] if releases else None)
    package = _package(published_dir, described["version"]) if described else {}
    is_latest = described is not None and described["version"] == latest
    model: dict[str, Any] = {
        "catalogue_format": MODEL_VERSION,
        "coverage_format": COVERAGE_FORMAT,
        "title": package.get("title", "partnerdata"),
        "description": package.get("description", ""),
        "keywords": package.get("keywords", []),
        "themes": package.get("themes", []),  # EU data-theme codes (schemas/package.json)
        "languages": package.get("languages", []),  # of the metadata and the data's texts (ISO 639-1)
        "licence": (package.get("licenses") or [{}])[0],
        "publisher": _publisher(package),
        "contact_point": package.get("contact_point", {}),
        "contributors": package.get("contributors", []),
        "base_url": base_url,
        "latest": latest,
        "updated": described["created"] if described else None,
        # is_latest holds only when described is not None
        "latest_resources": _latest_resources(cast(dict[str, Any], described), base_url) if is_latest else [],
        "sources": package.get("sources", []) if is_latest else [],
        "schemas": {r["name"]: r["schema"] for r in package.get("resources", [])},
        "descriptions": {
            r["name"]: {"title": r.get("title", r["name"]), "description": r.get("description", "")}
            for r in package.get("resources", [])
        },  # fmt: skip
        "releases": releases,
    }
    return model


def input_digest(published_dir: Path, base_url: str | None) -> str:
    """sha256 over everything the model is built from, to tell whether the catalogue is current."""
    published_dir = Path(published_dir)
    digest = hashlib.sha256(json.dumps([MODEL_VERSION, base_url]).encode())
    code = [*sorted(Path(__file__).parent.glob("*.py")), Path(safe_text.__file__)]
    for path in code:  # a new partnerdata rebuilds the pages (safe_text.py decides what they may hold)
        digest.update(path.read_bytes())
    for name in (WITHDRAWN_JSON, layout.LATEST_JSON):
        path = published_dir / name
        digest.update(name.encode() + (path.read_bytes() if path.exists() else b"-"))
    for number in existing_versions(published_dir):
        folder = layout.release_dir(published_dir, ".".join(map(str, number)))
        for name in ("datapackage.json", CHANGES_JSON, TOMBSTONE_JSON, "SHA256SUMS"):
            path = folder / name
            digest.update(f"{folder.name}/{name}".encode() + (path.read_bytes() if path.exists() else b"-"))
    return digest.hexdigest()


def file_url(base_url: str | None, relative: str) -> str:
    """The absolute URL of a published file when the base URL is known; else its relative path."""
    return urljoin(base_url if base_url.endswith("/") else base_url + "/", relative) if base_url else relative


def _release(
    published_dir: Path, version: str, withdrawn: dict[str, Any] | None, latest: str | None, base_url: str | None
) -> dict[str, Any] | None:
    folder = layout.release_dir(published_dir, version)
    try:
        package = _package(published_dir, version)
    except FileNotFoundError:
        return None  # a folder without its datapackage.json is not a release
    changes = _read_json(folder / CHANGES_JSON) or {}
    purged = bool(withdrawn and withdrawn.get("purged"))
    prefix = f"{layout.RELEASES}/{version}/"
    resources = []
    for resource in package.get("resources", []):
        files = []
        for fmt, described in (("csv", resource), ("parquet", resource.get("parquet", {}))):
            if not described.get("path"):
                continue
            relative = prefix + described["path"]
            files.append(
                {
                    "format": fmt,
                    "path": relative,
                    "url": file_url(base_url, relative),
                    "mediatype": MEDIA_TYPES[fmt],
                    "bytes": described.get("bytes"),
                    "sha256": str(described.get("hash", "")).removeprefix("sha256:"),
                    "available": not purged,
                }
            )
        resources.append(
            {
                "name": resource["name"],
                "title": resource.get("title", resource["name"]),
                "rows": resource.get("rows"),
                "files": files,
            }
        )
    status = "withdrawn" if withdrawn else ("current" if version == latest else "superseded")
    return {
        "version": version,
        "created": package.get("created"),
        "status": "purged" if purged else status,
        "withdrawn": {k: withdrawn[k] for k in ("reason", "withdrawn_at") if k in withdrawn}  # not who: a person
        if withdrawn
        else None,
        "previous_version": changes.get("previous_version"),
        "bump": changes.get("bump"),
        "rule": changes.get("rule"),
        "reasons": changes.get("reasons", []),
        "counts": {name: diff.get("counts", {}) for name, diff in changes.get("resources", {}).items()},
        "page": prefix + "index.html",
        "page_url": file_url(base_url, prefix),
        "checksums": file_url(base_url, prefix + "SHA256SUMS") if not purged else None,
        "documents": [name for name in RELEASE_DOCUMENTS if (folder / name).exists()],
        "resources": resources,
        "coverage": None,  # countries, first and last date: build_model reads them (release_coverage)
    }


def _latest_resources(release: dict[str, Any], base_url: str | None) -> list[dict[str, Any]]:
    """The files of latest under their stable URLs (published/latest/...)."""
    prefix = f"{layout.RELEASES}/{release['version']}/"
    stable = []
    for resource in release["resources"]:
        files = []
        for file in resource["files"]:
            relative = layout.LATEST + "/" + file["path"].removeprefix(prefix)
            files.append({**file, "path": relative, "url": file_url(base_url, relative)})
        stable.append({**resource, "files": files})
    return stable


def _publisher(package: dict[str, Any]) -> dict[str, Any]:
    for contributor in package.get("contributors", []):
        if contributor.get("role") == "publisher":
            return {
                "name": contributor.get("title", ""),
                "url": contributor.get("path"),
                "type": contributor.get("type"),
            }
    return {"name": package.get("title", "partnerdata"), "url": package.get("homepage")}


def _package(published_dir: Path, version: str) -> dict[str, Any]:
    return read_package(published_dir, version)


def _known_coverage(published_dir: Path) -> dict[str, Any]:
    """The coverage the last catalog.json recorded per release: a release's files never change, so it is read
    from its Parquet files once (a purge keeps it in the tombstone). Only coverage found by this way of
    reading it (COVERAGE_FORMAT) is reused, and never an absent one (a passing failure is read again)."""
    recorded = _cached_json(published_dir / "catalog.json")
    if not isinstance(recorded, dict) or recorded.get("coverage_format") != COVERAGE_FORMAT:
        return {}
    return {
        r["version"]: r["coverage"]
        for r in recorded.get("releases", [])
        if isinstance(r, dict) and isinstance(r.get("coverage"), dict) and isinstance(r.get("version"), str)
    }


def _withdrawn(published_dir: Path) -> dict[str, dict[str, Any]]:
    return _read_json(published_dir / WITHDRAWN_JSON) or {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _cached_json(path: Path) -> Any:
    """A file the catalogue wrote itself, as a cache: unreadable or torn, it is as good as absent."""
    try:
        return _read_json(path)
    except (OSError, ValueError):
        return None
