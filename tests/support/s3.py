"""A real S3 protocol server on the loopback interface, for the tests of buckets.

moto's server mode (what s3fs's own tests use): the S3 REST API over HTTP on 127.0.0.1, port 0,
conditional writes and SHA-256 checksums included. A MinIO binary is not installable here.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ENVIRONMENT = {  # moto accepts any credentials; these are the tests' own, never real ones
    "AWS_ACCESS_KEY_ID": "partnerdata-test",
    "AWS_SECRET_ACCESS_KEY": "partnerdata-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3_server() -> Iterator[str]:
    """Start the server; its endpoint URL (http://127.0.0.1:PORT)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def s3_environment(endpoint: str) -> Iterator[None]:
    """The standard AWS variables pointed at the server, restored afterwards."""
    wanted = {**ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}
    before = {name: os.environ.get(name) for name in [*wanted, "AWS_PROFILE"]}
    os.environ.update(wanted)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def new_bucket() -> str:
    """A bucket of its own for one test: its name."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.session.Session().client("s3").create_bucket(Bucket=name)
    return name


def seeded(bucket_name: str, site, work, prefix: str = "published"):
    """A bucket location holding a copy of the published/ folder ``site``, pushed as a first run would
    push it (an empty bucket pulled into ``work``, the folder copied there, pushed); the Bucket."""
    import shutil

    from partnerdata.storage.bucket import Bucket, BucketURL
    from partnerdata.storage.published import pull, push

    bucket = Bucket(BucketURL(bucket_name, prefix))
    pulled = pull(bucket, work)
    shutil.rmtree(work)
    shutil.copytree(site, work, symlinks=True)
    push(bucket, work, pulled)
    return bucket
