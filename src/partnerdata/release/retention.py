"""Retention: the oldest releases beyond ``keep_releases`` are removed, never one a pointer names."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from partnerdata.config import layout
from partnerdata.release.store import (
    existing_versions,
)
from partnerdata.release.withdraw import append_log
from partnerdata.util.clock import utc_text


def prune_releases(published_dir: Path, keep: int | None, now: dt.datetime) -> list[str]:
    """Remove the oldest releases beyond the newest `keep`; never one that latest or a v<MAJOR>
    names. None keeps every release. Each removal is logged."""
    if keep is None:
        return []
    versions = [".".join(map(str, v)) for v in existing_versions(published_dir)]
    pinned = {
        Path(os.readlink(link)).name
        for link in [layout.latest_link(published_dir), *published_dir.glob("v[0-9]*")]
        if link.is_symlink()
    }
    removed = []
    for version in versions[: max(0, len(versions) - keep)]:
        if version in pinned:
            continue
        shutil.rmtree(layout.release_dir(published_dir, version))
        at = utc_text(now)
        append_log(
            published_dir, {"event": "removed", "version": version, "at": at, "reason": f"retention_releases: {keep}"}
        )
        removed.append(version)
    return removed
