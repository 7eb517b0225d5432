from __future__ import annotations

import pytest

from tests.support.release_data import catalogue_site
from tests.support.s3 import new_bucket, s3_environment, s3_server


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 protocol server on 127.0.0.1 for the session, with the AWS variables pointed at it."""
    with s3_server() as endpoint, s3_environment(endpoint):
        yield endpoint


@pytest.fixture
def bucket_name(s3_endpoint) -> str:
    return new_bucket()


@pytest.fixture(scope="session")
def site(schemas, tmp_path_factory):
    """A published/ folder: releases 1.0.0, 1.0.1 (current) and 1.0.2 (withdrawn), with their catalogue.
    Tests copy it; none changes it."""
    return catalogue_site(schemas, tmp_path_factory.mktemp("site"), None)
