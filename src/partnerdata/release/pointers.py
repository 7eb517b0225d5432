"""The pointers that name the current release: latest.json (the atomic pointer), latest/ and v<MAJOR>/
(symlinks, for stable URLs). Each is switched by a rename, so a reader sees the old release or the new one.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from partnerdata.config import layout
from partnerdata.release.store import (
    current_release,
    existing_versions,
    good_versions,
    read_package,
    verify_checksums,
    version_number,
)
from partnerdata.util.files import fsync_path, write_json


def finish_interrupted_switch(published_dir: Path) -> str | None:
    """A crash between a release's rename and the pointer switch leaves a complete, verified
    release that latest does not name yet: switch to it now rather than publish it twice."""
    good = good_versions(published_dir)  # a withdrawn release never becomes latest again
    if not good:
        return None
    newest = good[-1]
    current = current_release(published_dir)
    if current is not None and version_number(current["version"]) >= version_number(newest):
        return None
    verify_checksums(layout.release_dir(published_dir, newest))  # verified before the rename; a damaged one raises
    _point_at(published_dir, newest)
    return newest


def _point_at(published_dir: Path, version: str) -> None:
    """latest, latest.json and v<MAJOR> to a release on disk, from what its datapackage.json records."""
    package = read_package(published_dir, version)
    provenance = package.get("provenance", {})
    switch_pointers(
        published_dir,
        version,
        package["created"],
        provenance.get("fingerprint", ""),
        provenance.get("content_digest", ""),
    )


def repoint(published_dir: Path) -> None:
    """latest and each v<MAJOR> to the newest good release (of that major); gone when there is none."""
    good = good_versions(published_dir)
    majors = {int(v.split(".")[0]) for v in (".".join(map(str, t)) for t in existing_versions(published_dir))}
    for major in majors:
        of_major = [v for v in good if int(v.split(".")[0]) == major]
        link = layout.major_link(published_dir, major)
        if of_major:
            _replace_symlink(link, Path(layout.RELEASES) / of_major[-1])
        else:
            link.unlink(missing_ok=True)
    if not good:
        layout.latest_link(published_dir).unlink(missing_ok=True)
        layout.latest_json(published_dir).unlink(missing_ok=True)
        return
    _point_at(published_dir, good[-1])


def switch_pointers(published_dir: Path, version: str, created: str, fingerprint: str, content_digest: str) -> None:
    target = Path(layout.RELEASES) / version
    _replace_symlink(layout.latest_link(published_dir), target)
    major = int(version.split(".")[0])
    _replace_symlink(layout.major_link(published_dir, major), target)
    pointer = {
        "version": version,
        "path": str(target),
        "created": created,
        "fingerprint": fingerprint,
        "content_digest": content_digest,
    }
    temporary = published_dir / f".latest.json.{uuid.uuid4().hex[:8]}"
    write_json(temporary, pointer)
    fsync_path(temporary)
    os.replace(temporary, layout.latest_json(published_dir))
    fsync_path(published_dir)


def _replace_symlink(link: Path, target: Path) -> None:
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(target, temporary)
    os.replace(temporary, link)
