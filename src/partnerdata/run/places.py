"""The places a run writes, held for the run: local folders under their locks, and a published/ in a
bucket as a working copy under the bucket's lease, pushed back when the run ends.

raw/ and reports/ are local folders (a bucket for them is not supported yet: the command line says
so before anything starts).
"""

from __future__ import annotations

import dataclasses
import logging
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
    if is_url(run.published_dir):
        parse_url(run.published_dir)
    for name, location in (("--raw", run.raw_dir), ("--reports", run.reports_dir)):
        if is_url(location) or "://" in location:
            raise UsageError(f"{name} {location}: raw/ and reports/ are local folders for now; only --published "
                             "takes an s3:// location")  # fmt: skip


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
        with folder_lock(Path(run.raw_dir), timeout_seconds):
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
