"""Collection behaviour across runs, through the nightly flow on the real Prefect engine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from partnerdata import cli
from partnerdata.collect.snapshots import list_snapshots, read_events
from tests.conftest import Project, remote_and_local_project
from tests.support.partner_server import Response

pytestmark = pytest.mark.usefixtures("prefect_engine")

TOKEN = "Tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def _project(tmp_path: Path, server, **remote) -> Project:
    return remote_and_local_project(tmp_path, server, **remote)


def _csv(count: int, bad: int = 0) -> bytes:
    rows = [f"R-{i},Remote workshop {i},2021-03-01" for i in range(count)]
    rows += [f"B-{i},Bad date,01/03/2021" for i in range(bad)]
    return ("id,title,start\n" + "\n".join(rows) + "\n").encode()


def _run(project: Project, capsys, *extra: str) -> tuple[int, str, str]:
    status = cli.main(project.cli_args(*extra))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _published_ids(project: Project) -> list[str]:
    return pd.read_csv(project.published / "latest" / "activities.csv")["activity_id"].tolist()


def _everything_written(project: Project) -> bytes:
    folders = (project.raw, project.published, project.reports)
    return b"".join(p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file())


def test_a_prefect_secret_block_authorises_the_request_and_is_written_nowhere(tmp_path, partner_server, capsys):
    from prefect.blocks.system import Secret

    Secret(value=TOKEN).save("remote-partner-token", overwrite=True)
    project = _project(tmp_path, partner_server, headers={"Authorization": "Bearer ${secret:remote-partner-token}"})
    partner_server.serve("/export.csv", Response(200, _csv(2), require={"Authorization": f"Bearer {TOKEN}"}))
    status, out, err = _run(project, capsys)
    assert status == 0, err
    assert partner_server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    assert _published_ids(project) == ["L-1", "R-0", "R-1"]
    assert TOKEN.encode() not in _everything_written(project)
    assert TOKEN not in out + err


def test_a_missing_secret_block_is_a_configuration_error(tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server, headers={"Authorization": "Bearer ${secret:no-such-block}"})
    status, _, err = _run(project, capsys)
    assert status == 2
    assert (
        "key 'headers.Authorization': Prefect Secret block 'no-such-block' does not exist"
        in err.strip().splitlines()[-1]
    )
    assert not project.raw.exists()


def test_a_collapsing_row_count_is_refused_until_a_maintainer_accepts_it(tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, _csv(10)))
    assert _run(project, capsys)[0] == 0
    partner_server.serve("/export.csv", Response(200, _csv(3)))
    status, out, err = _run(project, capsys)
    assert status == 3
    assert "row count fell from 10 to 3, by more than max_row_drop_share (50%)" in err
    assert "run `partnerdata accept remote`" in err
    assert len(_published_ids(project)) == 11  # the last good snapshot's rows, not the collapse

    accepted = cli.main(
        ["accept", "remote", "--sources", str(project.sources), "--raw", str(project.raw), "--by", "maintainer-anna"]
    )
    assert accepted == 0 and "accepted by maintainer-anna" in capsys.readouterr().out
    status, out, _ = _run(project, capsys)
    assert status == 0 and "release 1.1.0" in out
    assert _published_ids(project) == ["L-1", "R-0", "R-1", "R-2"]
    accept = [e for e in read_events(project.raw, "remote") if e["event"] == "accept"]
    assert accept[0]["by"] == "maintainer-anna" and accept[0]["at"]


def test_a_fallback_older_than_the_maximum_age_is_dropped(tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server, max_fallback_age_days=0)
    partner_server.serve("/export.csv", Response(200, _csv(2)))
    assert _run(project, capsys)[0] == 0
    partner_server.serve("/export.csv", Response(500, b"down"))
    status, out, err = _run(project, capsys)
    assert status == 3
    assert "more than max_fallback_age_days (0), so its rows are left out" in err
    assert _published_ids(project) == ["L-1"]
    validation = json.loads((project.published / "latest" / "validation.json").read_text())
    remote = next(s for s in validation["sources"] if s["source_id"] == "remote")
    assert remote["status"] == "failed" and "HTTP 500" in remote["error"]
    package = json.loads((project.published / "latest" / "datapackage.json").read_text())
    assert [s["source_id"] for s in package["sources"]] == ["local"]


def test_fallback_status_age_and_error_are_published(tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, _csv(2)))
    assert _run(project, capsys)[0] == 0
    partner_server.serve(
        "/export.csv", Response(200, b"<html><body>Please log in</body></html>", {"Content-Type": "text/html"})
    )
    (project.root / "local.csv").write_text("id,title,start\nL-1,Local seminar,2021-05-01\nL-2,Another,2021-06-01\n")
    status, _, _ = _run(project, capsys)
    assert status == 3
    package = json.loads((project.published / "latest" / "datapackage.json").read_text())
    remote = next(s for s in package["sources"] if s["source_id"] == "remote")
    assert remote["status"] == "fallback" and "HTML page" in remote["error"]
    assert remote["snapshot_age_days"] is not None and remote["snapshot_age_days"] < 1
    validation = json.loads((project.published / "latest" / "validation.json").read_text())
    remote = next(s for s in validation["sources"] if s["source_id"] == "remote")
    assert remote["status"] == "fallback" and remote["snapshot"]["last_confirmed_at"]
    assert _published_ids(project) == ["L-1", "L-2", "R-0", "R-1"]


def test_retention_keeps_the_newest_snapshots_and_every_one_a_release_uses(tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server, retention_snapshots=1)
    partner_server.serve("/export.csv", Response(200, _csv(8)))
    assert _run(project, capsys)[0] == 0
    first = list_snapshots(project.raw, "remote")[0].name
    partner_server.serve("/export.csv", Response(200, _csv(8, bad=5)))  # refused: too many rejected rows
    assert _run(project, capsys)[0] == 3
    second = list_snapshots(project.raw, "remote")[-1].name
    partner_server.serve("/export.csv", Response(200, _csv(8, bad=6)))  # refused again
    assert _run(project, capsys)[0] == 3
    names = [s.name for s in list_snapshots(project.raw, "remote")]
    assert first in names and second not in names and len(names) == 2  # release 1.0.0's snapshot, and the newest
    removed = [e for e in read_events(project.raw, "remote") if e["event"] == "removed"]
    assert [e["snapshot"] for e in removed] == [second]


FAULTS = {
    "5xx": Response(500, b"Internal Server Error"),
    "429": Response(429, b"Too Many Requests", {"Retry-After": "0"}),
    "hang": Response(200, _csv(2), delay=2),
    "dropped": Response(200, _csv(5), truncate_to=25),
    "html": Response(200, b"<!DOCTYPE html><html><body>Log in</body></html>", {"Content-Type": "text/html"}),
    "empty": Response(200, b""),
    "oversize": Response(200, _csv(5000)),
    "gzip-bomb": Response(200, b"id,title,start\n" + b"9" * 3_000_000, gzip=True),
    "401": Response(401, b"Unauthorized"),
    "drift": Response(200, b"code,name,start\nR-0,Renamed columns,2021-03-01\n"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_fault_keeps_the_previous_data_and_names_the_source(fault, tmp_path, partner_server, capsys):
    project = _project(tmp_path, partner_server, timeout_seconds=0.5, max_bytes=50_000, retries=1, backoff_seconds=0.01)
    partner_server.serve("/export.csv", Response(200, _csv(2)))
    assert _run(project, capsys)[0] == 0
    snapshots = list_snapshots(project.raw, "remote")
    partner_server.serve("/export.csv", FAULTS[fault])
    status, out, err = _run(project, capsys)
    assert status == 3
    last = err.strip().splitlines()[-1]
    assert "remote (" in last and "last good data" in last  # the source and its error, on the last line
    assert _published_ids(project) == ["L-1", "R-0", "R-1"]  # the previous data is still published
    kept = list_snapshots(project.raw, "remote")
    assert kept[: len(snapshots)] == snapshots  # nothing lost, nothing overwritten
    summary = next(line for line in out.splitlines() if line.strip().startswith("remote"))
    assert summary.split()[1] == "fallback"
    assert _published_ids(project) == ["L-1", "R-0", "R-1"]


def test_at_most_eight_sources_are_fetched_at_once_in_process(tmp_path, partner_server, capsys):
    """The flow has more threads than that (on a Dask cluster each waits for a worker); in its own
    process it fetches MAX_PARALLEL_SOURCES at a time."""
    import threading
    import time

    from flows.nightly import MAX_PARALLEL_SOURCES

    from tests.conftest import dump_yaml

    lock, at_once = threading.Lock(), {"now": 0, "peak": 0}

    def slow(path: str, headers: dict) -> Response:  # answered while the others are still being fetched
        with lock:
            at_once["now"] += 1
            at_once["peak"] = max(at_once["peak"], at_once["now"])
        time.sleep(1)
        with lock:
            at_once["now"] -= 1
        return Response(200, _csv(2).replace(b"R-", path[1:4].encode() + b"-"))

    count = MAX_PARALLEL_SOURCES + 4
    root = tmp_path / "project"
    root.mkdir()
    entries = []
    for n in range(count):
        partner_server.serve(f"/s{n:02d}.csv", slow)
        entries.append({
            "source_id": f"college-{n:02d}", "organisation": {"id": f"ORG-{n:02d}", "name": f"College {n}", "country": "NL"},
            "url": f"{partner_server.base_url}/s{n:02d}.csv", "format": "csv", "resource": "activities",
            "columns": {"activity_id": "id", "title": "title", "start_date": "start"},
            "constants": {"programme": "enspired", "activity_type": "seminar", "country": "BE"}, "retries": 0,
        })  # fmt: skip
    (root / "sources.yaml").write_text(dump_yaml({"settings": {}, "sources": entries}), encoding="utf-8")
    status, _, err = _run(Project(root), capsys)
    assert status == 0, err[-3000:]
    assert len(partner_server.requests) == count
    assert 1 < at_once["peak"] <= MAX_PARALLEL_SOURCES, at_once
