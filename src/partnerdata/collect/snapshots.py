"""Raw snapshots: the bytes a partner delivered, kept write-once with their provenance.

raw/<source_id>/<UTC timestamp>/ holds body.<format> and meta.json. A snapshot is
written into a hidden folder and renamed into place, so a crash never leaves a
half-written snapshot; an existing snapshot is never overwritten. A body whose
sha256 equals the last snapshot's is not stored again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnerdata import __version__
from partnerdata.collect.fetch import Download, download
from partnerdata.config import layout
from partnerdata.config.sources import Source
from partnerdata.errors import SourceError
from partnerdata.util.clock import utc_text
from partnerdata.util.files import fsync_folder, fsync_path

CHUNK = 1 << 16
DELIVERY_PREFIX = ".delivery-"  # a delivery being written into raw/<source_id>/ (renamed into place whole)


@dataclass(frozen=True)
class Snapshot:
    source_id: str
    folder: Path
    bodies: tuple[Path, ...]  # one file, or one per page of an API
    sha256: str
    bytes: int
    fetched_at: dt.datetime
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return self.folder.name

    def age_days(self, now: dt.datetime) -> float:
        return round((now - self.fetched_at).total_seconds() / 86400, 3)


def take_snapshot(source: Source, raw_dir: Path, now: dt.datetime) -> tuple[Snapshot, str]:
    """Fetch the source and keep what arrived, unless it is what the last snapshot holds.

    Returns the snapshot that holds the source's current data and how the check went:
    ``new-snapshot``, ``not-modified`` (HTTP 304) or ``same-bytes``. Every check is
    logged in raw/<source_id>/checks.jsonl; a failure raises SourceError (logged too).
    """
    started = time.monotonic()
    folder = layout.source_raw_dir(raw_dir, source.source_id)
    folder.mkdir(parents=True, exist_ok=True)
    previous = latest_snapshot(raw_dir, source.source_id)
    try:
        with tempfile.TemporaryDirectory(prefix=".incoming-", dir=folder) as incoming:
            if source.is_remote:
                fetched = download(source, Path(incoming), previous.meta.get("request") if previous else None)
            else:
                fetched = _copy_local(source, Path(incoming))
            if fetched.not_modified and previous is not None:
                _checked(raw_dir, source, now, "not-modified", snapshot=previous.name)
                return previous, "not-modified"
            digest, size = _sha256_pages(fetched.pages)
            if previous is not None and previous.sha256 == digest:
                _checked(raw_dir, source, now, "same-bytes", snapshot=previous.name)
                return previous, "same-bytes"
            meta = _meta(source, fetched, digest, size, now, round(time.monotonic() - started, 3))
            (Path(incoming) / layout.SNAPSHOT_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            target = layout.snapshot_dir(raw_dir, source.source_id, now)
            _move_into_place(source, Path(incoming), target)
    except SourceError as error:
        _checked(raw_dir, source, now, "failed", error=str(error))
        raise
    _checked(raw_dir, source, now, "new-snapshot", snapshot=target.name)
    return _snapshot_from(target), "new-snapshot"


def deliver_snapshot(
    source: Source, raw_dir: Path, body: Path, now: dt.datetime, delivery: dict[str, Any]
) -> tuple[Snapshot, str]:
    """A file a partner delivered (through the inbox) becomes the source's next snapshot, as a fetched file
    does: write-once, with ``delivery`` (who, the file's name, the verdict of its check) in meta.json and in
    the check logged in checks.jsonl. Returns the snapshot and ``new-snapshot``, or the newest snapshot and
    ``same-bytes`` when it holds these bytes already."""
    folder = layout.source_raw_dir(raw_dir, source.source_id)
    folder.mkdir(parents=True, exist_ok=True)
    previous = latest_snapshot(raw_dir, source.source_id)
    digest, size = _sha256(body)
    if previous is not None and previous.sha256 == digest:
        _checked(raw_dir, source, now, "same-bytes", snapshot=previous.name, delivery=delivery)
        return previous, "same-bytes"
    # Not ".incoming-": a run removes those as its own crashed downloads, and a delivery may come during a run.
    with tempfile.TemporaryDirectory(prefix=DELIVERY_PREFIX, dir=folder) as incoming:
        target_body = Path(incoming) / f"body.{source.format}"
        shutil.copyfile(body, target_body)
        meta = _meta(source, Download(not_modified=False, pages=[target_body]), digest, size, now, 0.0)
        meta["delivery"] = delivery
        (Path(incoming) / layout.SNAPSHOT_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        target = layout.snapshot_dir(raw_dir, source.source_id, now)
        _move_into_place(source, Path(incoming), target)
    _checked(raw_dir, source, now, "new-snapshot", snapshot=target.name, sha256=digest, delivery=delivery)
    return _snapshot_from(target), "new-snapshot"


def _checked(raw_dir: Path, source: Source, now: dt.datetime, outcome: str, **fields: Any) -> None:
    """A check of the source, in its checks.jsonl: what the fetch found, and the snapshot or the error."""
    record_event(raw_dir, source.source_id, {"event": "check", "at": utc_text(now), "outcome": outcome, **fields})


def _meta(
    source: Source, fetched: Download, digest: str, size: int, now: dt.datetime, seconds: float
) -> dict[str, Any]:
    """A snapshot's meta.json: where its bytes came from, their digest and size, when, and how."""
    meta: dict[str, Any] = {
        "source_id": source.source_id,
        "origin": source.url_template,  # as written in sources.yaml: ${VAR} stays unexpanded
        "format": source.format,
        "bodies": [page.name for page in fetched.pages],
        "sha256": digest,
        "bytes": size,
        "fetched_at": utc_text(now, precise=True),
        "duration_seconds": seconds,
        "partnerdata_version": __version__,
    }
    if fetched.meta:
        meta["request"] = fetched.meta
    return meta


def _move_into_place(source: Source, incoming: Path, target: Path) -> None:
    """The complete download becomes the snapshot folder, flushed first: write-once, never overwritten."""
    if target.exists():
        raise SourceError(source.source_id, f"snapshot folder {target} exists already; snapshots are never overwritten")
    fsync_folder(incoming)
    os.rename(incoming, target)
    fsync_path(target.parent)
    os.makedirs(incoming)  # TemporaryDirectory wants something to clean up


def list_snapshots(raw_dir: Path, source_id: str) -> list[Snapshot]:
    """The source's complete snapshots, oldest first."""
    folder = layout.source_raw_dir(raw_dir, source_id)
    if not folder.is_dir():
        return []
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / layout.SNAPSHOT_META).is_file()
    )
    return [_snapshot_from(p) for p in found]


def latest_snapshot(raw_dir: Path, source_id: str) -> Snapshot | None:
    """The newest complete snapshot of a source, or None."""
    snapshots = list_snapshots(raw_dir, source_id)
    return snapshots[-1] if snapshots else None


def snapshot_at(folder: Path) -> Snapshot:
    return _snapshot_from(folder)


def record_event(raw_dir: Path, source_id: str, event: dict[str, Any]) -> None:
    """Append one line to raw/<source_id>/checks.jsonl: checks, verdicts, acceptances.

    Snapshots are write-once, so what happened to them afterwards is logged here. A line
    torn by a crash is ended first, so it cannot swallow the next event."""
    log = layout.source_raw_dir(raw_dir, source_id) / layout.CHECKS_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a+b") as out:
        out.seek(0, os.SEEK_END)
        torn = out.tell() > 0 and (out.seek(-1, os.SEEK_END), out.read(1))[1] != b"\n"
        out.write((b"\n" if torn else b"") + json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()
        os.fsync(out.fileno())


def read_events(raw_dir: Path, source_id: str) -> list[dict[str, Any]]:
    """The logged events, oldest first; a line torn by a crash is skipped."""
    log = layout.source_raw_dir(raw_dir, source_id) / layout.CHECKS_LOG
    if not log.is_file():
        return []
    events = []
    with open(log, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and "event" in event:
                events.append(event)
    return events


def _snapshot_from(folder: Path) -> Snapshot:
    meta_file = folder / layout.SNAPSHOT_META
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return Snapshot(
            source_id=meta["source_id"],
            folder=folder,
            bodies=tuple(folder / name for name in meta["bodies"]),
            sha256=meta["sha256"],
            bytes=meta["bytes"],
            fetched_at=dt.datetime.fromisoformat(meta["fetched_at"]),
            meta=meta,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{meta_file}: not a snapshot record this version of partnerdata can read ({error!r}); "
            "move the folder out of raw/ (snapshots are never rewritten in place)"
        ) from None


def _copy_local(source: Source, folder: Path) -> Download:
    """Copy a local file, bounded like a download: a regular file only (``/dev/zero`` or a FIFO
    would never end), at most max_bytes, within max_total_seconds."""
    target = folder / f"body.{source.format}"
    deadline = time.monotonic() + source.max_total_seconds
    size = 0
    try:
        handle = os.open(source.url, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as error:
        raise SourceError(source.source_id, f"cannot read {source.url_template}: {error.strerror}") from None
    with os.fdopen(handle, "rb") as body, open(target, "wb") as out:
        if not stat.S_ISREG(os.fstat(body.fileno()).st_mode):
            raise SourceError(source.source_id, f"{source.url_template} is not a regular file; not read")
        while chunk := _read_local(source, body):
            size += len(chunk)
            if size > source.max_bytes:
                raise SourceError(
                    source.source_id, f"file is larger than max_bytes ({source.max_bytes} bytes); stopped reading"
                )
            if time.monotonic() > deadline:
                raise SourceError(
                    source.source_id,
                    f"gave up: max_total_seconds ({source.max_total_seconds:g} s) spent reading the file",
                )
            out.write(chunk)
    if size == 0:
        raise SourceError(source.source_id, f"{source.url_template} is empty")
    return Download(not_modified=False, pages=[target])


def _read_local(source: Source, body: Any) -> bytes:
    try:
        return body.read(CHUNK)
    except OSError as error:
        raise SourceError(source.source_id, f"cannot read {source.url_template}: {error.strerror}") from None


def remove_incoming_leftovers(raw_dir: Path, source_id: str) -> list[str]:
    """A run killed during a download leaves raw/<source_id>/.incoming-*: never a snapshot (those
    are renamed into place whole), so the next run removes them. The caller holds raw/'s lock."""
    folder = layout.source_raw_dir(raw_dir, source_id)
    removed = []
    for leftover in sorted(folder.glob(".incoming-*")) if folder.is_dir() else []:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
        removed.append(leftover.name)
    return removed


def _sha256_pages(pages: list[Path]) -> tuple[str, int]:
    """The sha256 of a single body; for several pages, the sha256 of their sha256s in order."""
    if len(pages) == 1:
        return _sha256(pages[0])
    digests = [_sha256(page) for page in pages]
    combined = hashlib.sha256("".join(d for d, _ in digests).encode()).hexdigest()
    return combined, sum(size for _, size in digests)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
