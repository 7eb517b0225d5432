"""published/ in a bucket: a local working copy pulled from it, and the changes pushed back in the
order that keeps the guarantees of published/ on disk.

The library works on a folder; a bucket is worked on through a working copy of it (``pull``): every
object, except the data files (CSV, Parquet) of releases that no pointer names, which stay in the
bucket (``Pulled.remote``). On disk, latest/ and v<MAJOR>/ are symbolic links; in a bucket, where
there are none, they are copies, and the working copy has the links again (a copy's
datapackage.json names its release).

``push`` then writes what changed, in this order, so that a reader never finds a pointer to
something incomplete:

1. each new release's files, write-once (a conditional write: an object that exists already is
   refused, never overwritten), datapackage.json and SHA256SUMS last; then every one is checked:
   the SHA-256 the service computed on arrival must be the file's;
2. withdrawn.json and log.jsonl;
3. latest.json, the atomic pointer (one object: a reader gets the old one or the new one);
4. the copies latest/ and v<MAJOR>/, made by the service from the release's own objects, then the
   files of the release they held before that the new one lacks are deleted;
5. the catalogue (index.html and the rest);
6. what the working copy no longer has (a release removed by retention, a purged file), last.

A crash in 1 leaves objects of a release no pointer names and with no SHA256SUMS: the next pull
leaves them out of the working copy, and its push deletes them (``Pulled.orphans``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from partnerdata.config import layout
from partnerdata.storage.bucket import Bucket, ObjectInfo, StorageError, file_digest

SHA256SUMS = "SHA256SUMS"
TOMBSTONE_JSON = "TOMBSTONE.json"
WITHDRAWN_JSON = "withdrawn.json"
LOG_JSONL = "log.jsonl"
DATA_SUFFIXES = (".csv", ".parquet")
COPY = re.compile(r"^(latest|v\d+)$")  # the pointers that are links on disk and copies in a bucket
RELEASE_FILE = re.compile(r"^releases/(\d+\.\d+\.\d+)/(.+)$")
LAST_IN_A_RELEASE = ("datapackage.json", SHA256SUMS)  # a release with both is complete
Progress = Callable[[str], None]


@dataclass
class Pulled:
    """What the bucket held when the working copy was pulled."""

    objects: dict[str, ObjectInfo]  # outside the copies: relative path -> info
    copies: dict[str, str]  # "latest", "v1", ... -> the version the copy holds ("" when it is incomplete)
    remote: set[str] = field(default_factory=set)  # objects left in the bucket (old releases' data files)
    orphans: set[str] = field(default_factory=set)  # objects of a release whose upload never finished


def pull(bucket: Bucket, local: Path, progress: Progress | None = None, everything: bool = False) -> Pulled:
    """Make ``local`` a working copy of the bucket's published/ (module docstring); an object whose
    bytes are there already (same MD5 as its ETag) is not downloaded again. ``everything``: the data
    files of every release too (a purge reads and re-seals releases no pointer names)."""
    local.mkdir(parents=True, exist_ok=True)
    listing = bucket.listing()
    # Not the copies, and not what is hidden (the lease: storage/lease.py).
    objects = {rel: info for rel, info in listing.items() if not COPY.match(rel.split("/", 1)[0]) and rel[0] != "."}
    copies = _copies(bucket, listing, objects)
    complete = {m.group(1) for rel in objects if (m := RELEASE_FILE.match(rel)) and m.group(2) == SHA256SUMS}
    tombstoned = {m.group(1) for rel in objects if (m := RELEASE_FILE.match(rel)) and m.group(2) == TOMBSTONE_JSON}
    pointed = set(copies.values())
    latest = bucket.get(layout.LATEST_JSON)
    if latest:
        pointed.add(str(json.loads(latest).get("version")))
    pulled = Pulled(objects, copies)
    wanted = []
    for rel in sorted(objects):
        release = RELEASE_FILE.match(rel)
        if release and release.group(1) not in complete | tombstoned:
            pulled.orphans.add(rel)
        elif release and rel.endswith(DATA_SUFFIXES) and release.group(1) not in pointed and not everything:
            pulled.remote.add(rel)
        else:
            wanted.append(rel)
    downloaded = 0
    for rel in wanted:
        target = local / rel
        if not (target.is_file() and _md5(target) == objects[rel].etag):
            bucket.download(rel, target)
            downloaded += 1
    kept = set(wanted) | pulled.remote  # an old release's data file already here is a good copy: kept
    for path in sorted(_files(local), reverse=True):
        if path not in kept:
            (local / path).unlink()
    for name, version in copies.items():
        if version:
            _link(local / name, Path(layout.RELEASES) / version)
    for link in local.iterdir():
        if link.is_symlink() and COPY.match(link.name) and link.name not in copies:
            link.unlink()
    if progress:
        progress(f"pulled {bucket.url}: {len(objects)} objects, {downloaded} downloaded, {len(pulled.remote)} left in "
                 f"the bucket (data of releases no pointer names), {len(pulled.orphans)} of unfinished uploads")  # fmt: skip
    return pulled


def push(
    bucket: Bucket, local: Path, pulled: Pulled, progress: Progress | None = None, rewrite: bool = False
) -> list[str]:
    """Write the working copy's changes to the bucket (module docstring); the relative paths written.
    ``rewrite``: a purge's push, which may rewrite the sealed files of the releases it re-sealed."""
    now = {rel: local / rel for rel in _files(local)}
    if pulled.orphans:  # first: the release they belong to may be published again, under the same version
        bucket.delete(sorted(pulled.orphans))
        pulled.objects = {rel: info for rel, info in pulled.objects.items() if rel not in pulled.orphans}
        pulled.orphans = set()
        if progress:
            progress(f"deleted the objects of an unfinished upload from {bucket.url}")
    changed = sorted(
        rel for rel, path in now.items() if rel not in pulled.objects or _md5(path) != pulled.objects[rel].etag
    )
    written: list[str] = []
    releases = sorted({m.group(1) for rel in changed if (m := RELEASE_FILE.match(rel))}, key=_version_key)
    for version in releases:  # 1
        files = [rel for rel in changed if rel.startswith(f"releases/{version}/")]
        sealed = _sealed(local / "releases" / version)
        rewritten = [rel for rel in files if rel in pulled.objects and rel.rsplit("/", 1)[1] in sealed]
        if rewritten and not rewrite:
            raise StorageError(
                f"{bucket.url}/{rewritten[0]}: a release's files are write-once, and the working copy changed it; "
                "nothing of that release was written"
            )
        files.sort(key=lambda rel: (rel.rsplit("/", 1)[1] in LAST_IN_A_RELEASE, rel.endswith(SHA256SUMS), rel))
        release_files = [rel for rel in files if rel.rsplit("/", 1)[1] in sealed]
        for rel in release_files:
            bucket.upload(rel, now[rel], create_only=rel not in pulled.objects)
        for rel in release_files:
            try:
                bucket.verify(rel, now[rel])
            except StorageError as error:
                raise StorageError(
                    f"{error}; the pointer was not moved, and the next run uploads the release again"
                ) from None
        pages = [rel for rel in files if rel not in release_files]  # the catalogue's page of the release
        for rel in pages:
            bucket.upload(rel, now[rel])
        written += files
        if progress:
            progress(f"uploaded and verified release {version}: {len(release_files)} files, {len(pages)} pages")
    for name in (WITHDRAWN_JSON, LOG_JSONL, layout.LATEST_JSON):  # 2, 3
        if name in changed:
            bucket.upload(name, now[name])
            written.append(name)
    written += _push_copies(bucket, local, pulled)  # 4
    rest = [rel for rel in changed if rel not in written]  # 5
    for rel in rest:
        bucket.upload(rel, now[rel])
    written += rest
    gone = sorted(rel for rel in pulled.objects if rel not in now and _removed(rel, local, pulled))  # 6
    copies_gone = [name for name in pulled.copies if not (local / name).is_symlink()]
    for name in copies_gone:
        gone += sorted(bucket.listing(name + "/"))  # noqa: PERF401 (keys: a list of them is what delete takes)
    bucket.delete(gone)
    if progress:
        progress(f"pushed to {bucket.url}: {len(written)} objects written, {len(gone)} deleted")
    return written


def _push_copies(bucket: Bucket, local: Path, pulled: Pulled) -> list[str]:
    """Each copy made to hold exactly its release's files: the ones it lacks or holds other bytes of are
    copied (datapackage.json and SHA256SUMS last), then the ones its release lacks are deleted."""
    written = []
    etags = {rel: info.etag for rel, info in pulled.objects.items()}
    etags.update({rel: _md5(local / rel) for rel in _files(local) if rel.startswith("releases/")})
    for link in sorted(p for p in local.iterdir() if p.is_symlink() and COPY.match(p.name)):
        release = f"releases/{Path(os.readlink(link)).name}/"
        wanted = {rel[len(release) :]: etag for rel, etag in etags.items() if rel.startswith(release)}
        held = {rel[len(link.name) + 1 :]: info.etag for rel, info in bucket.listing(link.name + "/").items()}
        stale = sorted(
            (n for n, etag in wanted.items() if held.get(n) != etag),
            key=lambda n: (n in LAST_IN_A_RELEASE, n == SHA256SUMS, n),
        )
        for name in stale:
            bucket.copy(release + name, f"{link.name}/{name}")
        written += [f"{link.name}/{name}" for name in stale]
        bucket.delete(sorted(f"{link.name}/{name}" for name in held if name not in wanted))
    return written


def _sealed(release: Path) -> set[str]:
    """The files of a release that are write-once: those its SHA256SUMS lists, and SHA256SUMS itself (the
    rest of the folder is the catalogue's: the release's pages)."""
    try:
        lines = (release / SHA256SUMS).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {SHA256SUMS}
    return {SHA256SUMS, *(line.split("  ", 1)[1] for line in lines if "  " in line)}


def _copies(bucket: Bucket, listing: dict[str, ObjectInfo], objects: dict[str, ObjectInfo]) -> dict[str, str]:
    """Each copy's release, by its datapackage.json; "" for a copy that does not hold exactly its files."""
    copies = {}
    for name in sorted({rel.split("/", 1)[0] for rel in listing if COPY.match(rel.split("/", 1)[0])}):
        package = bucket.get(f"{name}/{layout.DATAPACKAGE_JSON}")
        version = json.loads(package).get("version") if package else None
        if isinstance(version, str) and f"releases/{version}/{layout.DATAPACKAGE_JSON}" in objects:
            copies[name] = version if _same_files(listing, name, f"releases/{version}") else ""
        else:
            copies[name] = ""
    return copies


def _same_files(listing: dict[str, ObjectInfo], copy: str, release: str) -> bool:
    """Whether a copy holds exactly its release's files (a push stopped while copying leaves it half done)."""

    def files(folder: str) -> dict[str, str]:
        return {rel[len(folder) + 1 :]: info.etag for rel, info in listing.items() if rel.startswith(folder + "/")}

    return files(copy) == files(release)


def _removed(rel: str, local: Path, pulled: Pulled) -> bool:
    """Whether an object the working copy lacks was removed by the work (and is deleted from the bucket),
    rather than left in the bucket by the pull: an old release's data file goes only with its release."""
    if rel not in pulled.remote:
        return True
    release = RELEASE_FILE.match(rel)
    if release is None:
        return False
    folder = local / "releases" / release.group(1)
    return not folder.is_dir() or (folder / TOMBSTONE_JSON).is_file()  # a purge deletes its data files


def _files(local: Path) -> list[str]:
    """The working copy's files, relative, "/"-separated; not the links, not what is hidden (a lock, a
    temporary file, a staging folder)."""
    found = []
    for folder, folders, names in os.walk(local):
        base = Path(folder)
        folders[:] = [d for d in folders if not d.startswith(".") and not (base / d).is_symlink()]
        for name in names:
            path = base / name
            if not name.startswith(".") and not path.is_symlink():
                found.append(path.relative_to(local).as_posix())
    return found


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    temporary = link.with_name(f".{link.name}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _md5(path: Path) -> str:
    return file_digest(path, hashlib.md5(usedforsecurity=False))
