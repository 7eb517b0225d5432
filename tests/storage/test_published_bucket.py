"""published/ in a bucket (issue 19): the layout on disk, write-once releases, the push order's
guarantees, and data users reading it back with pandas and DuckDB, against a real S3 protocol
server on loopback (tests/support/s3.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from partnerdata.errors import UsageError
from partnerdata.storage.bucket import Bucket, BucketURL, StorageError, parse_url
from partnerdata.storage.published import pull, push
from tests.support.s3 import seeded


def _files(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file, following the links latest/ and v1/ as a reader does."""
    found = {}
    for base, folders, names in os.walk(folder, followlinks=True):
        folders[:] = [d for d in folders if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                path = Path(base) / name
                found[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(found.items()))


def _bucket_files(bucket: Bucket) -> dict[str, str]:
    return {rel: hashlib.sha256(bucket.get(rel) or b"").hexdigest() for rel in sorted(bucket.listing())}


def _published(bucket_name: str, site: Path, work: Path) -> Bucket:
    """The site pushed into an empty bucket, as a first run's working copy would be."""
    return seeded(bucket_name, site, work, "open-data/partnerdata")


def test_a_location_is_checked_before_any_key_is_made_of_it():
    assert parse_url("s3://open-data/partnerdata/") == BucketURL("open-data", "partnerdata")
    assert parse_url("s3://open-data") == BucketURL("open-data", "")
    assert str(parse_url("s3://open-data/a/b")) == "s3://open-data/a/b"
    for text, says in [
        ("s3://Open_Data/x", "is not a bucket name"),
        ("s3://ab/x", "is not a bucket name"),
        ("s3://open-data/../x", "'..' is not allowed"),
        ("s3://open-data/a//b", "'' is not allowed"),
        ("s3://open-data/a b", "'a b' is not allowed"),
        ("gs://open-data/x", "gs:// is not supported"),
    ]:
        with pytest.raises(UsageError, match=says):
            parse_url(text)


def test_published_in_a_bucket_has_the_layout_on_disk_with_copies_for_the_links(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "work")
    on_disk = _files(site)  # latest/... and v1/... through the links
    assert _bucket_files(bucket) == on_disk
    assert json.loads(bucket.get("latest.json") or b"")["version"] == "1.0.1"
    assert json.loads(bucket.get("latest/datapackage.json") or b"")["version"] == "1.0.1"
    assert json.loads(bucket.get("v1/datapackage.json") or b"")["version"] == "1.0.1"


def test_data_users_read_the_bucket_with_pandas_and_duckdb_as_they_read_the_disk(bucket_name, site, tmp_path):
    import duckdb
    import pandas as pd
    import pyarrow.parquet as pq
    import s3fs

    _published(bucket_name, site, tmp_path / "work")
    base = f"s3://{bucket_name}/open-data/partnerdata"
    filesystem = s3fs.S3FileSystem()  # AWS_ENDPOINT_URL and the keys from the environment, as a user sets them
    with filesystem.open(f"{base}/latest/activities.csv", "rb") as remote:
        assert remote.read() == (site / "latest" / "activities.csv").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_csv(f"{base}/latest/projects.csv"), pd.read_csv(site / "latest" / "projects.csv")
    )
    connection = duckdb.connect()
    connection.register_filesystem(filesystem)
    query = "SELECT theme, count(*) FROM read_parquet(?) GROUP BY theme ORDER BY theme NULLS FIRST"
    from_bucket = connection.execute(query, [f"{base}/releases/1.0.1/activities.parquet"]).fetchall()
    from_disk = duckdb.connect().execute(query, [str(site / "releases" / "1.0.1" / "activities.parquet")]).fetchall()
    assert (
        from_bucket == from_disk
        and sum(n for _, n in from_bucket) == pq.read_metadata(site / "latest" / "activities.parquet").num_rows
    )


def test_a_working_copy_pulled_and_pushed_unchanged_writes_nothing(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "first")
    before = bucket.client.list_objects_v2(Bucket=bucket_name)["Contents"]
    work = tmp_path / "second"
    pulled = pull(bucket, work)
    # Every object but the data files of the release no pointer names (1.0.0; 1.0.2 was withdrawn, and
    # v1 and latest name 1.0.1), which stay in the bucket.
    assert sorted(pulled.remote) == sorted(
        f"releases/{v}/{name}" for v in ("1.0.0", "1.0.2") for name in _data_files(site / "releases" / v)
    )
    assert _files(work) == {rel: digest for rel, digest in _files(site).items() if rel not in pulled.remote}
    assert (work / "latest").is_symlink() and (work / "latest").resolve() == (work / "releases" / "1.0.1").resolve()
    assert push(bucket, work, pulled) == []
    assert bucket.client.list_objects_v2(Bucket=bucket_name)["Contents"] == before  # not one object rewritten


def _data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in {".csv", ".parquet"})


def test_a_release_in_a_bucket_is_write_once(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "first")
    work = tmp_path / "second"
    pulled = pull(bucket, work)
    before = _bucket_files(bucket)
    (work / "releases" / "1.0.1" / "CHANGES.md").write_text("rewritten\n", encoding="utf-8")
    with pytest.raises(StorageError, match="releases/1.0.1/CHANGES.md: a release's files are write-once"):
        push(bucket, work, pulled)
    assert _bucket_files(bucket) == before
    # The conditional write itself: the service refuses a second object under the key (412).
    with pytest.raises(StorageError, match="already exists, and it is write-once; nothing was overwritten"):
        bucket.put("releases/1.0.1/CHANGES.md", b"rewritten\n", create_only=True)
    assert _bucket_files(bucket) == before


def test_an_unfinished_upload_is_never_pointed_at_and_the_next_push_removes_it(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "first")
    before = _bucket_files(bucket)
    # A crash in the middle of uploading release 1.0.3: some of its files, no SHA256SUMS, no pointer moved.
    for name in ("activities.csv", "activities.parquet", "CHANGES.md"):
        bucket.put(f"releases/1.0.3/{name}", (site / "releases" / "1.0.1" / name).read_bytes(), create_only=True)
    work = tmp_path / "second"
    pulled = pull(bucket, work)
    assert sorted(pulled.orphans) == [
        f"releases/1.0.3/{n}" for n in ("CHANGES.md", "activities.csv", "activities.parquet")
    ]
    assert not (work / "releases" / "1.0.3").exists()
    assert json.loads(bucket.get("latest.json") or b"")["version"] == "1.0.1"
    push(bucket, work, pulled)
    assert _bucket_files(bucket) == before


def test_a_release_removed_from_the_working_copy_leaves_the_bucket_with_all_its_files(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "first")
    work = tmp_path / "second"
    pulled = pull(bucket, work)
    shutil.rmtree(work / "releases" / "1.0.0")  # retention, say
    push(bucket, work, pulled)
    assert not [rel for rel in bucket.listing() if rel.startswith("releases/1.0.0/")]  # its data files too
    assert "releases/1.0.1/activities.csv" in bucket.listing()


def test_the_copies_follow_the_pointer_and_lose_what_the_new_release_lacks(bucket_name, site, tmp_path):
    bucket = _published(bucket_name, site, tmp_path / "first")
    work = tmp_path / "second"
    pulled = pull(bucket, work)
    bucket.put("latest/stray.txt", b"left by hand\n")
    pulled = pull(bucket, work)
    (work / "latest").unlink()
    (work / "latest").symlink_to(Path("releases") / "1.0.0")  # as a withdrawal of 1.0.1 would
    push(bucket, work, pulled)
    copied = {rel[len("latest/") :] for rel in bucket.listing("latest/")}
    assert copied == {rel[len("releases/1.0.0/") :] for rel in bucket.listing("releases/1.0.0/")}
    assert bucket.get("latest/activities.csv") == (site / "releases" / "1.0.0" / "activities.csv").read_bytes()
