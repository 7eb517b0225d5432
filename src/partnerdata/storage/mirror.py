"""Folders of a bucket location mirrored to a local folder and back: how raw/ in a bucket is worked on.

A task works on the folders it needs (one source's ``<source_id>/``, or every source's), pulled into
a local mirror (``pull``): every object, or all but the bulky ones a step does not read (a snapshot's
bodies, when only its meta.json and the source's checks.jsonl are needed), which stay in the bucket.
``push`` writes back what the work changed, in the order that keeps raw/'s guarantees:

1. a new snapshot's files, write-once (a conditional write), its meta.json last: a snapshot is
   complete once its meta.json is there, so a crash leaves no snapshot a run would read half;
2. every other changed file (checks.jsonl, the append-only log of checks and verdicts);
3. what the mirror no longer has (a snapshot removed by retention), deleted, last.

A pull leaves out the files of a snapshot folder without meta.json (an upload a crash stopped), and
the next push deletes them; what is hidden (a name starting with ".": a lock, a download in
progress, the lease) is never pulled, pushed or deleted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from partnerdata.storage.bucket import Bucket, ObjectInfo, StorageError, file_digest

COMPLETE_MARK = "meta.json"  # the file that makes a folder of write-once files complete (written last)
Wanted = Callable[[str], bool]  # whether a relative path is downloaded (else it stays in the bucket)


@dataclass
class Mirrored:
    """What the bucket held under the mirrored folders when they were pulled."""

    folders: tuple[str, ...]
    objects: dict[str, ObjectInfo]
    remote: set[str] = field(default_factory=set)  # left in the bucket, not downloaded
    orphans: set[str] = field(default_factory=set)  # files of a folder whose upload never finished


def pull(bucket: Bucket, local: Path, folders: Sequence[str], wanted: Wanted | None = None) -> Mirrored:
    """Make ``local``'s ``folders`` a mirror of the bucket's: download what ``wanted`` admits and is not
    there already (the same MD5 as its ETag), remove the local files the bucket does not have."""
    mirrored = Mirrored(tuple(folders), {})
    for folder in folders:
        listing = {rel: info for rel, info in bucket.listing(f"{folder}/").items() if not _hidden(rel)}
        mirrored.objects.update(listing)
        complete = {rel.rsplit("/", 1)[0] for rel in listing if rel.endswith(f"/{COMPLETE_MARK}")}
        for rel, info in sorted(listing.items()):
            parent = rel.rsplit("/", 1)[0]
            if parent != folder and parent not in complete:
                mirrored.orphans.add(rel)
            elif wanted is not None and not wanted(rel):
                mirrored.remote.add(rel)
            else:
                target = local / rel
                if not (target.is_file() and _md5(target) == info.etag):
                    bucket.download(rel, target)
        kept = set(listing) - mirrored.orphans
        for rel in _files(local, folder):
            if rel not in kept:
                (local / rel).unlink()
        _remove_empty_folders(local / folder)
    return mirrored


def push(bucket: Bucket, local: Path, mirrored: Mirrored, write_once: Callable[[str], bool]) -> list[str]:
    """Write the mirror's changes to the bucket (module docstring); the relative paths written.
    ``write_once``: whether a path is write-once (a conditional write; a changed one is refused)."""
    now = {rel: local / rel for folder in mirrored.folders for rel in _files(local, folder)}
    if mirrored.orphans:
        bucket.delete(sorted(mirrored.orphans))
        mirrored.orphans = set()
    changed = sorted(
        rel for rel, path in now.items() if rel not in mirrored.objects or _md5(path) != mirrored.objects[rel].etag
    )
    rewritten = [rel for rel in changed if rel in mirrored.objects and write_once(rel)]
    if rewritten:
        raise StorageError(
            f"{bucket.url}/{rewritten[0]}: write-once, and the work changed it; nothing more was written"
        )
    once = sorted((rel for rel in changed if write_once(rel)), key=lambda rel: (rel.endswith(f"/{COMPLETE_MARK}"), rel))
    for rel in once:  # 1
        bucket.upload(rel, now[rel], create_only=True)
        bucket.verify(rel, now[rel])
    for rel in changed:  # 2
        if not write_once(rel):
            bucket.upload(rel, now[rel])
    gone = sorted(rel for rel in mirrored.objects if rel not in now and _removed(rel, local, mirrored))  # 3
    bucket.delete(gone)
    mirrored.objects = {rel: info for rel, info in mirrored.objects.items() if rel not in gone}
    return changed


def _removed(rel: str, local: Path, mirrored: Mirrored) -> bool:
    """Whether an object the mirror lacks was removed by the work: a file left in the bucket by the pull
    goes only with its folder."""
    return rel not in mirrored.remote or not (local / rel).parent.is_dir()


def _files(local: Path, folder: str) -> list[str]:
    """The files under ``local/folder``, relative to ``local``, "/"-separated; not what is hidden."""
    found = []
    for parent, folders, names in os.walk(local / folder):
        base = Path(parent)
        folders[:] = [d for d in folders if not d.startswith(".") and not (base / d).is_symlink()]
        found += [
            (base / name).relative_to(local).as_posix()
            for name in names
            if not name.startswith(".") and not (base / name).is_symlink()
        ]
    return found


def _remove_empty_folders(top: Path) -> None:
    if not top.is_dir():
        return
    for parent, folders, names in os.walk(top, topdown=False):
        if parent != str(top) and not folders and not names:
            Path(parent).rmdir()


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def _md5(path: Path) -> str:
    return file_digest(path, hashlib.md5(usedforsecurity=False))
