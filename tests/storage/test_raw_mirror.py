"""raw/ in a bucket, worked on through a mirror (storage/mirror.py, run/remote.py): what a step pulls,
what its push writes and deletes, and what it refuses."""

from __future__ import annotations

import pytest

from partnerdata.run.remote import metadata_only, write_once
from partnerdata.storage.bucket import Bucket, BucketURL, StorageError
from partnerdata.storage.mirror import pull, push


@pytest.fixture
def raw(bucket_name) -> Bucket:
    """Two snapshots of source 'a' and its checks log; one of source 'b'."""
    bucket = Bucket(BucketURL(bucket_name, "raw"))
    for name in ("20260101T000000Z", "20260102T000000Z"):
        bucket.put(f"a/{name}/body.csv", f"rows of {name}\n".encode())
        bucket.put(f"a/{name}/meta.json", b"{}")
    bucket.put("a/checks.jsonl", b'{"event": "check"}\n')
    bucket.put("b/20260101T000000Z/body.csv", b"rows of b\n")
    bucket.put("b/20260101T000000Z/meta.json", b"{}")
    return bucket


def test_a_step_pulls_its_own_sources_metadata_and_only_the_bodies_it_reads(raw, tmp_path):
    mirrored = pull(raw, tmp_path, ["a"], metadata_only)
    pulled = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert pulled == ["a/20260101T000000Z/meta.json", "a/20260102T000000Z/meta.json", "a/checks.jsonl"]
    assert mirrored.remote == {"a/20260101T000000Z/body.csv", "a/20260102T000000Z/body.csv"}
    assert push(raw, tmp_path, mirrored, write_once) == []  # nothing changed: nothing written, nothing deleted
    assert len(raw.listing()) == 7


def test_retention_deletes_a_removed_snapshot_bodies_included_and_the_log_is_rewritten(raw, tmp_path):
    import shutil

    mirrored = pull(raw, tmp_path, ["a"], metadata_only)
    shutil.rmtree(tmp_path / "a" / "20260101T000000Z")  # what collect.history.prune does
    with open(tmp_path / "a" / "checks.jsonl", "a", encoding="utf-8") as log:
        log.write('{"event": "pruned"}\n')
    (tmp_path / "a" / "20260103T000000Z").mkdir()
    (tmp_path / "a" / "20260103T000000Z" / "body.csv").write_text("new rows\n", encoding="utf-8")
    (tmp_path / "a" / "20260103T000000Z" / "meta.json").write_text("{}", encoding="utf-8")
    written = push(raw, tmp_path, mirrored, write_once)
    assert written == ["a/20260103T000000Z/body.csv", "a/20260103T000000Z/meta.json", "a/checks.jsonl"]
    assert sorted(raw.listing("a/")) == [
        "a/20260102T000000Z/body.csv", "a/20260102T000000Z/meta.json", "a/20260103T000000Z/body.csv",
        "a/20260103T000000Z/meta.json", "a/checks.jsonl",
    ]  # fmt: skip
    assert raw.get("a/checks.jsonl").endswith(b'{"event": "pruned"}\n')
    assert "b/20260101T000000Z/body.csv" in raw.listing()  # a source the step did not pull is not touched


def test_a_snapshot_is_never_rewritten(raw, tmp_path):
    mirrored = pull(raw, tmp_path, ["a"])
    (tmp_path / "a" / "20260102T000000Z" / "body.csv").write_text("other rows\n", encoding="utf-8")
    with pytest.raises(StorageError, match="write-once, and the work changed it; nothing more was written"):
        push(raw, tmp_path, mirrored, write_once)
    assert raw.get("a/20260102T000000Z/body.csv") == b"rows of 20260102T000000Z\n"


def test_a_snapshot_created_meanwhile_in_the_bucket_is_refused_not_overwritten(raw, tmp_path):
    mirrored = pull(raw, tmp_path, ["b"])
    (tmp_path / "b" / "20260105T000000Z").mkdir()
    (tmp_path / "b" / "20260105T000000Z" / "body.csv").write_text("mine\n", encoding="utf-8")
    raw.put("b/20260105T000000Z/body.csv", b"another writer's\n")
    with pytest.raises(StorageError, match="already exists, and it is write-once"):
        push(raw, tmp_path, mirrored, write_once)
    assert raw.get("b/20260105T000000Z/body.csv") == b"another writer's\n"


def test_the_files_of_an_upload_that_stopped_are_not_pulled_and_are_deleted(raw, tmp_path):
    raw.put("a/20260109T000000Z/body.csv", b"half")  # no meta.json: a push killed before its last file
    mirrored = pull(raw, tmp_path, ["a"])
    assert not (tmp_path / "a" / "20260109T000000Z").exists()
    push(raw, tmp_path, mirrored, write_once)
    assert not [rel for rel in raw.listing() if "20260109" in rel]


def test_a_local_file_the_bucket_no_longer_has_is_removed_from_the_mirror(raw, tmp_path):
    pull(raw, tmp_path, ["a"])
    raw.delete(["a/20260101T000000Z/body.csv", "a/20260101T000000Z/meta.json"])  # pruned by another process
    pull(raw, tmp_path, ["a"])
    assert not (tmp_path / "a" / "20260101T000000Z").exists()


def test_a_key_that_is_no_file_of_the_folder_is_refused_not_written_outside_it(raw, tmp_path):
    """S3 keys may hold '..' (the loopback server resolves them on the way in, so the key is given here
    as a listing would give it): every download of a pull, a working copy or a run's shared files
    goes through Bucket.download, which refuses it."""
    folder = tmp_path / "mirror"
    for key in ("a/20260101T000000Z/../../../escaped.csv", "/escaped.csv", "a//escaped.csv", "a/./escaped.csv"):
        with pytest.raises(StorageError, match=r"not a file's place .*nothing was downloaded"):
            raw.download(key, folder / key)
    assert not list(tmp_path.rglob("escaped.csv"))
