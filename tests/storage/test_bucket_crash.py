"""A SIGKILL at any point of a push leaves latest.json naming a complete release, and the next run
removes what the killed one left (issue 19). The push runs in a subprocess (tests/support/crash_push.py)
that kills itself just before its Nth write to the bucket."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partnerdata.catalogue import refresh_catalogue
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.schemas import RESOURCE_NAMES
from partnerdata.run.places import working_copy
from partnerdata.storage.bucket import Bucket
from partnerdata.storage.published import push
from tests.support.s3 import new_bucket, seeded

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tables_dir(site, tmp_path_factory) -> Path:
    """The current release's tables with every project title corrected: the next release (1.0.3)."""
    folder = tmp_path_factory.mktemp("tables")
    for name in RESOURCE_NAMES:
        table = pq.read_table(site / "latest" / f"{name}.parquet")
        if name == "projects":
            index = table.schema.get_field_index("title")
            titles = pa.array([f"{t} (checked)" for t in table.column("title").to_pylist()])
            table = table.set_column(index, table.schema.field(index), titles)
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def _seeded(site: Path, work: Path) -> Bucket:
    return seeded(new_bucket(), site, work)


def _crash(bucket: Bucket, work: Path, tables_dir: Path, at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.crash_push", str(bucket.url), str(work), str(tables_dir), str(at)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def _check(bucket: Bucket) -> str:
    """latest.json names a release whose every file is in the bucket with the bytes SHA256SUMS says."""
    version = json.loads(bucket.get("latest.json") or b"")["version"]
    sums = (bucket.get(f"releases/{version}/SHA256SUMS") or b"").decode()
    assert sums, version
    for line in sums.splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(bucket.get(f"releases/{version}/{name}") or b"").hexdigest() == digest, name
    return version


def test_a_sigkill_during_a_push_leaves_a_complete_release_named_and_the_next_run_cleans_up(
    s3_endpoint, site, tables_dir, tmp_path
):
    whole = _crash(_seeded(site, tmp_path / "seed"), tmp_path / "whole", tables_dir, 0)
    assert whole.returncode == 0, whole.stderr[-3000:]
    calls = whole.stdout.strip().split("\n")
    assert "put releases/1.0.3/SHA256SUMS" in calls and "put latest.json" in calls
    points = {  # kill just before ...
        "the release's SHA256SUMS": calls.index("put releases/1.0.3/SHA256SUMS") + 1,
        "latest.json": calls.index("put latest.json") + 1,
        "a file of the latest/ copy": calls.index("copy releases/1.0.3/projects.csv") + 1,
        "the catalogue": calls.index("put index.html") + 1,
        "the last call": len(calls),
    }
    for point, at in points.items():
        bucket = _seeded(site, tmp_path / f"seed-{at}")
        crashed = _crash(bucket, tmp_path / f"work-{at}", tables_dir, at)
        assert crashed.returncode == -9, (point, crashed.stderr[-2000:])
        complete = at > points["the release's SHA256SUMS"]
        assert _check(bucket) == ("1.0.3" if at > points["latest.json"] else "1.0.1"), point

        # The next run: its working copy (latest on the newest good release), the catalogue brought up to date, pushed.
        work = tmp_path / f"next-{at}"
        pulled = working_copy(bucket, work)
        assert bool(pulled.orphans) == (not complete), point
        refresh_catalogue(work, None)
        push(bucket, work, pulled)
        version = _check(bucket)
        assert version == ("1.0.3" if complete else "1.0.1"), point
        listing = bucket.listing()
        assert not [rel for rel in listing if rel.startswith("releases/1.0.3/")] or complete, point  # no orphan left
        for copy in ("latest", "v1"):
            held = {rel.split("/", 1)[1]: info.etag for rel, info in listing.items() if rel.startswith(copy + "/")}
            release = {
                rel.rsplit("/", 1)[1]: info.etag
                for rel, info in listing.items()
                if rel.startswith(f"releases/{version}/")
            }
            assert held == release, (point, copy)
        assert json.loads(bucket.get("catalog.json") or b"")["latest"] == version, point
