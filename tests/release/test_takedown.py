"""Maintainer commands cannot destroy, and a takedown takes the data down.

A version or snapshot typed by a person becomes a path: it must name what exists, exactly,
and nothing outside the given folders is ever read, written or deleted. A purge removes the
purged values from everything under published/, the changelogs of other releases included.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import frictionless
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.release.publish import publish_release
from partnerdata.release.purge import resume_purge
from tests.integration.test_hostile import GOOD_CSV, hostile_project, last_line, run
from tests.support.release_data import demo_tables


def _published_text(folder) -> str:
    """Every byte under published/ as text, Parquet files as the text of their rows."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            if path.suffix == ".parquet":
                parts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
            else:
                parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


@pytest.mark.usefixtures("prefect_engine")
def test_a_purge_removes_the_purged_values_from_every_file_under_published(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "bad.json", "format": "json"})
    private = "Workshop met Marie Vandenbroucke (thuisadres Kerkstraat 7)"
    records = [{"id": "J-1", "title": "Seminar", "start": "2021-04-02"}]
    (project.root / "bad.json").write_text(json.dumps(records))
    assert run(project, capsys)[0] == 0  # 1.0.0
    records[0]["title"] = private  # a partner puts a person's name and address in a title
    (project.root / "bad.json").write_text(json.dumps(records))
    assert run(project, capsys)[0] == 0  # 1.0.1 publishes it; its CHANGES.md shows it as the new value
    records[0]["title"] = "Seminar on multilingualism"  # the partner corrects it
    (project.root / "bad.json").write_text(json.dumps(records))
    assert run(project, capsys)[0] == 0  # 1.0.2 shows it as the old value
    assert private in _published_text(project.published)

    status = cli.main(
        ["release", "withdraw", "1.0.1", "--reason", "personal data", "--purge",
         "--published", str(project.published), "--sources", str(project.sources), "--by", "tester"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0 and "removed from the changelogs of 1.0.1 (1), 1.0.2 (1)" in out, out
    text = _published_text(project.published)
    assert private not in text and "Vandenbroucke" not in text and "Kerkstraat" not in text
    assert "[removed: release 1.0.1 was purged]" in (project.published / "releases/1.0.2/CHANGES.md").read_text()

    # 1.0.2 is re-sealed: its files match SHA256SUMS, the log says why, and it is still a valid package.
    release = project.published / "releases" / "1.0.2"
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=release, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = [json.loads(line) for line in (project.published / "log.jsonl").read_text().splitlines()]
    resealed = [e for e in log if e["event"] == "resealed"]
    assert [e["version"] for e in resealed] == ["1.0.2"] and "purged release 1.0.1" in resealed[0]["reason"]
    assert set(resealed[0]["files"]) == {"CHANGES.md", "changes.json"}
    assert frictionless.validate(str(release / "datapackage.json")).valid
    changes = json.loads((release / "changes.json").read_text())
    assert changes["redactions"][0]["purged_release"] == "1.0.1"
    # The data users still have, and the next run, are not disturbed.
    assert os.readlink(project.published / "latest") == "releases/1.0.2"
    status, _, err = run(project, capsys)
    assert status == 0 and "Vandenbroucke" not in _published_text(project.published), err


def _releases(schemas, tmp_path):
    published = tmp_path / "published"
    tables = demo_tables(schemas, tmp_path / "work")
    publish_release(tables, schemas, published, dt.datetime(2026, 11, 25, tzinfo=dt.UTC), "fp", {}, [], {}, {})
    return published


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _withdraw(published, *args) -> int:
    return cli.main(["release", "withdraw", *args, "--published", str(published), "--by", "tester"])


@pytest.mark.parametrize(
    "typed",
    ["1.0.0/", "releases/1.0.0", "v1.0.0", " 1.0.0", "1.0", "../../../../victim", "1.0.0/../../../victim", "latest"],
)
def test_a_mistyped_version_changes_nothing_and_says_what_there_is(schemas, tmp_path, capsys, typed):
    published = _releases(schemas, tmp_path)
    victim = tmp_path / "victim"  # a folder outside published/ that looks like a release
    shutil.copytree(published / "releases" / "1.0.0", victim)
    before, outside = _tree(published), _tree(victim)
    capsys.readouterr()
    assert _withdraw(published, typed, "--reason", "personal data", "--purge") == 2
    line = last_line(capsys.readouterr().err)
    assert "there is no release" in line and "releases: 1.0.0" in line and "nothing was changed" in line, line
    if typed in ("1.0.0/", "releases/1.0.0", "v1.0.0", " 1.0.0"):
        assert "did you mean 1.0.0?" in line
    assert _tree(published) == before and _tree(victim) == outside


def test_a_release_folder_that_is_a_link_or_a_tampered_checksum_list_never_reaches_outside(schemas, tmp_path, capsys):
    published = _releases(schemas, tmp_path)
    victim = tmp_path / "victim"
    shutil.copytree(published / "releases" / "1.0.0", victim)
    outside = _tree(victim)
    os.symlink(victim, published / "releases" / "9.9.9")  # a "release" that is a link to elsewhere
    assert _withdraw(published, "9.9.9", "--reason", "takedown", "--purge") == 2
    assert _tree(victim) == outside
    # A SHA256SUMS that names a file outside its folder: the purge deletes what is inside only.
    sums = published / "releases" / "1.0.0" / "SHA256SUMS"
    sums.write_text(sums.read_text() + f"{'0' * 64}  ../../../victim/activities.csv\n")
    assert _withdraw(published, "1.0.0", "--reason", "takedown", "--purge") == 0
    assert _tree(victim) == outside
    assert not list((published / "releases" / "1.0.0").glob("*.csv"))


def test_a_reason_with_a_control_character_is_refused(schemas, tmp_path, capsys):
    published = _releases(schemas, tmp_path)
    before = _tree(published)
    assert _withdraw(published, "1.0.0", "--reason", "wrong\x0cdates") == 2
    assert "control character U+000C" in last_line(capsys.readouterr().err)
    assert _tree(published) == before


@pytest.mark.usefixtures("prefect_engine")
def test_accept_names_an_existing_snapshot_exactly(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "bad.csv", "format": "csv"})
    (project.root / "bad.csv").write_text(GOOD_CSV.replace("G-", "B-"), encoding="utf-8")
    assert run(project, capsys)[0] == 0
    before = _tree(project.raw)
    for typed in ("../../../etc", "", "*", project.raw.name):
        status = cli.main(
            ["accept", "bad", "--snapshot", typed, "--raw", str(project.raw), "--sources", str(project.sources)]
        )
        assert status == 2, typed
        assert "has no snapshot" in last_line(capsys.readouterr().err)
    status = cli.main(["accept", "../bad", "--raw", str(project.raw), "--sources", str(project.sources)])
    assert status == 2 and "no source '../bad'" in last_line(capsys.readouterr().err)
    assert _tree(project.raw) == before


def _retitled(tables, title):
    projects = tables["projects"]
    titles = [title, *projects.column("title").to_pylist()[1:]]
    index = projects.schema.get_field_index("title")
    return {**tables, "projects": projects.set_column(index, projects.schema.field(index), pa.array(titles))}


@pytest.mark.slow
def test_a_purge_killed_at_any_step_is_finished_by_the_next_command_and_leaks_nothing(schemas, tmp_path):
    """SIGKILL before each file-system step of a purge; then the next run finishes it (tidy_published
    calls resume_purge first thing, as `release withdraw` does)."""
    private = "Workshop met Marie Vandenbroucke"
    template = tmp_path / "template"
    tables = demo_tables(schemas, tmp_path / "work")
    for day, title in enumerate(["A seminar", private, "A seminar on multilingualism"]):
        publish_release(_retitled(tables, title), schemas, template, dt.datetime(2026, 11, 20 + day, tzinfo=dt.UTC),
                        f"fp{day}", {}, [], {}, {})  # fmt: skip
    steps = int(_purge_until(template, tmp_path / "count", 0).stdout.split()[0])
    assert steps > 20
    for at in range(1, steps + 1):
        published = tmp_path / f"crash-{at}"
        crashed = _purge_until(template, published, at)
        assert crashed.returncode == -signal.SIGKILL, (at, crashed.stderr[-2000:])
        # What data users see meanwhile: latest names a complete release that is not the purged one,
        # or (before the release is marked withdrawn) the newest.
        target = Path(os.readlink(published / "latest")).name
        assert target in ("1.0.2", "1.0.1") and (published / "releases" / target / "SHA256SUMS").is_file()
        journaled = (published / ".purge-pending.json").exists()
        resume_purge(published)  # what the next run's first step (tidy_published) and the next withdraw call
        if not journaled:  # killed before the purge began: nothing changed (but a temporary file)
            assert _visible_tree(published) == _visible_tree(template), at
            shutil.rmtree(published)
            continue
        assert not (published / ".purge-pending.json").exists()
        assert private not in _published_text(published), at
        for version in ("1.0.0", "1.0.2"):
            check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=published / "releases" / version,
                                   capture_output=True, text=True)  # fmt: skip
            assert check.returncode == 0, (at, version, check.stdout)
        assert os.readlink(published / "latest") == "releases/1.0.2"
        assert json.loads((published / "withdrawn.json").read_text())["1.0.1"]["purged"] is True
        assert not list((published / "releases" / "1.0.1").glob("*.parquet"))
        shutil.rmtree(published)


def _visible_tree(folder) -> dict[str, bytes]:
    """The releases and pointers (not temporary files, nor the catalogue a run rebuilds)."""
    catalogue = ("index.html", "catalog.json", "feed.xml", "catalog.ttl")
    return {
        name: data
        for name, data in _tree(folder).items()
        if not any(part.startswith(".") for part in Path(name).parts) and Path(name).name not in catalogue
    }


def _purge_until(template, published, at):
    if not published.exists():
        shutil.copytree(template, published, symlinks=True)
    return subprocess.run([sys.executable, "-m", "tests.support.crash_purge", str(published), "1.0.1", str(at)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
