"""A takedown takes the data down: a purged release's values leave every changelog under published/.

``withdraw --purge`` deletes a release's CSV and Parquet files, but its values are quoted
elsewhere too: its own CHANGES.md and changes.json show them as the "to" of every changed
field and as the keys it added, and a later release that was compared with it shows them as
the "from". Before the files go, every value shown in any release's changelog is checked:

    a text value (a key, a field's value, an item of a list) is removed when the purged release
    holds it in that field, and no release whose files are still published holds it there.

A value that another published release still holds is public there, and stays (to take it
down too, purge that release as well). A changelog that loses values is rewritten (changes.json,
and CHANGES.md from it) and its release re-sealed: SHA256SUMS lists the same files with their
new hashes, and published/log.jsonl records why, with the old and new hashes. The data files
of every release, and SHA256SUMS's list of files, never change.

A purge is resumable: published/.purge-pending.json names it until it is complete, and the next
``withdraw`` or run finishes it. Its steps, each safe to repeat: the values out of the changelogs
(while the data files still hold them), the release marked withdrawn and latest moved off it, then
its data files deleted (the tombstone first), then the log line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.config import layout
from partnerdata.errors import UsageError
from partnerdata.release.changelog import changes_markdown
from partnerdata.release.store import (
    CHANGES_JSON,
    CHANGES_MD,
    SHA256SUMS,
    VERSION_PATTERN,
    checked_version,
    existing_versions,
    read_log,
    read_package,
    release_hashes,
    verify_checksums,
    withdrawn_releases,
)
from partnerdata.release.withdraw import append_log, checked_reason, delete_data_files, mark_withdrawn
from partnerdata.util.clock import utc_text
from partnerdata.util.files import sha256_file, write_json_atomically, write_text_atomically

# (resource, field) -> the texts a changelog shows there
Shown = dict[tuple[str, str], set[str]]
PURGE_JOURNAL = ".purge-pending.json"  # in published/: a purge begun and not finished


def purge_release(published_dir: Path, version: str, reason: str, by: str, now: dt.datetime) -> dict[str, Any]:
    """``release withdraw VERSION --purge``: a legal takedown. Returns the withdrawn.json entry and,
    under "redacted", the values removed per re-sealed release. The caller holds the publish lock."""
    resume_purge(published_dir)  # one begun before is finished first
    version = checked_version(published_dir, version)
    reason = checked_reason(reason)
    entry = withdrawn_releases(published_dir).get(version)
    if entry and entry.get("purged"):
        raise UsageError(f"release {version} was purged already, on {entry['withdrawn_at']}")
    at = utc_text(now)
    journal = {"version": version, "reason": reason, "by": by, "at": at}
    write_json_atomically(published_dir / PURGE_JOURNAL, journal)
    return _complete(published_dir, journal)


def resume_purge(published_dir: Path) -> str | None:
    """Finish a purge a crash interrupted; returns its version, if there was one."""
    path = published_dir / PURGE_JOURNAL
    if not path.is_file():
        return None
    journal = json.loads(path.read_text(encoding="utf-8"))
    if not VERSION_PATTERN.match(str(journal.get("version", ""))):
        raise UsageError(f"{path} names no release; remove it by hand")
    _complete(published_dir, journal)
    return journal["version"]


def _complete(published_dir: Path, journal: dict[str, Any]) -> dict[str, Any]:
    version, reason, by, at = journal["version"], journal["reason"], journal["by"], journal["at"]
    folder = layout.release_dir(published_dir, version)
    redacted = remove_purged_values(
        published_dir, version, reason, dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    )
    hashes = release_hashes(folder)
    entry = mark_withdrawn(published_dir, version, reason, by, at, purged=True, files=hashes)
    delete_data_files(folder, hashes, reason, at, by)
    logged = any(e.get("event") == "purged" and e.get("version") == version and e.get("withdrawn_at") == at
                 for e in read_log(published_dir))  # fmt: skip
    if not logged:
        append_log(published_dir, {"event": "purged", "version": version, **entry})
    (published_dir / PURGE_JOURNAL).unlink(missing_ok=True)
    return {**entry, "redacted": redacted}


def remove_purged_values(published_dir: Path, version: str, reason: str, now: dt.datetime) -> dict[str, int]:
    """Remove from every changelog the values only release ``version`` published (see the module
    docstring); call it before that release's files are deleted. Returns the values removed per
    re-sealed release. The caller holds the publish lock."""
    changelogs = _changelogs(published_dir)
    shown = _shown_values(changelogs, _keys(published_dir))
    if not shown:
        return {}
    purged = _held(published_dir, version, shown)
    for other in _releases_with_files(published_dir, excluding=version):
        for place, values in _held(published_dir, other, shown).items():
            purged[place] = purged.get(place, set()) - values
    purged = {place: values for place, values in purged.items() if values}
    mark = f"[removed: release {version} was purged]"
    at = utc_text(now)
    removed = {}
    for release, changes in changelogs.items():
        count = _redact(changes, purged, _keys(published_dir), mark)
        if count:
            changes.setdefault("redactions", []).append(
                {"purged_release": version, "at": at, "reason": reason, "values_removed": count}
            )
            removed[release] = count
        if count or any(r.get("purged_release") == version for r in changes.get("redactions", [])):
            # Also a release redacted by a purge a crash interrupted: its CHANGES.md and SHA256SUMS follow
            # its changes.json. The purged release itself is not re-sealed: its SHA256SUMS goes into its
            # tombstone as it was published.
            _reseal(published_dir, release, changes, version, at, seal=release != version)
    return removed


def _changelogs(published_dir: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for number in existing_versions(published_dir):
        version = ".".join(map(str, number))
        path = layout.release_dir(published_dir, version) / CHANGES_JSON
        if path.is_file():
            found[version] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _keys(published_dir: Path) -> dict[str, list[str]]:
    """Each resource's primary key, as the newest release's datapackage.json gives it."""
    keys: dict[str, list[str]] = {}
    for number in reversed(existing_versions(published_dir)):
        version = ".".join(map(str, number))
        if (layout.release_dir(published_dir, version) / layout.DATAPACKAGE_JSON).is_file():
            for resource in read_package(published_dir, version).get("resources", []):
                key = resource.get("schema", {}).get("primaryKey") or []
                keys.setdefault(resource["name"], [key] if isinstance(key, str) else list(key))
    return keys


def _shown_values(changelogs: dict[str, dict[str, Any]], keys: dict[str, list[str]]) -> Shown:
    shown: Shown = defaultdict(set)

    def add(resource: str, field: str, value: Any) -> None:
        for text in _texts(value):
            shown[(resource, field)].add(text)

    for changes in changelogs.values():
        for resource, diff in changes.get("resources", {}).items():
            key = keys.get(resource, [])
            for record_key in [*diff.get("added", []), *diff.get("removed", [])]:
                for field, value in _key_parts(key, record_key):
                    add(resource, field, value)
            for record in diff.get("changed", []):
                for field, value in _key_parts(key, record.get("key")):
                    add(resource, field, value)
                for field, values in record.get("fields", {}).items():
                    add(resource, field, values.get("from"))
                    add(resource, field, values.get("to"))
    return dict(shown)


def _key_parts(key: list[str], record_key: Any) -> list[tuple[str, Any]]:
    parts = record_key if isinstance(record_key, list) else [record_key]
    return list(zip(key, parts, strict=False))


def _texts(value: Any) -> list[str]:
    """The texts of a changelog value: a text, or the text items of a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _releases_with_files(published_dir: Path, excluding: str) -> list[str]:
    releases = []
    for number in existing_versions(published_dir):
        version = ".".join(map(str, number))
        if version != excluding and any(layout.release_dir(published_dir, version).glob("*.parquet")):
            releases.append(version)
    return releases


def _held(published_dir: Path, version: str, shown: Shown) -> dict[tuple[str, str], set[str]]:
    """Which of the shown values release ``version``'s Parquet files hold, per resource and field."""
    folder = layout.release_dir(published_dir, version)
    held: dict[tuple[str, str], set[str]] = {}
    by_resource: dict[str, list[str]] = defaultdict(list)
    for resource, field in shown:
        by_resource[resource].append(field)
    for resource, fields in by_resource.items():
        path = folder / f"{resource}.parquet"
        if not path.is_file():
            continue
        present = [f for f in fields if f in pq.read_schema(path).names]
        table = pq.read_table(path, columns=present)
        for field in present:
            column = table.column(field)
            if pa.types.is_list(column.type):
                column = pc.list_flatten(column)
            if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
                continue
            candidates = pa.array(sorted(shown[(resource, field)]), pa.string())
            found = pc.is_in(candidates, value_set=pc.unique(column.combine_chunks()))
            held[(resource, field)] = set(candidates.filter(found).to_pylist())
    return held


def _redact(
    changes: dict[str, Any], purged: dict[tuple[str, str], set[str]], keys: dict[str, list[str]], mark: str
) -> int:
    """Replace the purged values in one changes.json document; return how many were replaced."""
    count = 0

    def scrub(resource: str, field: str, value: Any) -> Any:
        nonlocal count
        gone = purged.get((resource, field), set())
        if isinstance(value, str) and value in gone:
            count += 1
            return mark
        if isinstance(value, list):
            return [scrub(resource, field, item) for item in value]
        return value

    def scrub_key(resource: str, record_key: Any) -> Any:
        key = keys.get(resource, [])
        if isinstance(record_key, list):
            return [scrub(resource, field, part) for field, part in zip(key, record_key, strict=False)]
        return scrub(resource, key[0], record_key) if key else record_key

    for resource, diff in changes.get("resources", {}).items():
        for kind in ("added", "removed"):
            if kind in diff:
                diff[kind] = [scrub_key(resource, record_key) for record_key in diff[kind]]
        for record in diff.get("changed", []):
            record["key"] = scrub_key(resource, record.get("key"))
            for field, values in record.get("fields", {}).items():
                for side in ("from", "to"):
                    if side in values:
                        values[side] = scrub(resource, field, values[side])
    return count


def _reseal(published_dir: Path, version: str, changes: dict[str, Any], purged: str, at: str, seal: bool) -> None:
    """Write the redacted changelog and (when ``seal``) a SHA256SUMS of the same files with their new
    hashes; each only where it differs, so that doing it again changes nothing."""
    folder = layout.release_dir(published_dir, version)
    sums = folder / SHA256SUMS
    before = _sums(sums) if sums.is_file() else {}
    text = json.dumps(changes, indent=2, ensure_ascii=False) + "\n"
    if (folder / CHANGES_JSON).read_text(encoding="utf-8") != text:
        write_text_atomically(folder / CHANGES_JSON, text)
    markdown = changes_markdown(changes)
    if not (folder / CHANGES_MD).is_file() or (folder / CHANGES_MD).read_text(encoding="utf-8") != markdown:
        write_text_atomically(folder / CHANGES_MD, markdown)
    if not before or not seal:
        return  # a release purged now or before: its tombstone keeps the hashes as they were published
    after = dict(before)
    for name in (CHANGES_JSON, CHANGES_MD):
        if name in after:
            after[name] = sha256_file(folder / name)
    if after == before:
        return
    write_text_atomically(sums, "".join(f"{digest}  {name}\n" for name, digest in sorted(after.items())))
    verify_checksums(folder)
    append_log(
        published_dir,
        {
            "event": "resealed",
            "version": version,
            "at": at,
            "reason": f"values that only the purged release {purged} published were removed from {CHANGES_MD} and "
            f"{CHANGES_JSON}",
            "files": {name: {"from": before[name], "to": after[name]} for name in after if before[name] != after[name]},
        },
    )


def _sums(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        found[name] = digest
    return found
