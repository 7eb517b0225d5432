"""`release withdraw` and `--purge` on a bucket location (issue 19): the pointer and its copies move,
the sealed files stay as they were (a purge excepted: it deletes the release's data files, even the
ones a working copy never pulled, and re-seals what it redacted)."""

from __future__ import annotations

import json

from partnerdata import cli
from tests.support.s3 import seeded

SEALED = ("SHA256SUMS", "datapackage.json", "validation.json", ".csv", ".parquet")


def _copies_hold(bucket, version: str) -> None:
    listing = bucket.listing()
    release = {r.rsplit("/", 1)[1]: i.etag for r, i in listing.items() if r.startswith(f"releases/{version}/")}
    for copy in ("latest", "v1"):
        held = {r.split("/", 1)[1]: i.etag for r, i in listing.items() if r.startswith(copy + "/")}
        assert held == release, copy


def _withdraw(url: str, *extra: str) -> list[str]:
    return ["release", "withdraw", *extra, "--published", url, "--by", "tester"]


def test_a_withdrawal_in_a_bucket_moves_latest_and_its_copies_back(bucket_name, site, tmp_path, capsys):
    bucket = seeded(bucket_name, site, tmp_path / "seed")
    sealed = {r: i.etag for r, i in bucket.listing("releases/").items() if r.endswith(SEALED)}
    url = str(bucket.url)
    assert cli.main(_withdraw(url, "1.0.1", "--reason", "wrong dates from one partner")) == 0
    assert "latest is now 1.0.0" in capsys.readouterr().out
    assert json.loads(bucket.get("latest.json") or b"")["version"] == "1.0.0"
    _copies_hold(bucket, "1.0.0")
    assert json.loads(bucket.get("withdrawn.json") or b"")["1.0.1"]["reason"] == "wrong dates from one partner"
    assert {r: i.etag for r, i in bucket.listing("releases/").items() if r.endswith(SEALED)} == sealed
    assert "withdrawn" in (bucket.get("index.html") or b"").decode()
    assert not [r for r in bucket.listing() if r.startswith(".")]  # the lease is gone


def test_a_purge_in_a_bucket_deletes_data_files_a_working_copy_never_pulled(bucket_name, site, tmp_path, capsys):
    bucket = seeded(bucket_name, site, tmp_path / "seed")
    data = sorted(r for r in bucket.listing("releases/1.0.0/") if r.endswith((".csv", ".parquet")))
    assert data  # 1.0.0 is named by no pointer: a run's working copy leaves these in the bucket
    url = str(bucket.url)
    assert cli.main(_withdraw(url, "1.0.0", "--reason", "personal data published by mistake", "--purge")) == 0
    capsys.readouterr()
    left = bucket.listing("releases/1.0.0/")
    assert not [r for r in left if r.endswith((".csv", ".parquet"))]
    tombstone = json.loads(bucket.get("releases/1.0.0/TOMBSTONE.json") or b"")
    assert set(tombstone["files"]) >= {r.rsplit("/", 1)[1] for r in data}
    assert json.loads(bucket.get("latest.json") or b"")["version"] == "1.0.1"
    _copies_hold(bucket, "1.0.1")
    log = [json.loads(line) for line in (bucket.get("log.jsonl") or b"").decode().splitlines()]
    assert log[-1]["event"] == "purged" and log[-1]["version"] == "1.0.0"
