"""The read side of published/: which releases exist, which is current, which were withdrawn, and
whether a release's files still match its SHA256SUMS. Nothing here writes; the catalogue reads
published/ through this module only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from partnerdata.config import layout
from partnerdata.errors import UsageError
from partnerdata.util.files import sha256_file

FIRST_VERSION = "1.0.0"


CHANGES_JSON = "changes.json"


CHANGES_MD = "CHANGES.md"


WITHDRAWN_JSON = "withdrawn.json"  # in published/: the registry of withdrawn releases


TOMBSTONE_JSON = "TOMBSTONE.json"  # in a purged release's folder


LOG_JSONL = "log.jsonl"  # in published/: releases published, withdrawn, purged


COUNTRY_CODE = re.compile(r"[A-Z]{2}")
VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def current_release(published_dir: Path) -> dict[str, Any] | None:
    """The contents of latest.json, or None before the first release."""
    try:
        return json.loads(layout.latest_json(published_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def existing_versions(published_dir: Path) -> list[tuple[int, int, int]]:
    folder = layout.releases_dir(published_dir)
    if not folder.is_dir():
        return []
    # A release is a real folder partnerdata wrote: a symbolic link there (to anywhere) is not one.
    found = [VERSION_PATTERN.match(p.name) for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(tuple(int(g) for g in m.groups()) for m in found if m)  # type: ignore[misc]


def read_package(published_dir: Path, version: str) -> dict[str, Any]:
    """A release's datapackage.json (raises OSError or ValueError when it is missing or broken)."""
    document: dict[str, Any] = json.loads(
        (layout.release_dir(published_dir, version) / layout.DATAPACKAGE_JSON).read_text(encoding="utf-8")
    )
    return document


def release_snapshot_hashes(published_dir: Path) -> set[str]:
    """The sha256 of every raw snapshot any kept release was built from (retention keeps those)."""
    hashes: set[str] = set()
    for package in layout.releases_dir(published_dir).glob(f"*/{layout.DATAPACKAGE_JSON}"):
        provenance = json.loads(package.read_text(encoding="utf-8")).get("provenance", {})
        hashes.update(s["sha256"] for s in provenance.get("snapshots", []))
    return hashes


def version_number(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def withdrawn_releases(published_dir: Path) -> dict[str, dict[str, Any]]:
    """published/withdrawn.json: version -> reason, when, by whom, purged or not."""
    try:
        return json.loads((published_dir / WITHDRAWN_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def good_versions(published_dir: Path) -> list[str]:
    """The releases on disk that were not withdrawn, oldest first."""
    withdrawn = withdrawn_releases(published_dir)
    return [v for v in (".".join(map(str, t)) for t in existing_versions(published_dir)) if v not in withdrawn]


def release_hashes(folder: Path) -> dict[str, str]:
    """name -> sha256 of the files a release was published with: its SHA256SUMS, or, once it was
    purged, its tombstone's copy."""
    if (folder / SHA256SUMS).is_file():
        hashes = {}
        for line in (folder / SHA256SUMS).read_text(encoding="utf-8").splitlines():
            expected, name = line.split("  ", 1)
            hashes[name] = expected
        return hashes
    return dict(json.loads((folder / TOMBSTONE_JSON).read_text(encoding="utf-8"))["files"])


def checked_version(published_dir: Path, version: str) -> str:
    """The version, when it names a release in published/ exactly; else a UsageError that says what
    there is. A typed version becomes a path that may be deleted: ``1.0.0/`` (a shell's completion)
    or ``../../x`` must never reach the file system."""
    known = [".".join(map(str, v)) for v in existing_versions(published_dir)]
    if VERSION_PATTERN.match(version) and version in known:
        folder = layout.release_dir(published_dir, version)
        if (folder / SHA256SUMS).is_file() or (folder / TOMBSTONE_JSON).is_file():
            return version
    hint = ""
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", version)
    if found and found.group(0) != version and found.group(0) in known:
        hint = f" (did you mean {found.group(0)}?)"
    listed = ", ".join(known) or "none"
    raise UsageError(
        f"there is no release {version if VERSION_PATTERN.match(version) else repr(version)} in "
        f"{layout.releases_dir(published_dir)}{hint}; give a version exactly as "
        f"MAJOR.MINOR.PATCH (releases: {listed}); nothing was changed"
    )


def read_log(published_dir: Path) -> list[dict[str, Any]]:
    """published/log.jsonl, oldest first; a line torn by a crash is skipped."""
    try:
        lines = (published_dir / LOG_JSONL).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return [e for e in events if isinstance(e, dict)]


def verify_checksums(folder: Path) -> None:
    """Raise if any file differs from SHA256SUMS (what `sha256sum -c` checks)."""
    for line in (folder / SHA256SUMS).read_text(encoding="utf-8").splitlines():
        expected, name = line.split("  ", 1)
        if sha256_file(folder / name) != expected:
            raise RuntimeError(f"{folder / name}: checksum does not match SHA256SUMS")


SHA256SUMS = "SHA256SUMS"


def release_coverage(published_dir: Path, version: str) -> dict[str, Any] | None:
    """What a release covers, for the catalogue's dct:spatial and dct:temporal: the countries its rows name
    (every field called country or ..._countries) and its earliest and latest date (every date field).
    Read from its Parquet files, a column at a time; a purged release's tombstone keeps what it covered."""
    folder = layout.release_dir(published_dir, version)
    tombstone = folder / TOMBSTONE_JSON
    if tombstone.is_file():
        kept = json.loads(tombstone.read_text(encoding="utf-8")).get("coverage")
        return dict(kept) if isinstance(kept, dict) else None
    try:
        return coverage_of(folder, read_package(published_dir, version))
    except Exception:  # noqa: BLE001 (coverage is optional: an odd or broken file costs it, never the catalogue)
        return None


def coverage_of(folder: Path, package: dict[str, Any]) -> dict[str, Any] | None:
    """The coverage of the release in ``folder`` described by ``package`` (its datapackage.json). A country
    cell may carry a share after a colon (recipient_countries: ``KE:60``); only ISO codes count."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    countries: set[str] = set()
    dates: list[str] = []
    for resource in package.get("resources", []):
        parquet = resource.get("parquet") if isinstance(resource.get("parquet"), dict) else {}
        path = folder / str(parquet.get("path", ""))
        fields = resource.get("schema", {}).get("fields", [])
        spatial = [f["name"] for f in fields if f["name"] == "country" or f["name"].endswith("_countries")]
        temporal = [f["name"] for f in fields if f.get("type") == "date"]
        if not path.is_file() or not (spatial or temporal):
            continue
        table = pq.read_table(path, columns=spatial + temporal)
        for name in spatial:
            column = table.column(name).combine_chunks()
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            values = pc.list_flatten(column) if pa.types.is_list(column.type) else column
            for value in pc.unique(values).to_pylist():
                code = value.split(":", 1)[0].strip() if isinstance(value, str) else ""
                if COUNTRY_CODE.fullmatch(code):
                    countries.add(code)
        for name in temporal:
            if not pa.types.is_date(table.schema.field(name).type):
                continue  # not stored as a date: says nothing sure
            low, high = pc.min_max(table.column(name)).values()
            dates += [d.as_py().isoformat() for d in (low, high) if d.is_valid]
    if not countries and not dates:
        return None
    return {
        "countries": sorted(countries),
        "start": min(dates) if dates else None,
        "end": max(dates) if dates else None,
    }
