"""The lease on a bucket location: one writer at a time, a killed run's lease taken over once expired."""

from __future__ import annotations

import json
import time

import pytest

from partnerdata.errors import LockTimeout
from partnerdata.storage.bucket import Bucket, BucketURL, StorageError
from partnerdata.storage.lease import LEASE, Lease, bucket_lease


def test_one_run_holds_the_lease_and_the_next_waits_then_is_refused(bucket_name):
    bucket = Bucket(BucketURL(bucket_name, "p"))
    with bucket_lease(bucket, 0) as held:
        started = time.monotonic()
        with pytest.raises(LockTimeout, match=f"holds the lease on s3://{bucket_name}/p .*{held.holder}"):
            Lease(bucket).acquire(1.5)
        assert time.monotonic() - started >= 1.5  # it waited for the lease before it gave up
        held.check()  # still this run's
    assert bucket.get(LEASE) is None  # released
    with bucket_lease(bucket, 0):  # and free for the next run
        pass


def test_a_killed_runs_lease_expires_and_is_taken_over_once(bucket_name):
    bucket = Bucket(BucketURL(bucket_name, "p"))
    killed = Lease(bucket, seconds=3.0)
    killed.acquire(0)  # never released: the run was killed
    with pytest.raises(LockTimeout):
        Lease(bucket).acquire(0)
    time.sleep(3.5)
    first, second = Lease(bucket), Lease(bucket)
    first.acquire(0)
    assert json.loads(bucket.get(LEASE) or b"")["holder"] == first.holder
    with pytest.raises(LockTimeout):  # the lease is the new holder's now, not expired
        second.acquire(0)
    assert not killed.renew()  # the killed run, were it only slow, can no longer write it back
    with pytest.raises(StorageError, match="taken over by another run"):
        killed.check()
    first.release()
    assert bucket.get(LEASE) is None
