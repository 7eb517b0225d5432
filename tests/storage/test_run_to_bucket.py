"""`partnerdata run --published s3://bucket/prefix` (issue 19): the demo published to a bucket on a
real S3 protocol server on loopback is the demo published to a folder; a rerun changes nothing;
a second writer is refused."""

from __future__ import annotations

import io
import re

import pyarrow.parquet as pq
import pytest

from partnerdata import cli
from partnerdata.storage.bucket import Bucket, parse_url
from partnerdata.storage.lease import bucket_lease

pytestmark = [pytest.mark.usefixtures("prefect_engine"), pytest.mark.slow]

DATA = ("activities", "projects", "organisations", "project_partners")


def _args(project, published: str) -> list[str]:
    return ["run", "--sources", str(project.sources), "--raw", str(project.raw), "--published", published,
            "--reports", str(project.reports)]  # fmt: skip


def test_the_demo_published_to_a_bucket_is_the_demo_published_to_a_folder(demo_project, bucket_name, capsys):
    url = f"s3://{bucket_name}/open-data/partnerdata"
    status = cli.main(_args(demo_project, url))
    first = capsys.readouterr()
    assert status == 0, first.err[-3000:]
    assert f"release 1.0.0: {url}/releases/1.0.0" in first.out  # where it is, not the working copy it was made in
    bucket = Bucket(parse_url(url))
    assert cli.main(_args(demo_project, str(demo_project.published))) == 0  # the same snapshots, to a folder
    latest = demo_project.published / "latest"
    for name in DATA:
        assert bucket.get(f"latest/{name}.csv") == (latest / f"{name}.csv").read_bytes(), name
        assert bucket.get(f"releases/1.0.0/{name}.csv") == (latest / f"{name}.csv").read_bytes(), name
        from_bucket = pq.read_table(io.BytesIO(bucket.get(f"latest/{name}.parquet") or b""))
        assert from_bucket.equals(pq.read_table(latest / f"{name}.parquet")) and from_bucket.num_rows > 0, name
    local_names = {p.name for p in latest.iterdir()}
    assert {rel.split("/", 1)[1] for rel in bucket.listing("latest/")} == local_names
    assert {rel.rsplit("/", 1)[1] for rel in bucket.listing("releases/1.0.0/")} == local_names
    for page in ("index.html", "index.nl.html", "catalog.json", "feed.xml", "latest.json", "explore/activities.html"):
        assert bucket.get(page), page
    capsys.readouterr()

    releases = {rel: info for rel, info in bucket.listing("releases/").items()}
    assert cli.main(_args(demo_project, url)) == 0
    out = capsys.readouterr().out
    assert re.search(r"nothing changed since release 1\.0\.0", out), out[-2000:]
    assert bucket.listing("releases/") == releases  # not one object of the release rewritten
    assert not [rel for rel in bucket.listing() if rel.startswith(".")]  # the lease is gone with the run


def test_a_second_writer_is_refused_while_the_lease_is_held(demo_project, bucket_name, capsys):
    settings = demo_project.sources.read_text(encoding="utf-8")
    demo_project.sources.write_text(
        re.sub(r"lock_timeout_seconds: \d+", "lock_timeout_seconds: 1", settings), encoding="utf-8"
    )
    url = f"s3://{bucket_name}/partnerdata"
    with bucket_lease(Bucket(parse_url(url)), 0):
        assert cli.main(_args(demo_project, url)) == 4
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"another partnerdata run holds the lease on {url}" in last and "nothing was changed" in last
    assert Bucket(parse_url(url)).listing() == {}  # the lease released, nothing written


def test_a_location_the_run_cannot_use_is_refused_before_anything_starts(demo_project, capsys):
    assert cli.main(_args(demo_project, "s3://Bad_Bucket/x")) == 2
    assert "is not a bucket name" in capsys.readouterr().err
    args = _args(demo_project, "s3://open-data/site")
    args[args.index("--raw") + 1] = "s3://open-data/site/raw"
    assert cli.main(args) == 2
    assert "overlap; give each its own prefix" in capsys.readouterr().err
    args[args.index("--raw") + 1] = "s3://open-data/raw"
    args[args.index("--reports") + 1] = "s3://open-data/site/reports"  # private letters in the public site
    assert cli.main(args) == 2
    assert "--published s3://open-data/site and --reports s3://open-data/site/reports overlap" in (
        capsys.readouterr().err
    )
    args[args.index("--raw") + 1] = "gs://open-data/raw"
    assert cli.main(args) == 2
    assert "gs:// is not supported" in capsys.readouterr().err
    assert not demo_project.raw.exists() and not demo_project.published.exists()
    assert cli.main(["validate", "demo/partners/x.csv", "--source", "x", "--raw", "s3://open-data/raw"]) == 2
    assert "`partnerdata validate` works on a local folder" in capsys.readouterr().err


def _everything_in(project, bucket_name: str) -> list[str]:
    return ["run", "--sources", str(project.sources), "--raw", f"s3://{bucket_name}/raw", "--published",
            f"s3://{bucket_name}/published", "--reports", f"s3://{bucket_name}/reports"]  # fmt: skip


def test_raw_published_and_reports_in_a_bucket_give_the_release_of_a_local_run(
    demo_project, bucket_name, tmp_path, capsys
):
    status = cli.main(_everything_in(demo_project, bucket_name))
    first = capsys.readouterr()
    assert status == 0, first.err[-3000:]
    assert cli.main(demo_project.cli_args()) == 0  # the same partner files, every place a folder
    capsys.readouterr()
    published = Bucket(parse_url(f"s3://{bucket_name}/published"))
    latest = demo_project.published / "latest"
    for name in DATA:
        assert published.get(f"latest/{name}.csv") == (latest / f"{name}.csv").read_bytes(), name
    raw = Bucket(parse_url(f"s3://{bucket_name}/raw"))
    in_bucket = sorted(raw.listing())
    assert not [rel for rel in in_bucket if rel.startswith(".")]  # no lease, no run's place left
    on_disk = sorted(p.relative_to(demo_project.raw).as_posix() for p in demo_project.raw.rglob("*") if p.is_file())
    shape = re.compile(r"/\d{8}T\d{6}(\.\d+)?Z/")  # snapshot folders are named by the time they were taken
    assert [shape.sub("/<time>/", rel) for rel in in_bucket] == [
        shape.sub("/<time>/", rel) for rel in on_disk if not rel.startswith(".")
    ]
    reports = Bucket(parse_url(f"s3://{bucket_name}/reports"))
    letters = [rel for rel in reports.listing("latest/") if rel.endswith("/report.md")]
    assert len(letters) == len([p for p in (demo_project.reports / "latest").glob("*/report.md")]) > 0

    assert cli.main(_everything_in(demo_project, bucket_name)) == 0
    assert "nothing changed since release 1.0.0" in capsys.readouterr().out
    assert sorted(raw.listing()) == in_bucket  # the checks log grew; no snapshot was added or rewritten

    source_id = in_bucket[0].split("/", 1)[0]
    accept = ["accept", source_id, "--sources", str(demo_project.sources), "--raw", f"s3://{bucket_name}/raw"]
    assert cli.main(accept) == 0, capsys.readouterr().err
    assert b'"event": "accept"' in (raw.get(f"{source_id}/checks.jsonl") or b"")


def test_a_snapshot_whose_upload_stopped_is_removed_and_never_read(demo_project, bucket_name, capsys):
    assert cli.main(_everything_in(demo_project, bucket_name)) == 0
    raw = Bucket(parse_url(f"s3://{bucket_name}/raw"))
    source_id = next(iter(raw.listing())).split("/", 1)[0]
    raw.put(f"{source_id}/20991231T000000Z/body.csv", b"half of a file")  # no meta.json: a push killed midway
    capsys.readouterr()
    assert cli.main(_everything_in(demo_project, bucket_name)) == 0
    assert "nothing changed since release 1.0.0" in capsys.readouterr().out
    assert not [rel for rel in raw.listing() if "20991231" in rel]
