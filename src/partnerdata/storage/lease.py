"""One writer at a time on a bucket location: a lease object written with a conditional write.

A bucket has no flock(2). A run that writes to ``s3://bucket/prefix`` first creates
``prefix/.partnerdata-lease.json`` with ``If-None-Match: *``: the service lets one writer create it
and refuses every other (412). The lease names its holder and when it expires; the holder renews it
while it works (``If-Match`` its own ETag, so a lease someone else took over is never written back),
and deletes it at the end. A lease left by a run that was killed expires, and the next run takes it
over, again with ``If-Match``, so two runs that find it expired at once cannot both get it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from partnerdata.errors import LockTimeout
from partnerdata.storage.bucket import Bucket, StorageError, error_code

LEASE = ".partnerdata-lease.json"
LEASE_SECONDS = 600.0  # a killed run's lease frees after this long
RENEW_SECONDS = 120.0
POLL_SECONDS = 1.0
TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class Lease:
    def __init__(self, bucket: Bucket, seconds: float = LEASE_SECONDS) -> None:
        self.bucket = bucket
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.lost: str | None = None  # why the lease was lost while held, if it was

    def acquire(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            if self._try():
                return
            if time.monotonic() >= deadline:
                held = self._read() or {}
                raise LockTimeout(
                    f"another partnerdata run holds the lease on {self.bucket.url} ({held.get('holder', '?')}, until "
                    f"{held.get('expires', '?')}) and did not finish within {timeout_seconds:g} s; nothing was changed "
                    "(try again later; a lease left by a killed run expires by itself)"
                )
            time.sleep(POLL_SECONDS)

    def _try(self) -> bool:
        if self._write(IfNoneMatch="*"):
            return True
        current = self._head()
        if current is None:
            return False  # deleted in between: the next try may create it
        held, etag = current
        expires = dt.datetime.fromisoformat(str(held.get("expires", "1970-01-01T00:00:00+00:00")))
        if expires > dt.datetime.now(dt.UTC):
            return False
        return self._write(IfMatch=etag)  # expired: taken over, unless another run took it first

    def renew(self) -> bool:
        """Extend the lease, if it is still this run's."""
        if self.etag is None or not self._write(IfMatch=self.etag):
            self.lost = f"the lease on {self.bucket.url} was taken over by another run"
            return False
        return True

    def release(self) -> None:
        current = self._head()
        if current is not None and current[0].get("holder") == self.holder:
            self.bucket.delete([LEASE])
        self.etag = None

    def check(self) -> None:
        """Raise when the lease is no longer this run's: nothing may be written then."""
        current = self._head()
        if self.lost or current is None or current[0].get("holder") != self.holder:
            raise StorageError(
                f"{self.lost or f'the lease on {self.bucket.url} is no longer this run'}; nothing more was written"
            )

    def _write(self, **condition: str) -> bool:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.seconds)
        body = json.dumps({"holder": self.holder, "expires": expires.isoformat(timespec="milliseconds")}).encode()
        try:
            response = self.bucket.client.put_object(
                Bucket=self.bucket.url.bucket, Key=self.bucket.url.key(LEASE), Body=body, **condition
            )
        except Exception as error:
            if error_code(error) in TAKEN:
                return False
            raise self.bucket.failure("write the lease", LEASE, error) from None
        self.etag = str(response.get("ETag", ""))
        return True

    def _head(self) -> tuple[dict[str, Any], str] | None:
        try:
            response = self.bucket.client.get_object(Bucket=self.bucket.url.bucket, Key=self.bucket.url.key(LEASE))
        except Exception as error:
            if error_code(error) in {"NoSuchKey", "404"}:
                return None
            raise self.bucket.failure("read the lease", LEASE, error) from None
        try:
            held = json.loads(response["Body"].read())
        except ValueError:
            held = {}
        return (held if isinstance(held, dict) else {}), str(response.get("ETag", ""))

    def _read(self) -> dict[str, Any] | None:
        current = self._head()
        return current[0] if current else None


@contextmanager
def bucket_lease(bucket: Bucket, timeout_seconds: float, seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
    """Hold the location's lease for the block, renewed in the background; wait at most
    ``timeout_seconds`` for another run's."""
    lease = Lease(bucket, seconds)
    lease.acquire(timeout_seconds)
    stop = threading.Event()

    def renewing() -> None:
        while not stop.wait(min(RENEW_SECONDS, seconds / 3)):
            try:
                if not lease.renew():
                    return
            except StorageError as error:  # the service unreachable: the run finds out at check(), not here
                lease.lost = f"the lease on {bucket.url} could not be renewed ({error})"
                return

    renewer = threading.Thread(target=renewing, name="partnerdata-lease", daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        lease.release()
