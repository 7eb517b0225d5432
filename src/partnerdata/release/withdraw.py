"""Withdrawing a release: marked in withdrawn.json, latest and v<MAJOR> moved back to the newest good
release, the event appended to log.jsonl. A withdrawal never changes a release's files (a purge,
``release.purge``, deletes its data files and keeps a tombstone).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

from partnerdata.errors import UsageError
from partnerdata.release.pointers import repoint
from partnerdata.release.store import (
    LOG_JSONL,
    SHA256SUMS,
    TOMBSTONE_JSON,
    WITHDRAWN_JSON,
    checked_version,
    coverage_of,
    withdrawn_releases,
)
from partnerdata.util.clock import utc_text
from partnerdata.util.files import fsync_path, write_json_atomically


def withdraw_release(published_dir: Path, version: str, reason: str, by: str, now: dt.datetime) -> dict[str, Any]:
    """Mark a release as withdrawn; move latest and its v<MAJOR> back to the newest good release.
    A release's files are never changed by it (a purge is release.purge.purge_release). The event is
    appended to published/log.jsonl. The caller holds the publish lock."""
    version = checked_version(published_dir, version)
    reason = checked_reason(reason)
    withdrawn = withdrawn_releases(published_dir)
    if version in withdrawn:
        raise UsageError(f"release {version} was withdrawn already, on {withdrawn[version]['withdrawn_at']}")
    entry = mark_withdrawn(published_dir, version, reason, by, utc_text(now), purged=False)
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
    repoint(published_dir)
    return entry


def delete_data_files(folder: Path, hashes: dict[str, str], reason: str, at: str, by: str) -> None:
    """Delete the release's data files; TOMBSTONE.json keeps the reason and the hashes of every file
    that was there (idempotent: a run killed halfway does the rest)."""
    if not (folder / TOMBSTONE_JSON).is_file():
        # What the release covered (countries, first and last date) stays: a portal's record of it keeps its place.
        try:
            coverage = coverage_of(folder, json.loads((folder / "datapackage.json").read_text(encoding="utf-8")))
        except Exception:  # noqa: BLE001 (coverage is optional: nothing may keep a takedown from completing)
            coverage = None
        tombstone = {"purged_at": at, "by": by, "reason": reason, "files": hashes, "coverage": coverage}
        write_json_atomically(folder / TOMBSTONE_JSON, tombstone)
    for name in hashes:
        # SHA256SUMS names files of this folder only: a name with a path in it is never followed.
        if name.endswith((".csv", ".parquet")) and name == Path(name).name and not name.startswith("."):
            (folder / name).unlink(missing_ok=True)
    (folder / SHA256SUMS).unlink(missing_ok=True)  # it lists files that are gone; the tombstone keeps it
    fsync_path(folder)


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


def append_log(published_dir: Path, event: dict[str, Any]) -> None:
    """published/log.jsonl, append-only: every release published, withdrawn or purged."""
    with open(published_dir / LOG_JSONL, "a", encoding="utf-8") as log:
        log.write(json.dumps(event, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())
