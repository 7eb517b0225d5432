"""Drift in every format: a column or element the source's previous good snapshot had and this one
lacks, or a field that goes from mostly filled to empty in every row, refuses the snapshot (the
source falls back, exit 3) until a maintainer accepts it. Tried on copies of the real Erasmus+ and
IATI exports (renamed, dropped and reordered columns), and on a generic CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from partnerdata import cli
from tests.conftest import Project, dump_yaml

pytestmark = pytest.mark.usefixtures("prefect_engine")

ORGANISATION = {"id": "BE-EPRP", "name": "Erasmus+ Project Results Platform", "country": "BE"}


def run(project: Project, capsys, *extra: str) -> tuple[int, str]:
    status = cli.main(project.cli_args(*extra))
    return status, capsys.readouterr().err


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def project_of(tmp_path: Path, entry: dict) -> Project:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "sources.yaml").write_text(dump_yaml({"sources": [entry]}), encoding="utf-8")
    return Project(root)


def published(project: Project, resource: str) -> list[dict[str, str]]:
    text = (project.published / "latest" / f"{resource}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def latest_version(project: Project) -> str:
    return json.loads((project.published / "latest.json").read_text(encoding="utf-8"))["version"]


def verdicts(project: Project, source_id: str) -> list[dict]:
    lines = (project.raw / source_id / "checks.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == "verdict"]


def rewrite_csv(path: Path, change) -> None:
    """The export with ``change(header, rows)`` applied: it returns the new header and rows."""
    with open(path, encoding="utf-8", newline="") as file:
        header, *rows = list(csv.reader(file))
    header, rows = change(header, rows)
    with open(path, "w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])


def rename(old: str, new: str):
    return lambda header, rows: ([new if c == old else c for c in header], rows)


def drop(name: str):
    def change(header, rows):
        keep = [i for i, c in enumerate(header) if c != name]
        return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]

    return change


def reverse(header, rows):
    return header[::-1], [row[::-1] for row in rows]


@pytest.fixture
def erasmus(reference, tmp_path, capsys) -> Project:
    """A project whose one source is a copy of the real Erasmus+ export, published once."""
    project = project_of(
        tmp_path,
        {
            "source_id": "eprp",
            "url": "export.csv",
            "format": "erasmus_plus",
            "organisation": ORGANISATION,
            "max_rejected_share": 1.0,
        },  # fmt: skip  (nine rows are too few for a percentage threshold)
    )
    shutil.copy(reference / "erasmus-plus" / "eprp-projects-sample.csv", project.root / "export.csv")
    status, err = run(project, capsys)
    assert status == 0, err
    assert all(p["status"] for p in published(project, "projects"))
    return project


@pytest.mark.conformance
def test_a_renamed_optional_column_of_the_erasmus_export_is_refused_until_accepted(erasmus, capsys):
    version = latest_version(erasmus)
    rewrite_csv(erasmus.root / "export.csv", rename("Project Status", "Status"))
    status, err = run(erasmus, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "eprp (" in line and "refused" in line, line
    assert "'Project Status'" in line and "'Status'" in line and "partnerdata accept eprp" in line, line
    assert latest_version(erasmus) == version  # nothing published: the fallback is the release's own snapshot
    assert all(p["status"] for p in published(erasmus, "projects"))  # the statuses stay published
    newest = sorted(p.name for p in (erasmus.raw / "eprp").iterdir() if p.is_dir())[-1]
    assert [v["verdict"] for v in verdicts(erasmus, "eprp") if v["snapshot"] == newest] == ["refused"]

    assert cli.main(["accept", "eprp", "--raw", str(erasmus.raw), "--sources", str(erasmus.sources)]) == 0
    capsys.readouterr()
    status, err = run(erasmus, capsys)
    assert status == 0, err  # accepted: the maintainer said the change is real
    assert latest_version(erasmus) != version


@pytest.mark.conformance
def test_a_dropped_column_of_the_erasmus_export_is_refused_and_named(erasmus, capsys):
    rewrite_csv(erasmus.root / "export.csv", drop("Topics"))
    status, err = run(erasmus, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "'Topics'" in line and "no longer has" in line, line
    assert any(p["topics"] for p in published(erasmus, "projects"))


@pytest.mark.conformance
def test_reordered_columns_of_the_erasmus_export_are_no_drift(erasmus, capsys):
    version = latest_version(erasmus)
    rewrite_csv(erasmus.root / "export.csv", reverse)
    status, err = run(erasmus, capsys)
    assert status == 0, err
    assert not [v for v in verdicts(erasmus, "eprp") if v["verdict"] == "refused"]
    assert latest_version(erasmus) == version  # the same records: nothing to publish


@pytest.mark.conformance
def test_a_dropped_element_of_an_iati_file_is_refused_and_named(reference, tmp_path, capsys):
    project = project_of(
        tmp_path,
        {"source_id": "elf", "url": "activities.xml", "format": "iati", "max_rejected_share": 1.0,
         "organisation": {"id": "BE-BCE_KBO-0421210424", "name": "11.11.11", "country": "BE", "type": "ngo"}},
    )  # fmt: skip
    copy = project.root / "activities.xml"
    shutil.copy(reference / "iati" / "11-11-11-activities.xml", copy)
    status, err = run(project, capsys)
    assert status == 0, err
    before = {p["project_id"]: p["status"] for p in published(project, "projects")}
    assert any(before.values())

    text = copy.read_text(encoding="utf-8")
    copy.write_text(re.sub(r"<activity-status\b[^>]*/>", "", text), encoding="utf-8")
    status, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "elf (" in line and "refused" in line and "'activity-status'" in line, line
    assert {p["project_id"]: p["status"] for p in published(project, "projects")} == before


def generic_project(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Project:
    project = project_of(
        tmp_path,
        {"source_id": "college", "url": "export.csv", "format": "csv", "resource": "activities",
         "organisation": {"id": "ORG-C", "name": "College", "country": "BE"},
         "columns": {"activity_id": "id", "title": "title", "start_date": "start", "end_date": "end"},
         "constants": {"programme": "enspired", "activity_type": "seminar", "country": "BE"}},
    )  # fmt: skip
    write_generic(project, rows)
    return project


def write_generic(project: Project, rows: list[tuple[str, str, str]]) -> None:
    lines = ["id,title,start,end"] + [f"A-{i},Seminar {i},{start},{end}" for i, (start, end, _) in enumerate(rows)]
    (project.root / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_field_that_empties_in_every_row_is_refused(tmp_path, capsys):
    project = generic_project(tmp_path, [("2021-05-01", "2021-05-03", "")] * 10)
    status, err = run(project, capsys)
    assert status == 0, err
    write_generic(project, [("2021-05-01", "", "")] * 10)  # the partner's export lost its end dates
    status, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "college (" in line and "'end_date'" in line and "empty in every row" in line, line
    assert {a["end_date"] for a in published(project, "activities")} == {"2021-05-03"}


def test_a_field_that_was_seldom_filled_may_empty(tmp_path, capsys):
    project = generic_project(tmp_path, [("2021-05-01", "2021-05-03", "")] * 3 + [("2021-05-01", "", "")] * 7)
    status, err = run(project, capsys)
    assert status == 0, err
    write_generic(project, [("2021-05-01", "", "")] * 10)
    status, err = run(project, capsys)
    assert status == 0, err
