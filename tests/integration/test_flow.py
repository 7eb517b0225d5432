"""The nightly flow on the real Prefect engine, driven through `partnerdata run` in-process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import frictionless
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partnerdata import cli
from partnerdata.collect.lock import folder_lock
from tests.conftest import Project, remote_and_local_project
from tests.support.partner_server import Response

pytestmark = pytest.mark.usefixtures("prefect_engine")


def _run(project, capsys, *extra: str) -> tuple[int, str, str]:
    status = cli.main(project.cli_args(*extra))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _releases(project) -> list[str]:
    folder = project.published / "releases"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _published_text(project) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in project.published.rglob("*") if p.is_file()
    )


def test_demo_run_publishes_a_complete_valid_release(demo_project, capsys):
    status, out, err = _run(demo_project, capsys)
    assert status == 0, err
    assert "release 1.0.0" in out and "Traceback" not in out + err
    release = demo_project.published / "releases" / "1.0.0"
    latest = demo_project.published / "latest"
    assert latest.is_symlink() and os.readlink(latest) == "releases/1.0.0"
    assert os.readlink(demo_project.published / "v1") == "releases/1.0.0"
    assert json.loads((demo_project.published / "latest.json").read_text())["version"] == "1.0.0"
    names = {p.name for p in release.iterdir()}
    for resource in ("activities", "projects", "organisations", "project_partners"):
        assert {f"{resource}.csv", f"{resource}.parquet"} <= names
    assert {"datapackage.json", "validation.json", "SHA256SUMS"} <= names

    # Every file matches SHA256SUMS, as `sha256sum -c` checks it.
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=release, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (release / "SHA256SUMS").read_text().splitlines()}
    assert listed == names - {
        "SHA256SUMS",
        "index.html",
        "index.nl.html",
    }  # the catalogue's pages about the release are not in it

    # The run built the catalogue, with absolute URLs under settings.base_url.
    catalogue = {"index.html", "catalog.json", "feed.xml", "catalog.ttl"}
    assert catalogue <= {p.name for p in demo_project.published.iterdir()}
    assert (release / "index.html").exists() and "index.html" not in listed
    model = json.loads((demo_project.published / "catalog.json").read_text())
    assert model["latest"] == "1.0.0" and model["releases"][0]["resources"][0]["files"][0]["url"].startswith(
        "https://partnerdata.example.org/published/releases/1.0.0/"
    )

    # frictionless validates the package: types, constraints, keys, bytes and hashes.
    report = frictionless.validate(str(latest / "datapackage.json"))
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])[:10]

    # The run's table artifact: rows read, accepted and rejected per source, read back through the API.
    from prefect.artifacts import Artifact

    artifact = Artifact.get("partnerdata-sources", _sync=True)
    table = {row["source"]: row for row in json.loads(artifact.data)}
    assert artifact.type == "table" and len(table) == 8
    assert table["hzk-leerweken"] == {
        "source": "hzk-leerweken", "status": "fetched", "data": "current", "rows read": 120, "accepted": 117,
        "rejected": 3, "of them across sources": 0, "snapshot age (days)": 0.0, "error": "",
        "warnings": "1 row(s) held back, their theme not a code of the vocabulary: 'Burgerschap' (1); if a "
        "label means an allowed code, add it under values.theme in the entry in sources.yaml",
    }  # fmt: skip
    assert table["vredesschool-iati"]["of them across sources"] == 7
    summary = Artifact.get("partnerdata-release", _sync=True)
    assert summary.type == "markdown" and "# Release 1.0.0" in summary.data
    assert "| activities | 245 |" in summary.data and "activities.parquet" in summary.data
    assert (
        "## Warnings" in summary.data
        and "- hzk-leerweken (unknown-label): 1 row(s) held back, their theme" in summary.data
    )

    package = json.loads((release / "datapackage.json").read_text())
    assert package["version"] == "1.0.0" and package["licenses"][0]["name"] == "CC-BY-4.0"
    assert package["contributors"][0] == {
        "title": "partnerdata demo publisher", "role": "publisher", "path": "https://partnerdata.example.org",
        "type": "NonProfitOrganisation",
    }  # fmt: skip
    assert package["contact_point"]["email"] == "opendata@partnerdata.example.org"
    activities = next(r for r in package["resources"] if r["name"] == "activities")
    assert activities["parquet"]["path"] == "activities.parquet"
    assert activities["parquet"]["bytes"] == (release / "activities.parquet").stat().st_size
    snapshots = {s["source_id"]: s["sha256"] for s in package["provenance"]["snapshots"]}
    for meta in demo_project.raw.glob("*/*/meta.json"):
        recorded = json.loads(meta.read_text())
        assert snapshots[recorded["source_id"]] == recorded["sha256"]
    assert {"schema_sha256", "sources_yaml_sha256", "code_version", "fingerprint"} <= set(package["provenance"])
    assert {s["source_id"] for s in package["sources"]} == set(snapshots)
    hzk = next(s for s in package["sources"] if s["source_id"] == "hzk-leerweken")
    assert hzk["title"].startswith("Hogeschool Zuiderkempen") and hzk["status"] == "fetched"
    assert hzk["path"].endswith(".csv") and hzk["snapshot_fetched_at"].endswith("Z")

    # Rows are ordered by primary key in both files, and the counts match the demo.
    csv_ids = pd.read_csv(release / "activities.csv", dtype=str)["activity_id"].tolist()
    assert csv_ids == sorted(csv_ids) == pq.read_table(release / "activities.parquet").column("activity_id").to_pylist()
    assert activities["rows"] == len(csv_ids) == 245


def test_parquet_files_carry_the_declared_types(demo_project, capsys):
    assert _run(demo_project, capsys)[0] == 0
    latest = demo_project.published / "latest"
    schema = pq.read_schema(latest / "activities.parquet")
    assert schema.field("start_date").type == pa.date32()
    assert schema.field("participants_total").type == pa.int64()
    assert schema.field("contact_hours").type == pa.float64()
    assert schema.field("target_groups").type == pa.list_(pa.string())
    assert b"Number of participants" in schema.field("participants_total").metadata[b"description"]
    assert pq.read_schema(latest / "projects.parquet").field("call_year").type == pa.int32()

    for resource in ("activities", "projects", "organisations", "project_partners"):
        path = latest / f"{resource}.parquet"
        rows = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
        assert rows == pq.read_metadata(path).num_rows > 0
    types = {row[0]: row[1] for row in duckdb.sql(f"DESCRIBE SELECT * FROM '{latest}/activities.parquet'").fetchall()}
    assert (
        types["start_date"] == "DATE"
        and types["participants_total"] == "BIGINT"
        and types["target_groups"] == "VARCHAR[]"
    )
    per_theme = duckdb.sql(f"SELECT theme, count(*) FROM '{latest}/activities.parquet' GROUP BY theme").fetchall()
    assert sum(n for _, n in per_theme) == 245
    # One query over every file of latest, and a join across two of them.
    everything = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{latest}/*.parquet', union_by_name = true, filename = true)"
    ).fetchall()[0][0]
    assert everything == sum(pq.read_metadata(p).num_rows for p in latest.glob("*.parquet"))
    joined = duckdb.sql(
        f"SELECT count(*) FROM '{latest}/project_partners.parquet' pp "
        f"JOIN '{latest}/organisations.parquet' o USING (organisation_id)"
    ).fetchall()[0][0]
    assert joined == pq.read_metadata(latest / "project_partners.parquet").num_rows  # every reference resolves

    frame = pd.read_parquet(latest / "activities.parquet", dtype_backend="numpy_nullable")
    assert str(frame["participants_total"].dtype) == "Int64"
    assert isinstance(frame["start_date"].dropna().iloc[0], type(pd.Timestamp("2020-01-01").date()))
    projects = pd.read_parquet(latest / "projects.parquet", dtype_backend="numpy_nullable")
    assert str(projects["eu_grant_eur"].dtype) == "Float64" and str(projects["call_year"].dtype) == "Int32"
    assert str(projects["is_good_practice"].dtype) == "boolean"


def test_bad_demo_records_land_in_the_private_reports_not_in_the_release(demo_project, capsys):
    status, out, _ = _run(demo_project, capsys)
    assert status == 0
    # The planted unknown codes are the run's only warnings; of the 9 IATI records rejected, the 7
    # partner rows of the two rejected activities, rejected by the checks across sources, are told apart.
    warned = [line.strip() for line in out.splitlines() if line.strip().startswith("warning: ")]
    assert [line.split(" held back, ")[0] for line in warned] == [
        "warning: hzk-leerweken: 1 row(s)",
        "warning: vredesschool-iati: 1 row(s)",
    ], out
    assert "'Burgerschap' (1)" in warned[0] and "'9' (1)" in warned[1]
    assert "rejected    9 (7 across sources)" in out
    reports = demo_project.reports / "latest"
    assert reports.is_symlink()
    rejected = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in reports.glob("*/rejected.csv"))
    found = {(r.source_id, r.position, r.field, r.rule) for r in rejected.itertuples() if r.rule != "foreign-key"}
    iati = "iati-activity BE-BCE_KBO-0999999999-"
    assert found == {
        ("hzk-leerweken", "line 25", "title", "required"),
        ("hzk-leerweken", "line 59", "end_date", "end-not-before-start"),
        ("hzk-leerweken", "line 81", "theme", "enum"),
        ("btc-guest-lectures", "line 34", "activity_id", "primary-key"),
        ("wereldschool-activities", "data.activities[31]", "start_date", "required"),
        ("na-projecten", "sheet Projecten row 23", "project_id", "pattern"),
        ("vredesschool-iati", iati + "RW-GEN-2020", "status", "enum"),  # activity-status code 9
        ("vredesschool-iati", iati + "EC-INC-2022", "title", "required"),  # a title without narrative
    }
    # The partner rows of the two rejected IATI projects are rejected too, as broken references.
    cascaded = rejected[rejected["rule"] == "foreign-key"]
    assert set(cascaded["value"]) == {"BE-BCE_KBO-0999999999-RW-GEN-2020", "BE-BCE_KBO-0999999999-EC-INC-2022"}
    assert "Burgerschap" in rejected["value"].tolist()
    letter = (reports / "hzk-leerweken" / "report.md").read_text()
    assert "line 81" in letter and "Burgerschap" in letter and "How to fix: use one of the codes" in letter
    assert "values.theme in sources.yaml" in rejected[rejected["value"] == "Burgerschap"]["hint"].item()

    validation = json.loads((demo_project.published / "latest" / "validation.json").read_text())
    by_source = {s["source_id"]: s for s in validation["sources"]}
    assert by_source["hzk-leerweken"]["rows_rejected"] == 3
    assert by_source["hzk-leerweken"]["rejected_positions"] == ["line 25", "line 59", "line 81"]
    assert validation["organisation_conflicts"] == [
        {
            "organisation_id": "DEMO-BTC",
            "kept_from": "btc-guest-lectures",
            "other_source": "na-organisaties",
            "fields": ["city"],
        }
    ]
    published = _published_text(demo_project)
    planted = ("an.peeters@school.example", "lies.wouters@gbs-horizon.example", "0470 00 12 34", "+31 20 000 0000",
               "mlopez@maestrosandinos.example", "0470 00 88 12", "+32 9 000 77 41", "els.devos", "vredesschool.example")  # fmt: skip
    for private in ("HZK-2019-003", "2018-BE02-KA101-4678", "zuiderkempen.example", "wereldschool.example", *planted):
        assert private not in published  # rejected values and contact data stay private


def test_a_second_run_with_nothing_changed_publishes_nothing(demo_project, capsys):
    assert _run(demo_project, capsys)[0] == 0
    snapshots = sorted(demo_project.raw.glob("*/*/meta.json"))
    before = {p: p.stat().st_mtime_ns for p in demo_project.published.rglob("*") if p.is_file()}
    status, out, _ = _run(demo_project, capsys)
    assert status == 0
    assert "nothing changed since release 1.0.0" in out
    assert "warning" not in out  # a delivery warns once, when a release first uses it
    assert _releases(demo_project) == ["1.0.0"]
    assert sorted(demo_project.raw.glob("*/*/meta.json")) == snapshots  # same bytes: no new snapshot
    assert {p: p.stat().st_mtime_ns for p in demo_project.published.rglob("*") if p.is_file()} == before


def test_changed_partner_data_makes_a_new_minor_release(demo_project, capsys):
    assert _run(demo_project, capsys)[0] == 0
    partner_file = demo_project.root / "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"
    with open(partner_file, "a", encoding="utf-8") as out:
        out.write(
            "BTC-GL-2024-01,webinar,A new webinar on feedback,,,2024-05-02,2024-05-02,Brussels,BE,teachers,,40,0,1.5,\n"
        )
    status, out, _ = _run(demo_project, capsys)
    assert status == 0 and "release 1.1.0" in out
    assert _releases(demo_project) == ["1.0.0", "1.1.0"]
    assert os.readlink(demo_project.published / "latest") == "releases/1.1.0"
    assert len(list((demo_project.raw / "btc-guest-lectures").glob("*/meta.json"))) == 2
    assert len(list((demo_project.raw / "hzk-leerweken").glob("*/meta.json"))) == 1
    ids = pd.read_csv(demo_project.published / "latest" / "activities.csv", dtype=str)["activity_id"]
    assert "BTC-GL-2024-01" in ids.tolist()


def test_only_refetches_the_named_source(demo_project, capsys):
    assert _run(demo_project, capsys)[0] == 0
    status, out, _ = _run(demo_project, capsys, "--only", "hzk-leerweken")
    assert status == 0
    lines = {
        line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("  ") and len(line.split()) > 1
    }
    assert lines["hzk-leerweken"] == "unchanged"
    assert lines["na-partners"] == "reused"


def _http_project(tmp_path: Path, server, *, lock_timeout: float = 60) -> Project:
    """A project with one partner served over HTTP by the loopback server, plus a local file."""
    settings = {"lock_timeout_seconds": lock_timeout}
    return remote_and_local_project(tmp_path, server, settings, retries=1, backoff_seconds=0.05)


REMOTE_CSV = b"id,title,start\nR-1,Remote workshop,2021-03-01\nR-2,Remote lecture,2021-03-08\n"


def test_a_failing_partner_falls_back_to_its_last_snapshot_and_exits_3(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, REMOTE_CSV, {"Content-Type": "text/csv"}))
    assert _run(project, capsys)[0] == 0
    partner_server.serve("/export.csv", Response(500, b"Internal Server Error"))
    status, out, err = _run(project, capsys)
    assert status == 3
    last = err.strip().splitlines()[-1]
    assert "remote (gave up after 2 attempt(s): HTTP 500 from http://127.0.0.1" in last and "last good data" in last
    assert "fallback" in out
    assert _releases(project) == ["1.0.0"]  # the same data: no new release, latest kept
    ids = pd.read_csv(project.published / "latest" / "activities.csv")["activity_id"].tolist()
    assert ids == ["L-1", "R-1", "R-2"]


def test_a_degraded_run_ends_in_a_visible_failed_state_and_notifies_the_maintainers(
    tmp_path, partner_server, capsys, monkeypatch
):
    """Nobody watches the nightly run: a partner that failed makes the flow run end Failed (named
    Degraded) with a message naming the partner, the others are published, and the webhook gets a POST."""
    from prefect import get_client

    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-token")
    settings = {"notify_url": partner_server.base_url + "/hook?token=${HOOK_TOKEN}"}
    project = remote_and_local_project(tmp_path, partner_server, settings, retries=0)
    partner_server.serve("/export.csv", Response(503, b"down for maintenance"))
    status, out, err = _run(project, capsys)
    assert status == 3
    assert "maintainers notified at " + partner_server.base_url + "/hook?token=${HOOK_TOKEN}" in out + err
    assert "s3cr3t-token" not in out + err  # the expanded URL is never logged
    ((path, body),) = partner_server.posts
    assert path == "/hook?token=s3cr3t-token"
    payload = json.loads(body)
    assert payload["status"] == "degraded" and payload["flow"] == "nightly" and payload["version"] == "1.0.0"
    assert [s["source_id"] for s in payload["failed_sources"]] == ["remote"]
    assert "HTTP 503" in payload["failed_sources"][0]["error"]

    async def last_state():
        async with get_client() as client:
            run = await client.read_flow_run(payload["flow_run_id"])
            return run.state

    import asyncio

    state = asyncio.run(last_state())
    assert state.type.value == "FAILED" and state.name == "Degraded"
    assert "these partners failed" in state.message and "remote (" in state.message


def test_dry_run_publishes_nothing_and_republish_fetches_nothing(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, REMOTE_CSV, {"Content-Type": "text/csv"}))
    status, out, _ = _run(project, capsys, "--dry-run")
    assert status == 0 and "dry run" in out and _releases(project) == []
    assert (project.root / "reports" / "latest" / "remote" / "report.md").exists()
    fetched = len(partner_server.requests)
    status, out, _ = _run(project, capsys, "--no-fetch")
    assert status == 0 and _releases(project) == ["1.0.0"]
    assert len(partner_server.requests) == fetched  # from the raw snapshots only
    status, _, err = _run(project, capsys, "--no-fetch", "--only", "remote")
    assert status == 2 and "--no-fetch republishes every source" in err


def test_a_partner_that_never_answered_is_left_out_and_the_others_are_published(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(503, b"down for maintenance"))
    status, out, err = _run(project, capsys)
    assert status == 3
    assert "HTTP 503" in err.strip().splitlines()[-1]
    ids = pd.read_csv(project.published / "latest" / "activities.csv")["activity_id"].tolist()
    assert ids == ["L-1"]
    assert not (project.raw / "remote").exists() or not list((project.raw / "remote").glob("*/meta.json"))


def test_a_snapshot_with_too_many_rejected_rows_is_refused(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, REMOTE_CSV))
    assert _run(project, capsys)[0] == 0
    broken = b"id,title,start\nR-1,Remote workshop,01-03-2021\nR-2,Remote lecture,08-03-2021\nR-3,Fine,2021-03-09\n"
    partner_server.serve("/export.csv", Response(200, broken))
    status, out, err = _run(project, capsys)
    assert status == 3
    assert "2 of 3 rows rejected, more than max_rejected_share (20%)" in err
    ids = pd.read_csv(project.published / "latest" / "activities.csv")["activity_id"].tolist()
    assert ids == ["L-1", "R-1", "R-2"]  # the previous snapshot's rows, not a collapse
    assert len(list((project.raw / "remote").glob("*/meta.json"))) == 2  # the refused bytes are kept in raw/


def test_a_second_writer_waits_for_the_lock_then_exits_4(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server, lock_timeout=1)
    partner_server.serve("/export.csv", Response(200, REMOTE_CSV))
    with folder_lock(project.published, 1):
        status, _, err = _run(project, capsys)
    assert status == 4
    assert "another partnerdata run holds the lock" in err.strip().splitlines()[-1]
    assert _releases(project) == [] and not project.raw.exists()


def test_nothing_readable_exits_1_and_changes_nothing(tmp_path, partner_server, capsys):
    project = _http_project(tmp_path, partner_server)
    (project.root / "local.csv").write_text("", encoding="utf-8")
    partner_server.serve("/export.csv", Response(404, b"not found"))
    status, _, err = _run(project, capsys)
    assert status == 1
    assert "no source could be read" in err.strip().splitlines()[-1]
    assert _releases(project) == []


def test_a_release_whose_pointer_switch_was_interrupted_is_finished_not_duplicated(demo_project, capsys):
    assert _run(demo_project, capsys)[0] == 0
    partner_file = demo_project.root / "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"
    with open(partner_file, "a", encoding="utf-8") as out:
        out.write("BTC-GL-2024-02,webinar,Another webinar,,,2024-06-02,2024-06-02,Brussels,BE,teachers,,20,0,1,\n")
    assert _run(demo_project, capsys)[0] == 0
    # Simulate a crash after the rename of 1.1.0 but before latest moved: put the pointers back.
    published = demo_project.published
    (published / "latest").unlink()
    os.symlink("releases/1.0.0", published / "latest")
    pointer = json.loads((published / "latest.json").read_text())
    pointer.update(version="1.0.0", path="releases/1.0.0")
    (published / "latest.json").write_text(json.dumps(pointer))
    status, out, _ = _run(demo_project, capsys)
    assert status == 0
    assert _releases(demo_project) == ["1.0.0", "1.1.0"]  # no 1.2.0 with the same data
    assert os.readlink(published / "latest") == "releases/1.1.0"


def test_a_run_on_its_own_temporary_server_sends_no_heartbeats_and_one_on_a_server_does():
    """Heartbeats let a server mark a run crashed when they stop; a temporary server stops with the run.
    (The end of a flow run waits for the heartbeat thread, which sleeps in steps of a second.)"""
    from flows.nightly import run_settings
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    assert get_current_settings().api.url  # the session's test server
    with run_settings():
        assert get_current_settings().flows.heartbeat_frequency == 180  # Prefect's default, kept
    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # no server configured
        with run_settings():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == 180
