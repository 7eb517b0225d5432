"""Mistakes and takedowns: `partnerdata release withdraw VERSION --reason TEXT [--purge]`."""

from __future__ import annotations

import datetime as dt
import json
import os

import frictionless
import pyarrow as pa

from partnerdata import cli
from partnerdata.release.publish import publish_release
from partnerdata.release.store import verify_checksums
from tests.support.release_data import demo_tables


def _publish(schemas, tables, folder):
    return publish_release(tables, schemas, folder, dt.datetime(2026, 11, 25, tzinfo=dt.UTC), "fp", {}, [], {}, {})


def _retitled(tables, suffix):
    projects = tables["projects"]
    titles = [f"{t}{suffix}" for t in projects.column("title").to_pylist()[:1]] + projects.column("title").to_pylist()[
        1:
    ]
    index = projects.schema.get_field_index("title")
    return {**tables, "projects": projects.set_column(index, projects.schema.field(index), pa.array(titles))}


def _three_releases(schemas, tmp_path):
    published = tmp_path / "published"
    tables = demo_tables(schemas, tmp_path / "work")
    versions = [_publish(schemas, _retitled(tables, suffix), published).version for suffix in ("", " (a)", " (b)")]
    assert versions == ["1.0.0", "1.0.1", "1.0.2"]
    for version in versions:  # every release is a valid Data Package, CHANGES.md and changes.json included
        report = frictionless.validate(str(published / "releases" / version / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
        assert {"CHANGES.md", "changes.json"} <= {p.name for p in (published / "releases" / version).iterdir()}
    return published, tables


def _withdraw(published, *args, capsys=None):
    status = cli.main(["release", "withdraw", *args, "--published", str(published), "--by", "tester"])
    return status


def test_withdraw_moves_latest_back_and_never_reuses_the_number(schemas, tmp_path, capsys):
    published, tables = _three_releases(schemas, tmp_path)
    assert _withdraw(published, "1.0.2", "--reason", "titles were wrong") == 0
    assert "latest is now 1.0.1" in capsys.readouterr().out
    assert os.readlink(published / "latest") == "releases/1.0.1" and os.readlink(published / "v1") == "releases/1.0.1"
    assert json.loads((published / "latest.json").read_text())["version"] == "1.0.1"
    withdrawn = json.loads((published / "withdrawn.json").read_text())
    assert withdrawn["1.0.2"]["reason"] == "titles were wrong" and withdrawn["1.0.2"]["by"] == "tester"
    verify_checksums(published / "releases" / "1.0.2")  # withdrawn, not altered
    log = [json.loads(line) for line in (published / "log.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log] == ["published"] * 3 + ["withdrawn"]

    # The same content again is refused; a fixed one gets a new number (never 1.0.2 again).
    again = _publish(schemas, _retitled(tables, " (b)"), published)
    assert again.version is None and "withdrawn release 1.0.2" in again.message
    fixed = _publish(schemas, _retitled(tables, " (c)"), published)
    assert fixed.version == "1.0.3" and os.readlink(published / "latest") == "releases/1.0.3"
    changes = json.loads((fixed.path / "changes.json").read_text())
    assert changes["previous_version"] == "1.0.1"  # compared with what data users had: the newest good release


def test_purge_deletes_the_data_files_and_leaves_a_tombstone(schemas, tmp_path, capsys):
    published, _ = _three_releases(schemas, tmp_path)
    folder = published / "releases" / "1.0.2"
    sums = dict(reversed(line.split("  ", 1)) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert _withdraw(published, "1.0.2", "--reason", "personal data published by mistake", "--purge") == 0
    assert not list(folder.glob("*.csv")) and not list(folder.glob("*.parquet"))
    tombstone = json.loads((folder / "TOMBSTONE.json").read_text())
    assert tombstone["reason"] == "personal data published by mistake"
    assert tombstone["files"] == sums  # the hashes of everything that was there
    assert os.readlink(published / "latest") == "releases/1.0.1"
    log = [json.loads(line) for line in (published / "log.jsonl").read_text().splitlines()]
    assert log[-1]["event"] == "purged" and log[-1]["version"] == "1.0.2"


def test_withdrawing_every_release_removes_latest_and_mistakes_are_named(schemas, tmp_path, capsys):
    published, _ = _three_releases(schemas, tmp_path)
    for version in ("1.0.2", "1.0.1", "1.0.0"):
        assert _withdraw(published, version, "--reason", "bad") == 0
    assert not (published / "latest").exists() and not (published / "latest.json").exists()
    assert not (published / "v1").exists()
    capsys.readouterr()
    assert _withdraw(published, "1.0.1", "--reason", "again") == 2
    assert "was withdrawn already" in capsys.readouterr().err
    assert _withdraw(published, "7.0.0", "--reason", "x") == 2
    assert "there is no release 7.0.0" in capsys.readouterr().err


def test_retention_removes_the_oldest_releases_but_never_the_one_latest_names(schemas, tmp_path, capsys):
    from partnerdata.release.retention import prune_releases

    published, _ = _three_releases(schemas, tmp_path)
    assert _withdraw(published, "1.0.2", "--reason", "bad") == 0  # latest and v1 now name 1.0.1
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    assert prune_releases(published, None, now) == []  # the default keeps every release
    assert prune_releases(published, 1, now) == ["1.0.0"]  # 1.0.1 is kept: latest names it
    assert sorted(p.name for p in (published / "releases").iterdir()) == ["1.0.1", "1.0.2"]
    assert json.loads((published / "log.jsonl").read_text().splitlines()[-1])["event"] == "removed"
