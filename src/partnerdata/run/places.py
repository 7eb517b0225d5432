"""The places a run writes, held for the run: local folders under their locks; a published/ in a
bucket as a working copy under the location's lease, pushed back when the run ends; a raw/ in a
bucket under its lease (each step works on a mirror of it: run/remote.py); a reports/ in a bucket
written locally and uploaded when the reports are complete.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from partnerdata.collect.lock import folder_lock
from partnerdata.errors import UsageError
from partnerdata.release.pointers import repoint
from partnerdata.run.plan import RunPaths
from partnerdata.storage.bucket import Bucket, is_url, parse_url
from partnerdata.storage.lease import bucket_lease
from partnerdata.storage.published import Pulled, pull, push

LOG = logging.getLogger(__name__)


def check_locations(run: RunPaths) -> None:
    """Refuse, before anything starts, a location a run cannot work on."""
    places = (("--raw", run.raw_dir), ("--published", run.published_dir), ("--reports", run.reports_dir))
    for _, location in places:
        if "://" in location:
            parse_url(location)
    for index, (name, location) in enumerate(places):  # a private report inside published/ would be served
        for other_name, other in places[index + 1 :]:
            if is_url(location) and is_url(other) and _inside(location, other):
                raise UsageError(f"{name} {location} and {other_name} {other} overlap; give each its own prefix")


def _inside(one: str, other: str) -> bool:
    a, b = parse_url(one), parse_url(other)
    return a.bucket == b.bucket and (
        a.prefix == b.prefix or not a.prefix or not b.prefix or a.prefix.startswith(b.prefix + "/")
        or b.prefix.startswith(a.prefix + "/")
    )  # fmt: skip


def local_only(name: str, location: str, command: str) -> None:
    """Refuse an s3:// location where a command works on a local folder only."""
    if "://" in location:
        raise UsageError(
            f"{name} {location}: `partnerdata {command}` works on a local folder; s3:// locations are for "
            "`run`, `accept`, `release withdraw` and `serve`"
        )


@contextmanager
def raw_held(location: str, timeout_seconds: float) -> Iterator[None]:
    """raw/ held for the block: a folder under its lock, a bucket location under its lease."""
    if is_url(location):
        with bucket_lease(Bucket(parse_url(location)), timeout_seconds):
            yield
    else:
        with folder_lock(Path(location), timeout_seconds):
            yield


@contextmanager
def reports_held(location: str) -> Iterator[Path]:
    """reports/ for the block: the folder, or for a bucket location a local folder uploaded when the block
    ends (also when it raises: the reports written are the partners' letters)."""
    if not is_url(location):
        yield Path(location)
        return
    with tempfile.TemporaryDirectory(prefix="partnerdata-reports-") as work:
        try:
            yield Path(work)
        finally:
            upload_reports(Bucket(parse_url(location)), Path(work))


def upload_reports(bucket: Bucket, work: Path) -> None:
    """A run's reports (``<UTC time>/``), write-once, then ``latest/`` made a copy of them (in a bucket
    there are no links), the files it held before that the new run's lack deleted last."""
    latest = work / "latest"
    if not latest.is_symlink():
        return
    run = Path(os.readlink(latest)).name
    files = sorted(p.relative_to(work / run).as_posix() for p in (work / run).rglob("*") if p.is_file())
    for rel in files:
        bucket.upload(f"{run}/{rel}", work / run / rel, create_only=True)
    for rel in files:
        bucket.copy(f"{run}/{rel}", f"latest/{rel}")
    stale = sorted(rel for rel in bucket.listing("latest/") if rel.removeprefix("latest/") not in files)
    bucket.delete(stale)
    LOG.info("uploaded the reports of %s to %s (and its latest/)", run, bucket.url)


def working_copy(bucket: Bucket, work: Path, everything: bool = False) -> Pulled:
    """published/ pulled from the bucket into ``work``, with latest and v<MAJOR> on the newest good
    releases (a push stopped half way may have left a copy behind its pointer)."""
    pulled = pull(bucket, work, LOG.info, everything)
    if (work / "releases").is_dir():
        repoint(work)
    return pulled


@contextmanager
def held(run: RunPaths, timeout_seconds: float) -> Iterator[RunPaths]:
    """The run's places, held for the block (published/ first: a second run waiting for it has not
    even created raw/ yet); the paths the run works on."""
    with published_held(run.published_dir, timeout_seconds) as published:
        with raw_held(run.raw_dir, timeout_seconds):
            yield dataclasses.replace(run, published_dir=str(published))


@contextmanager
def published_held(
    location: str, timeout_seconds: float, everything: bool = False, rewrite: bool = False
) -> Iterator[Path]:
    """published/ held for the block: a folder under its lock, or a bucket location under its lease as
    a working copy, pushed back when the block ends (what the working copy holds is consistent
    whatever stopped the work). ``everything``: the data files of every release pulled too (a
    withdrawal may point latest at any of them); ``rewrite``: the push may rewrite the sealed files a
    purge re-seals."""
    if not is_url(location):
        with folder_lock(Path(location), timeout_seconds):
            yield Path(location)
        return
    bucket = Bucket(parse_url(location))
    with ExitStack() as stack:
        lease = stack.enter_context(bucket_lease(bucket, timeout_seconds))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="partnerdata-published-")))
        pulled = working_copy(bucket, work, everything)

        def push_back() -> None:
            lease.check()
            push(bucket, work, pulled, LOG.info, rewrite)

        stack.callback(push_back)
        yield work
