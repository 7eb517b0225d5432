"""A run's publish into a bucket, SIGKILLed just before its Nth write to the bucket.

    python -m tests.support.crash_push S3_URL WORK TABLES_DIR N

Pulls the working copy of S3_URL into WORK as a run does (run.places.working_copy), publishes the
tables of TABLES_DIR/<resource>.parquet there with the library's publish_release and rebuilds
the catalogue, then pushes it
back, counting every call that changes the bucket (a put, a copy, a delete) and killing itself with
SIGKILL just before the Nth. With N = 0 it pushes to the end and prints each call, one per line
("put releases/1.0.3/SHA256SUMS"). Used by tests/storage/test_bucket_crash.py.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

import pyarrow.parquet as pq

from partnerdata.catalogue import refresh_catalogue
from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.config.schemas import RESOURCE_NAMES, load_schemas
from partnerdata.release.publish import publish_release
from partnerdata.run.places import working_copy
from partnerdata.storage.bucket import Bucket, parse_url
from partnerdata.storage.published import push

calls: list[str] = []


def _counted(action, function):
    def wrapper(self, first, *args, **kwargs):
        keys = first if isinstance(first, list) else [first]
        for key in keys or ["(nothing)"]:
            calls.append(f"{action} {key}")
            if len(calls) == CRASH_AT:
                os.kill(os.getpid(), signal.SIGKILL)
        return function(self, first, *args, **kwargs)

    return wrapper


if __name__ == "__main__":
    url, work, tables_dir, CRASH_AT = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    bucket = Bucket(parse_url(url))
    pulled = working_copy(bucket, work)
    schemas = load_schemas(SCHEMAS_DIR)
    tables = {name: pq.read_table(tables_dir / f"{name}.parquet") for name in RESOURCE_NAMES}
    publish_release(tables, schemas, work, dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC), "crash", {}, [], {}, {})
    refresh_catalogue(work, None)  # as a run's publish step does
    Bucket.put = _counted("put", Bucket.put)  # upload calls put
    Bucket.copy = _counted("copy", Bucket.copy)
    Bucket.delete = _counted("delete", Bucket.delete)
    push(bucket, work, pulled)
    print("\n".join(calls), flush=True)
