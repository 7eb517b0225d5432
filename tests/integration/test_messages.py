"""Every failure names its cause: the last line on stderr says what happened to the run (a release,
no release, a dry run) and why each failing source failed; a configuration error is said once."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from partnerdata.config.layout import PROJECT_ROOT
from tests.conftest import dump_yaml
from tests.integration.test_hostile import hostile_project, last_line, run

pytestmark = pytest.mark.usefixtures("prefect_engine")


def test_a_run_in_which_every_source_failed_names_each_cause(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "missing.csv", "format": "csv"})
    (project.root / "good.csv").write_text("", encoding="utf-8")  # the good partner's file is empty today
    status, _, err = run(project, capsys)
    assert status == 1, err
    line = last_line(err)
    assert line.startswith("partnerdata: no source could be read, so nothing was published"), line
    assert "good (" in line and "empty" in line, line
    assert "bad (" in line and "missing.csv" in line, line
    assert "see the errors above" not in err


def test_the_last_line_says_whether_a_release_was_made(tmp_path, capsys):
    project = hostile_project(tmp_path, {"url": "missing.csv", "format": "csv"})
    status, _, err = run(project, capsys, "--dry-run")
    assert status == 3, err
    assert last_line(err).startswith("partnerdata: dry run, nothing published; these sources failed"), last_line(err)
    assert not (project.published / "latest.json").exists()

    status, _, err = run(project, capsys)
    assert status == 3, err
    assert last_line(err).startswith("partnerdata: published release 1.0.0, but these sources failed"), last_line(err)

    status, _, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert line.startswith("partnerdata: no new release was made, and these sources failed"), line
    assert "bad (" in line and "missing.csv" in line, line


@pytest.mark.parametrize(
    ("fmt", "body", "named"),
    [
        (
            "erasmus_plus",
            b'{"data": [{"Project Identifier": "x"}]}',
            "the file is JSON, not a Projects Overview export",
        ),
        ("erasmus_plus", b"<?xml version='1.0'?><iati-activities/>", "the file is XML, not a Projects Overview export"),
        ("iati", b"Project Identifier,Project Title\nx,y\n", "not IATI activity XML (it does not start with '<')"),
        ("iati", b'{"iati-activities": []}', "not IATI activity XML (it is JSON)"),
    ],
)
def test_a_standard_format_given_another_format_is_told_so(tmp_path, capsys, fmt, body, named):
    project = hostile_project(tmp_path, {"url": "bad.file", "format": fmt})
    document = yaml.safe_load(project.sources.read_text(encoding="utf-8"))
    for key in ("resource", "columns", "constants"):  # a standard format maps its own columns
        document["sources"][1].pop(key)
    project.sources.write_text(dump_yaml(document), encoding="utf-8")
    (project.root / "bad.file").write_bytes(body)
    status, _, err = run(project, capsys)
    assert status == 3, err
    line = last_line(err)
    assert "bad (" in line and named in line and "check the source's url and format" in line, line
    assert "delimiter" not in line


def test_a_configuration_error_is_said_once(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - source_id: a\n    url: a.csv\n    format: csv\n    lock: 1\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "partnerdata.cli", "run", "--sources", str(sources), "--raw", str(tmp_path / "raw"),
         "--published", str(tmp_path / "published"), "--reports", str(tmp_path / "reports")],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("partnerdata: configuration error:"), result.stderr
