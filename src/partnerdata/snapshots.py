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
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from partnerdata import __version__, paths
from partnerdata.config import Source
from partnerdata.errors import SourceError

CHUNK = 1 << 16


@dataclass(frozen=True)
class Snapshot:
    source_id: str
    folder: Path
    body: Path
    sha256: str
    bytes: int
    fetched_at: dt.datetime

    def age_days(self, now: dt.datetime) -> float:
        return round((now - self.fetched_at).total_seconds() / 86400, 3)


def take_snapshot(source: Source, raw_dir: Path, now: dt.datetime) -> tuple[Snapshot, bool]:
    """Fetch the source; return its snapshot and whether it is new (False: same bytes as the last one)."""
    started = time.monotonic()
    folder = paths.source_raw_dir(raw_dir, source.source_id)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=folder) as incoming:
        body = paths.snapshot_body(Path(incoming), source.format)
        response_meta = _download(source, body)
        digest, size = _sha256(body)
        previous = latest_snapshot(raw_dir, source.source_id)
        if previous is not None and previous.sha256 == digest:
            return previous, False
        meta = {
            "source_id": source.source_id,
            "origin": source.url_template,  # as written in sources.yaml: ${VAR} stays unexpanded
            "format": source.format,
            "body": body.name,
            "sha256": digest,
            "bytes": size,
            "fetched_at": now.astimezone(dt.UTC).isoformat(),
            "duration_seconds": round(time.monotonic() - started, 3),
            "partnerdata_version": __version__,
            **response_meta,
        }
        (Path(incoming) / paths.SNAPSHOT_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        target = paths.snapshot_dir(raw_dir, source.source_id, now)
        if target.exists():
            raise SourceError(
                source.source_id, f"snapshot folder {target} exists already; snapshots are never overwritten"
            )
        os.rename(incoming, target)
        os.makedirs(incoming)  # TemporaryDirectory wants something to clean up
    return _snapshot_from(target), True


def latest_snapshot(raw_dir: Path, source_id: str) -> Snapshot | None:
    """The newest complete snapshot of a source, or None."""
    folder = paths.source_raw_dir(raw_dir, source_id)
    if not folder.is_dir():
        return None
    candidates = sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / paths.SNAPSHOT_META).is_file()
    )
    return _snapshot_from(candidates[-1]) if candidates else None


def snapshot_at(folder: Path) -> Snapshot:
    return _snapshot_from(folder)


def _snapshot_from(folder: Path) -> Snapshot:
    meta = json.loads((folder / paths.SNAPSHOT_META).read_text(encoding="utf-8"))
    return Snapshot(
        source_id=meta["source_id"],
        folder=folder,
        body=folder / meta["body"],
        sha256=meta["sha256"],
        bytes=meta["bytes"],
        fetched_at=dt.datetime.fromisoformat(meta["fetched_at"]),
    )


def _download(source: Source, target: Path) -> dict[str, Any]:
    """Copy a local file or GET a URL into target, stopping at max_bytes."""
    if not source.is_remote:
        path = Path(source.url)
        if path.stat().st_size > source.max_bytes:
            raise SourceError(source.source_id, f"file is larger than max_bytes ({source.max_bytes} bytes)")
        shutil.copyfile(path, target)
        return {}
    try:
        with requests.get(
            source.url, headers=dict(source.headers), timeout=source.timeout_seconds, stream=True
        ) as response:
            if response.status_code != 200:
                raise SourceError(source.source_id, f"HTTP {response.status_code} from {source.url_template}")
            received = 0
            with open(target, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    received += len(chunk)
                    if received > source.max_bytes:
                        raise SourceError(
                            source.source_id,
                            f"body is larger than max_bytes ({source.max_bytes} bytes); stopped reading",
                        )
                    out.write(chunk)
            return {
                "status": response.status_code,
                "content_type": response.headers.get("Content-Type"),
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
            }
    except requests.RequestException as error:
        # The exception text can hold the expanded URL; name the template instead.
        raise SourceError(source.source_id, f"cannot fetch {source.url_template}: {type(error).__name__}") from None


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
