"""Build a release in a staging folder, verify it, move it into place, then switch latest.

published/releases/<version>/ is write-once. The staging folder sits beside the
releases so the move is one rename; ``latest`` (a relative symbolic link),
``latest.json`` and ``v<MAJOR>`` change only after the release verifies, each
with an atomic replace. A crash leaves ``latest`` on the previous release.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from partnerdata.config import layout
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.release.changelog import changes_markdown, release_changes
from partnerdata.release.diff import ParquetColumns, bump
from partnerdata.release.package import datapackage, digest_of_content
from partnerdata.release.pointers import finish_interrupted_switch, switch_pointers
from partnerdata.release.store import (
    CHANGES_JSON,
    CHANGES_MD,
    FIRST_VERSION,
    SHA256SUMS,
    current_release,
    existing_versions,
    verify_checksums,
    withdrawn_releases,
)
from partnerdata.release.withdraw import append_log
from partnerdata.release.write import write_resource
from partnerdata.util.clock import utc_text
from partnerdata.util.files import fsync_folder, fsync_path, sha256_file, write_json
from partnerdata.util.timing import Stopwatch


@dataclass(frozen=True)
class ReleaseOutcome:
    version: str | None  # the new release, or None when nothing changed
    path: Path | None
    current_version: str | None  # what latest points at after this run
    message: str
    holds_content: bool = True  # the release latest names holds the data offered (False: refused, not published)


def next_version(published_dir: Path, level: str) -> str:
    """The newest release number (withdrawn ones included: a number is never reused), bumped."""
    versions = existing_versions(published_dir)
    if not versions:
        return FIRST_VERSION
    return bump(".".join(map(str, versions[-1])), level)


def remove_staging_leftovers(published_dir: Path) -> list[Path]:
    """A crashed run may leave a staging folder; it was never visible, so it can go."""
    folder = layout.releases_dir(published_dir)
    leftovers = [p for p in folder.iterdir() if p.name.startswith(layout.STAGING_PREFIX)] if folder.is_dir() else []
    for leftover in leftovers:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()  # a link is removed, never followed
    return leftovers


TEMPORARY_FILE = re.compile(r"^\.[^/]+\.[0-9a-f]{8}$")  # what write_text_atomically writes before its rename


def remove_temporary_files(published_dir: Path) -> list[Path]:
    """A crash between writing a file beside its target and the rename leaves `.NAME.1a2b3c4d`: never
    visible (serve and static hosts skip dot-files), but it should not pile up. The caller holds the lock."""
    if not published_dir.is_dir():
        return []
    folders = [published_dir, *(p for p in layout.releases_dir(published_dir).glob("*") if p.is_dir())]
    removed = []
    for folder in folders:
        if folder.is_symlink() or folder.name.startswith(layout.STAGING_PREFIX):
            continue
        for leftover in folder.iterdir():
            if TEMPORARY_FILE.match(leftover.name) and (leftover.is_file() or leftover.is_symlink()):
                leftover.unlink()
                removed.append(leftover)
    return removed


class Rows(Protocol):
    """A resource's rows given a slice at a time, in order (validate.across.Assembled is one)."""

    @property
    def schema(self) -> pa.Schema: ...

    def slices(self) -> Iterable[pa.Table]: ...


def publish_release(  # noqa: PLR0913 (the release's inputs, each its own; the run and the tests name them in this order)
    tables: Mapping[str, pa.Table | Rows],
    schemas: Schemas,
    published_dir: Path,
    now: dt.datetime,
    fingerprint: str,
    provenance: dict[str, Any],
    sources: list[dict[str, Any]],
    validation: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    stopwatch: Stopwatch | None = None,
) -> ReleaseOutcome:
    """Write a new release if the data, the schemas or the metadata changed since latest. Each of
    ``tables`` is a table or a resource read a slice at a time (it is never held whole here).

    ``stopwatch`` (optional) gets the time of its parts: write, diff, package (datapackage.json,
    changes, checksums), switch."""
    stopwatch = stopwatch or Stopwatch()
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_staging_leftovers(published_dir)
    finish_interrupted_switch(published_dir)
    previous = current_release(published_dir)
    staging = layout.staging_dir(published_dir, "next", uuid.uuid4().hex[:12])
    staging.mkdir(parents=True)
    try:
        resources = _write_resources(tables, schemas, staging)
        stopwatch.lap("write")
        metadata = metadata or {}
        content_digest = digest_of_content(resources, schemas, metadata)
        not_new = _not_new(published_dir, previous, content_digest)
        if not_new is not None:
            shutil.rmtree(staging)
            return not_new
        written = {name: ParquetColumns(staging / resources[name]["parquet"]["path"]) for name in RESOURCE_NAMES}
        changes = release_changes(published_dir, previous, written, schemas, metadata)
        stopwatch.lap("diff")
        version = next_version(published_dir, "minor" if changes["bump"] == "initial" else changes["bump"])
        changes["version"] = version
        created = utc_text(now)
        package = datapackage(
            schemas,
            version,
            created,
            resources,
            sources,
            {**provenance, "fingerprint": fingerprint, "content_digest": content_digest},
            metadata,
        )
        package["changes"] = {
            "previous_version": changes["previous_version"],
            "bump": changes["bump"],
            "rule": changes["rule"],
            "details": "changes.json",
        }
        _seal(staging, package, validation, changes, resources)
        final = layout.release_dir(published_dir, version)
        fsync_folder(staging)
        os.rename(staging, final)  # fails if it exists: a release is never overwritten
        fsync_path(final.parent)
        stopwatch.lap("package")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    switch_pointers(published_dir, version, created, fingerprint, content_digest)
    append_log(published_dir, {"event": "published", "version": version, "at": created, "bump": changes["bump"]})
    stopwatch.lap("switch")
    return ReleaseOutcome(
        version=version,
        path=final,
        current_version=version,
        message=f"published release {version} ({changes['bump']}: {changes['reasons'][0]})",
    )


def _not_new(published_dir: Path, previous: dict[str, Any] | None, content_digest: str) -> ReleaseOutcome | None:
    """Why no release is made of content that latest holds already, or that a withdrawn release held."""
    if previous is not None and previous.get("content_digest") == content_digest:
        return ReleaseOutcome(
            version=None,
            path=None,
            current_version=previous["version"],
            message=f"the data, schemas and metadata are the same as in release {previous['version']}: no new release",
        )
    refused = _withdrawn_with_digest(published_dir, content_digest)
    if refused is None:
        return None
    version, reason = refused
    return ReleaseOutcome(
        version=None,
        path=None,
        current_version=previous["version"] if previous else None,
        message=f"the data, schemas and metadata are those of withdrawn release {version} ({reason}): "
        "not published again; fix the input first",
        holds_content=False,
    )


def _seal(
    staging: Path,
    package: dict[str, Any],
    validation: dict[str, Any],
    changes: dict[str, Any],
    resources: dict[str, dict[str, Any]],
) -> None:
    """The release's descriptors beside its data files, then SHA256SUMS, read back to verify."""
    write_json(staging / layout.DATAPACKAGE_JSON, package)
    write_json(staging / layout.VALIDATION_JSON, validation)
    write_json(staging / CHANGES_JSON, changes)
    (staging / CHANGES_MD).write_text(changes_markdown(changes), encoding="utf-8")
    written = {f["path"]: f["sha256"] for r in resources.values() for f in (r["csv"], r["parquet"])}
    write_checksums(staging, written)
    verify_checksums(staging)  # every file read back: what SHA256SUMS says is what is on disk


def _withdrawn_with_digest(published_dir: Path, content_digest: str) -> tuple[str, str] | None:
    """The withdrawn release (version, reason) whose content this is, if any."""
    for version, entry in withdrawn_releases(published_dir).items():
        package = layout.release_dir(published_dir, version) / layout.DATAPACKAGE_JSON
        if package.exists():
            provenance = json.loads(package.read_text(encoding="utf-8")).get("provenance", {})
            if provenance.get("content_digest") == content_digest:
                return version, entry["reason"]
    return None


def write_checksums(folder: Path, known: dict[str, str] | None = None) -> None:
    """SHA256SUMS for every file in folder; ``known`` gives the digests computed while writing."""
    known = known or {}
    lines = [
        f"{known.get(p.name) or sha256_file(p)}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != SHA256SUMS
    ]
    (folder / SHA256SUMS).write_text("".join(lines), encoding="utf-8")


def _write_resources(
    tables: Mapping[str, pa.Table | Rows], schemas: Schemas, folder: Path
) -> dict[str, dict[str, Any]]:
    """Each resource's CSV and Parquet, written side by side a slice at a time."""
    described = {}
    for name in RESOURCE_NAMES:
        rows = tables[name]
        fields = schemas.published_fields(name)
        delimiters = {f["name"]: f.get("delimiter", ",") for f in fields if f["type"] == "list"}
        csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        slices = [rows] if isinstance(rows, pa.Table) else rows.slices()
        count, csv_sha256 = write_resource(slices, rows.schema, csv_path, parquet_path, delimiters)
        described[name] = {
            "rows": count,
            "csv": {"path": csv_path.name, "bytes": csv_path.stat().st_size, "sha256": csv_sha256},
            "parquet": {
                "path": parquet_path.name,
                "bytes": parquet_path.stat().st_size,
                "sha256": sha256_file(parquet_path),
            },
        }
    return described
