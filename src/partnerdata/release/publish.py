"""Build a release in a staging folder, verify it, move it into place, then switch latest.

published/releases/<version>/ is write-once. The staging folder sits beside the
releases so the move is one rename; ``latest`` (a relative symbolic link),
``latest.json`` and ``v<MAJOR>`` change only after the release verifies, each
with an atomic replace. A crash leaves ``latest`` on the previous release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from partnerdata.config import layout as paths
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.errors import UsageError
from partnerdata.release.diff import LEVELS, Change, bump, data_changes, highest, schema_changes
from partnerdata.release.write import write_csv, write_parquet
from partnerdata.util.files import fsync_folder, fsync_path
from partnerdata.util.safe_text import markdown_code
from partnerdata.util.timing import Stopwatch

FIRST_VERSION = "1.0.0"
CHANGES_JSON = "changes.json"
CHANGES_MD = "CHANGES.md"
MARKDOWN_KEYS = 20  # keys and changed records shown per resource in CHANGES.md
DESCRIPTIVE_PACKAGE_KEYS = ("title", "description", "licenses", "contributors", "contact_point", "keywords", "homepage")
BUMP_MEANING = {
    "major": "Incompatible: check your code before you switch; `v<MAJOR>` keeps pointing at the previous major version.",
    "minor": "Compatible: records or allowed values were added (or records nothing refers to were removed).",
    "patch": "Compatible: values were corrected or descriptions changed.",
    "initial": "",
}
SHA256SUMS = "SHA256SUMS"
WITHDRAWN_JSON = "withdrawn.json"  # in published/: the registry of withdrawn releases
TOMBSTONE_JSON = "TOMBSTONE.json"  # in a purged release's folder
LOG_JSONL = "log.jsonl"  # in published/: releases published, withdrawn, purged
VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class ReleaseOutcome:
    version: str | None  # the new release, or None when nothing changed
    path: Path | None
    current_version: str | None  # what latest points at after this run
    message: str
    holds_content: bool = True  # the release latest names holds the data offered (False: refused, not published)


def current_release(published_dir: Path) -> dict[str, Any] | None:
    """The contents of latest.json, or None before the first release."""
    try:
        return json.loads(paths.latest_json(published_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def next_version(published_dir: Path, level: str) -> str:
    """The newest release number (withdrawn ones included: a number is never reused), bumped."""
    versions = existing_versions(published_dir)
    if not versions:
        return FIRST_VERSION
    return bump(".".join(map(str, versions[-1])), level)


def existing_versions(published_dir: Path) -> list[tuple[int, int, int]]:
    folder = paths.releases_dir(published_dir)
    if not folder.is_dir():
        return []
    # A release is a real folder partnerdata wrote: a symbolic link there (to anywhere) is not one.
    found = [VERSION_PATTERN.match(p.name) for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(tuple(int(g) for g in m.groups()) for m in found if m)  # type: ignore[misc]


def release_snapshot_hashes(published_dir: Path) -> set[str]:
    """The sha256 of every raw snapshot any kept release was built from (retention keeps those)."""
    hashes = set()
    for package in paths.releases_dir(published_dir).glob("*/datapackage.json"):
        provenance = json.loads(package.read_text(encoding="utf-8")).get("provenance", {})
        hashes.update(s["sha256"] for s in provenance.get("snapshots", []))
    return hashes


def finish_interrupted_switch(published_dir: Path) -> str | None:
    """A crash between a release's rename and the pointer switch leaves a complete, verified
    release that latest does not name yet: switch to it now rather than publish it twice."""
    good = good_versions(published_dir)  # a withdrawn release never becomes latest again
    if not good:
        return None
    newest = good[-1]
    current = current_release(published_dir)
    if current is not None and _number(current["version"]) >= _number(newest):
        return None
    verify_checksums(paths.release_dir(published_dir, newest))  # verified before the rename; a damaged one raises
    _point_at(published_dir, newest)
    return newest


def _point_at(published_dir: Path, version: str) -> None:
    """latest, latest.json and v<MAJOR> to a release on disk, from what its datapackage.json records."""
    package = json.loads((paths.release_dir(published_dir, version) / "datapackage.json").read_text(encoding="utf-8"))
    provenance = package.get("provenance", {})
    _switch_pointers(
        published_dir,
        version,
        package["created"],
        provenance.get("fingerprint", ""),
        provenance.get("content_digest", ""),
    )


def _number(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def remove_staging_leftovers(published_dir: Path) -> list[Path]:
    """A crashed run may leave a staging folder; it was never visible, so it can go."""
    folder = paths.releases_dir(published_dir)
    leftovers = [p for p in folder.iterdir() if p.name.startswith(paths.STAGING_PREFIX)] if folder.is_dir() else []
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
    folders = [published_dir, *(p for p in paths.releases_dir(published_dir).glob("*") if p.is_dir())]
    removed = []
    for folder in folders:
        if folder.is_symlink() or folder.name.startswith(paths.STAGING_PREFIX):
            continue
        for leftover in folder.iterdir():
            if TEMPORARY_FILE.match(leftover.name) and (leftover.is_file() or leftover.is_symlink()):
                leftover.unlink()
                removed.append(leftover)
    return removed


def publish_release(
    tables: dict[str, pa.Table],
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
    """Write a new release if the data, the schemas or the metadata changed since latest.

    ``stopwatch`` (optional) gets the time of its parts: write, diff, package (datapackage.json,
    changes, checksums), switch."""
    stopwatch = stopwatch or Stopwatch()
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_staging_leftovers(published_dir)
    finish_interrupted_switch(published_dir)
    previous = current_release(published_dir)
    staging = paths.staging_dir(published_dir, "next", uuid.uuid4().hex[:12])
    staging.mkdir(parents=True)
    try:
        resources = _write_resources(tables, schemas, staging)
        stopwatch.lap("write")
        metadata = metadata or {}
        content_digest = _content_digest(resources, schemas, metadata)
        if previous is not None and previous.get("content_digest") == content_digest:
            shutil.rmtree(staging)
            return ReleaseOutcome(
                version=None,
                path=None,
                current_version=previous["version"],
                message=f"the data, schemas and metadata are the same as in release {previous['version']}: no new release",
            )
        refused = _withdrawn_with_digest(published_dir, content_digest)
        if refused is not None:
            shutil.rmtree(staging)
            version, reason = refused
            return ReleaseOutcome(
                version=None,
                path=None,
                current_version=previous["version"] if previous else None,
                message=f"the data, schemas and metadata are those of withdrawn release {version} ({reason}): "
                "not published again; fix the input first",
                holds_content=False,
            )
        changes = _changes(published_dir, previous, tables, schemas, metadata)
        stopwatch.lap("diff")
        version = next_version(published_dir, "minor" if changes["bump"] == "initial" else changes["bump"])
        changes["version"] = version
        created = now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        package = _datapackage(
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
        _write_json(staging / "datapackage.json", package)
        _write_json(staging / "validation.json", validation)
        _write_json(staging / CHANGES_JSON, changes)
        (staging / CHANGES_MD).write_text(changes_markdown(changes), encoding="utf-8")
        written = {f["path"]: f["sha256"] for r in resources.values() for f in (r["csv"], r["parquet"])}
        write_checksums(staging, written)
        verify_checksums(staging)  # every file read back: what SHA256SUMS says is what is on disk
        final = paths.release_dir(published_dir, version)
        fsync_folder(staging)
        os.rename(staging, final)  # fails if it exists: a release is never overwritten
        fsync_path(final.parent)
        stopwatch.lap("package")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_pointers(published_dir, version, created, fingerprint, content_digest)
    append_log(published_dir, {"event": "published", "version": version, "at": created, "bump": changes["bump"]})
    stopwatch.lap("switch")
    return ReleaseOutcome(
        version=version,
        path=final,
        current_version=version,
        message=f"published release {version} ({changes['bump']}: {changes['reasons'][0]})",
    )


def _withdrawn_with_digest(published_dir: Path, content_digest: str) -> tuple[str, str] | None:
    """The withdrawn release (version, reason) whose content this is, if any."""
    for version, entry in withdrawn_releases(published_dir).items():
        package = paths.release_dir(published_dir, version) / "datapackage.json"
        if package.exists():
            provenance = json.loads(package.read_text(encoding="utf-8")).get("provenance", {})
            if provenance.get("content_digest") == content_digest:
                return version, entry["reason"]
    return None


def _changes(
    published_dir: Path,
    previous: dict[str, Any] | None,
    tables: dict[str, pa.Table],
    schemas: Schemas,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """changes.json: the bump, the rule that decided it, every reason, and the keyed diff."""
    if previous is None:
        return {
            "previous_version": None,
            "bump": "initial",
            "rule": "first-release",
            "reasons": ["the first release"],
            "changes": [],
            "resources": {
                name: {"counts": {"added": tables[name].num_rows, "removed": 0, "changed": 0}} for name in tables
            },
        }
    folder = paths.release_dir(published_dir, previous["version"])
    old_package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    old_schemas = {r["name"]: r["schema"] for r in old_package["resources"]}
    new_schemas = {name: schemas.published_descriptor(name) for name in RESOURCE_NAMES}
    found = schema_changes(old_schemas, new_schemas)
    old_tables = {
        r["name"]: pq.read_table(folder / r["parquet"]["path"]) for r in old_package["resources"] if r["name"] in tables
    }
    references: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    for name, descriptor in old_schemas.items():
        for fk in descriptor.get("foreignKeys", []):
            target = fk["reference"]["resource"]
            references.setdefault(target, []).append((name, list(fk["fields"]), list(fk["reference"]["fields"])))
    keys = {name: schemas.primary_key(name) for name in RESOURCE_NAMES}
    same_keys = {name for name in tables if _as_list(old_schemas.get(name, {}).get("primaryKey")) == keys[name]}
    data_found, diffs = data_changes(
        {n: t for n, t in old_tables.items() if n in same_keys},
        {n: t for n, t in tables.items() if n in same_keys},
        keys,
        references,
    )
    found += data_found
    described = {k: old_package.get(k) for k in DESCRIPTIVE_PACKAGE_KEYS} != {
        k: {**schemas.package, **metadata}.get(k) for k in DESCRIPTIVE_PACKAGE_KEYS
    }
    if described or not found:  # not found: only files in schemas/ that publish nothing changed (rules, say)
        found.append(Change("patch", "metadata-changed", None, "descriptive metadata changed (no data, no schema)"))
    level = highest(found)
    deciding = next(c for c in found if c.level == level)
    return {
        "previous_version": previous["version"],
        "bump": level,
        "rule": deciding.rule,
        "reasons": [c.reason for c in sorted(found, key=lambda c: -LEVELS.index(c.level))],
        "changes": [c.as_dict() for c in found],
        "resources": diffs,
    }


def changes_markdown(changes: dict[str, Any]) -> str:
    """CHANGES.md: do I need to download again, and what is new?"""
    lines = [f"# Release {changes['version']}", ""]
    if changes["previous_version"] is None:
        lines += ["The first release.", ""]
    else:
        lines += [
            f"Compared with release {changes['previous_version']}: a **{changes['bump']}** change "
            f"(rule `{changes['rule']}`). {BUMP_MEANING[changes['bump']]}",
            "",
            "Why:",
            "",
            *[f"- {reason}" for reason in changes["reasons"]],
            "",
        ]
    for name, diff in changes["resources"].items():
        counts = diff["counts"]
        lines += [
            f"## {name}",
            "",
            f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed.",
            "",
        ]
        if diff.get("added"):
            lines += [f"- added: {', '.join(map(_key_text, diff['added'][:MARKDOWN_KEYS]))}{_more(diff, 'added')}"]
        if diff.get("removed"):
            lines += [
                f"- removed: {', '.join(map(_key_text, diff['removed'][:MARKDOWN_KEYS]))}{_more(diff, 'removed')}"
            ]
        for record in diff.get("changed", [])[:MARKDOWN_KEYS]:
            fields = "; ".join(
                f"{f}: {_value_text(v['from'])} → {_value_text(v['to'])}" for f, v in record["fields"].items()
            )
            lines.append(f"- changed {_key_text(record['key'])}: {fields}")
        if len(diff.get("changed", [])) > MARKDOWN_KEYS or diff.get("truncated"):
            lines.append("- ... the full lists (up to the cap) are in changes.json; the counts above are complete")
        lines.append("")
    return "\n".join(lines)


def _more(diff: dict[str, Any], kind: str) -> str:
    shown = min(len(diff[kind]), MARKDOWN_KEYS)
    return f" and {diff['counts'][kind] - shown} more" if diff["counts"][kind] > shown else ""


def _key_text(key: Any) -> str:
    """A record's key as CHANGES.md shows it: partner text, so in a code span, never Markdown or HTML."""
    return (
        "(" + ", ".join(markdown_code(str(k)) for k in key) + ")" if isinstance(key, list) else markdown_code(str(key))
    )


def _value_text(value: Any) -> str:
    """A field's value as CHANGES.md shows it: JSON (null for empty), in a code span."""
    return markdown_code(json.dumps(value, ensure_ascii=False))


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


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


def withdraw_release(published_dir: Path, version: str, reason: str, by: str, now: dt.datetime) -> dict[str, Any]:
    """Mark a release as withdrawn; move latest and its v<MAJOR> back to the newest good release.
    A release's files are never changed by it (a purge is takedown.purge_release). The event is
    appended to published/log.jsonl. The caller holds the publish lock."""
    version = checked_version(published_dir, version)
    reason = checked_reason(reason)
    withdrawn = withdrawn_releases(published_dir)
    if version in withdrawn:
        raise UsageError(f"release {version} was withdrawn already, on {withdrawn[version]['withdrawn_at']}")
    entry = mark_withdrawn(published_dir, version, reason, by, _utc_text(now), purged=False)
    append_log(published_dir, {"event": "withdrawn", "version": version, **entry})
    return entry


def mark_withdrawn(published_dir: Path, version: str, reason: str, by: str, at: str, purged: bool,
                   files: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The entry in withdrawn.json, and latest and v<MAJOR> moved off the release (idempotent)."""
    withdrawn = withdrawn_releases(published_dir)
    entry: dict[str, Any] = {"reason": reason, "withdrawn_at": at, "by": by, "purged": purged}
    if files is not None:
        entry["files"] = files
    withdrawn[version] = entry
    write_json_atomically(published_dir / WITHDRAWN_JSON, withdrawn)
    _repoint(published_dir)
    return entry


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


def delete_data_files(folder: Path, hashes: dict[str, str], reason: str, at: str, by: str) -> None:
    """Delete the release's data files; TOMBSTONE.json keeps the reason and the hashes of every file
    that was there (idempotent: a run killed halfway does the rest)."""
    if not (folder / TOMBSTONE_JSON).is_file():
        write_json_atomically(folder / TOMBSTONE_JSON, {"purged_at": at, "by": by, "reason": reason, "files": hashes})
    for name in hashes:
        # SHA256SUMS names files of this folder only: a name with a path in it is never followed.
        if name.endswith((".csv", ".parquet")) and name == Path(name).name and not name.startswith("."):
            (folder / name).unlink(missing_ok=True)
    (folder / SHA256SUMS).unlink(missing_ok=True)  # it lists files that are gone; the tombstone keeps it
    fsync_path(folder)


def _utc_text(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def checked_version(published_dir: Path, version: str) -> str:
    """The version, when it names a release in published/ exactly; else a UsageError that says what
    there is. A typed version becomes a path that may be deleted: ``1.0.0/`` (a shell's completion)
    or ``../../x`` must never reach the file system."""
    known = [".".join(map(str, v)) for v in existing_versions(published_dir)]
    if VERSION_PATTERN.match(version) and version in known:
        folder = paths.release_dir(published_dir, version)
        if (folder / SHA256SUMS).is_file() or (folder / TOMBSTONE_JSON).is_file():
            return version
    hint = ""
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", version)
    if found and found.group(0) != version and found.group(0) in known:
        hint = f" (did you mean {found.group(0)}?)"
    listed = ", ".join(known) or "none"
    raise UsageError(
        f"there is no release {version if VERSION_PATTERN.match(version) else repr(version)} in "
        f"{paths.releases_dir(published_dir)}{hint}; give a version exactly as "
        f"MAJOR.MINOR.PATCH (releases: {listed}); nothing was changed"
    )


def checked_reason(reason: str) -> str:
    """A withdrawal's reason goes into the catalogue, the feed and withdrawn.json: a text a person
    can read, without control characters (a form feed made feed.xml unreadable)."""
    if not reason.strip():
        raise UsageError("give a --reason: data users read it in the catalogue and the feed")
    for index, character in enumerate(reason):
        if unicodedata.category(character) in ("Cc", "Cs") and character not in "\n\t":
            raise UsageError(
                f"the --reason holds the control character U+{ord(character):04X} at position {index + 1}; "
                "remove it (it would make the feed unreadable); nothing was changed"
            )
    return reason.strip()


def _repoint(published_dir: Path) -> None:
    """latest and each v<MAJOR> to the newest good release (of that major); gone when there is none."""
    good = good_versions(published_dir)
    majors = {int(v.split(".")[0]) for v in (".".join(map(str, t)) for t in existing_versions(published_dir))}
    for major in majors:
        of_major = [v for v in good if int(v.split(".")[0]) == major]
        link = paths.major_link(published_dir, major)
        if of_major:
            _replace_symlink(link, Path(paths.RELEASES) / of_major[-1])
        else:
            link.unlink(missing_ok=True)
    if not good:
        paths.latest_link(published_dir).unlink(missing_ok=True)
        paths.latest_json(published_dir).unlink(missing_ok=True)
        return
    _point_at(published_dir, good[-1])


def append_log(published_dir: Path, event: dict[str, Any]) -> None:
    """published/log.jsonl, append-only: every release published, withdrawn or purged."""
    with open(published_dir / LOG_JSONL, "a", encoding="utf-8") as log:
        log.write(json.dumps(event, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())


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


def prune_releases(published_dir: Path, keep: int | None, now: dt.datetime) -> list[str]:
    """Remove the oldest releases beyond the newest `keep`; never one that latest or a v<MAJOR>
    names. None keeps every release. Each removal is logged."""
    if keep is None:
        return []
    versions = [".".join(map(str, v)) for v in existing_versions(published_dir)]
    pinned = {
        Path(os.readlink(link)).name
        for link in [paths.latest_link(published_dir), *published_dir.glob("v[0-9]*")]
        if link.is_symlink()
    }
    removed = []
    for version in versions[: max(0, len(versions) - keep)]:
        if version in pinned:
            continue
        shutil.rmtree(paths.release_dir(published_dir, version))
        at = now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        append_log(
            published_dir, {"event": "removed", "version": version, "at": at, "reason": f"retention_releases: {keep}"}
        )
        removed.append(version)
    return removed


def write_json_atomically(path: Path, document: Any) -> None:
    write_text_atomically(path, json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_text_atomically(path: Path, text: str) -> None:
    """Beside the target, flushed, then renamed over it: a reader sees the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temporary.write_text(text, encoding="utf-8")
    fsync_path(temporary)
    os.replace(temporary, path)
    fsync_path(path.parent)


def write_checksums(folder: Path, known: dict[str, str] | None = None) -> None:
    """SHA256SUMS for every file in folder; ``known`` gives the digests computed while writing."""
    known = known or {}
    lines = [
        f"{known.get(p.name) or _sha256(p)}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != SHA256SUMS
    ]
    (folder / SHA256SUMS).write_text("".join(lines), encoding="utf-8")


def verify_checksums(folder: Path) -> None:
    """Raise if any file differs from SHA256SUMS (what `sha256sum -c` checks)."""
    for line in (folder / SHA256SUMS).read_text(encoding="utf-8").splitlines():
        expected, name = line.split("  ", 1)
        if _sha256(folder / name) != expected:
            raise RuntimeError(f"{folder / name}: checksum does not match SHA256SUMS")


def _write_resources(tables: dict[str, pa.Table], schemas: Schemas, folder: Path) -> dict[str, dict[str, Any]]:
    """Each resource's CSV and Parquet, written side by side (Arrow does the work outside the GIL)."""
    described = {}
    with ThreadPoolExecutor(2) as pool:
        for name in RESOURCE_NAMES:
            table = tables[name]
            fields = schemas.published_fields(name)
            delimiters = {f["name"]: f.get("delimiter", ",") for f in fields if f["type"] == "list"}
            csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
            parquet = pool.submit(write_parquet, table, parquet_path)
            csv_sha256 = write_csv(table, csv_path, delimiters)
            parquet.result()
            described[name] = {
                "rows": table.num_rows,
                "csv": {"path": csv_path.name, "bytes": csv_path.stat().st_size, "sha256": csv_sha256},
                "parquet": {
                    "path": parquet_path.name,
                    "bytes": parquet_path.stat().st_size,
                    "sha256": _sha256(parquet_path),
                },
            }
    return described


def _content_digest(resources: dict[str, dict[str, Any]], schemas: Schemas, metadata: dict[str, Any]) -> str:
    """What a data user would call a change: the published rows, the schemas, the metadata."""
    basis = {
        "csv": {n: r["csv"]["sha256"] for n, r in resources.items()},
        "schemas": schemas.digest(),
        "metadata": metadata,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def _datapackage(
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


def _switch_pointers(published_dir: Path, version: str, created: str, fingerprint: str, content_digest: str) -> None:
    target = Path(paths.RELEASES) / version
    _replace_symlink(paths.latest_link(published_dir), target)
    major = int(version.split(".")[0])
    _replace_symlink(paths.major_link(published_dir, major), target)
    pointer = {
        "version": version,
        "path": str(target),
        "created": created,
        "fingerprint": fingerprint,
        "content_digest": content_digest,
    }
    temporary = published_dir / f".latest.json.{uuid.uuid4().hex[:8]}"
    _write_json(temporary, pointer)
    fsync_path(temporary)
    os.replace(temporary, paths.latest_json(published_dir))
    fsync_path(published_dir)


def _replace_symlink(link: Path, target: Path) -> None:
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(target, temporary)
    os.replace(temporary, link)


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
