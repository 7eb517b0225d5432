"""``partnerdata validate FILE --source ID``: the nightly's verdict on one file, at once (issue 16).

Its findings equal a dry run's on the same file; each exit status (0 every row passes, 3 rows rejected,
5 refused as a whole, 2 configuration) has its test; and it fetches, publishes and records nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from partnerdata import cli
from tests.conftest import PROJECT_ROOT, Project

pytestmark = pytest.mark.usefixtures("prefect_engine")

BTC = "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"
HZK = "demo/partners/hogeschool-zuiderkempen/sample_leerweken_export.csv"


def _validate(project: Project, file: Path | str, source: str, out: Path, *extra: str) -> int:
    return cli.main([
        "validate", str(file), "--source", source, "--sources", str(project.sources), "--raw", str(project.raw),
        "--published", str(project.published), "--out", str(out), *extra,
    ])  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")


def _rejected(path: Path) -> list[dict[str, str]]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.drop(columns=["file"]).to_dict("records")


def _tree(folder: Path) -> dict[str, int]:
    return (
        {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))} if folder.exists() else {}
    )


@pytest.fixture
def published_demo(demo_project: Project, capsys) -> Project:
    assert cli.main(demo_project.cli_args()) == 0
    capsys.readouterr()
    return demo_project


def _plant_problems(project: Project) -> Path:
    """The guest lectures with a key another source uses, a reference to no project and a wrong date."""
    hzk_ids = pd.read_csv(project.root / HZK, sep=";", encoding="cp1252", dtype=str)["ID"]
    path = project.root / BTC
    rows = _rows(path)
    rows[4]["activity_code"] = hzk_ids.iloc[0]  # hzk-leerweken comes first in sources.yaml: it keeps the key
    rows[6]["project"] = "2099-1-BE02-KA107-999999"  # well formed, but no release has it
    rows[8]["from"] = "14/03/2016"  # no date_format: ISO dates only
    _write_rows(path, rows)
    return path


def test_its_findings_equal_a_dry_runs_on_the_same_file(published_demo: Project, tmp_path, capsys):
    project = published_demo
    path = _plant_problems(project)
    raw_before, published_before = _tree(project.raw), _tree(project.published)
    status = _validate(project, path, "btc-guest-lectures", tmp_path / "out")
    out, err = capsys.readouterr()
    assert status == 3, err
    assert "4 of 70 rows would be rejected; the file would be used without them" in err.splitlines()[-1]
    assert "keys and references checked against release 1.0.0" in out
    assert _tree(project.raw) == raw_before and _tree(project.published) == published_before  # nothing written

    assert cli.main(project.cli_args("--dry-run", "--only", "btc-guest-lectures")) == 0
    capsys.readouterr()
    nightly = _rejected(project.reports / "latest" / "btc-guest-lectures" / "rejected.csv")
    checked = _rejected(tmp_path / "out" / "rejected.csv")
    assert checked == nightly
    assert {"primary-key", "foreign-key", "type"} <= {r["rule"] for r in checked}  # and the demo's own planted row
    assert pd.read_csv(tmp_path / "out" / "rejected.csv", dtype=str)["file"].unique().tolist() == [path.name]
    letter = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "This is a check of your file: nothing was delivered or published." in letter
    assert "would be left out: 4" in letter and "sources.yaml" not in letter


def test_a_file_whose_every_row_passes_exits_0(demo_project: Project, tmp_path, capsys):
    path = demo_project.root / "demo/partners/nationaal-agentschap/sample_erasmus_projecten.xlsx"
    assert _validate(demo_project, path, "na-organisaties", tmp_path / "out", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "passed" and report["rows_rejected"] == 0 and report["rows_read"] > 0
    assert "Every row passes every check" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_without_a_release_references_to_other_sources_are_not_counted_against_the_file(demo_project, tmp_path, capsys):
    """The activities refer to projects that other sources deliver: only a release holds them."""
    assert _validate(demo_project, demo_project.root / HZK, "hzk-leerweken", tmp_path / "out", "--json") == 3
    report = json.loads(capsys.readouterr().out)
    assert {p["rule"] for p in report["problems"]} == {"end-not-before-start", "enum", "required"}
    assert any("reference(s) to other records were not checked" in note for note in report["notes"])
    letter = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Note: there is no release yet, so 10 reference(s) to other records were not checked" in letter


def test_a_file_that_cannot_be_read_exits_5_with_the_reason(demo_project: Project, tmp_path, capsys):
    path = tmp_path / "projecten.xlsx"
    path.write_bytes(b"this is not a workbook\n")
    assert _validate(demo_project, path, "na-projecten", tmp_path / "out") == 5
    last = capsys.readouterr().err.splitlines()[-1]
    assert "would be refused as a whole" in last and "zip" in last.lower(), last
    assert "not be used" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_a_file_past_max_bytes_exits_5(demo_project: Project, tmp_path, capsys):
    document = (demo_project.sources).read_text(encoding="utf-8")
    document = document.replace(
        "  - source_id: btc-guest-lectures\n", "  - source_id: btc-guest-lectures\n    max_bytes: 1000\n"
    )
    demo_project.sources.write_text(document, encoding="utf-8")
    assert _validate(demo_project, demo_project.root / BTC, "btc-guest-lectures", tmp_path / "out") == 5
    assert "max_bytes" in capsys.readouterr().err.splitlines()[-1]


def test_too_many_rejected_rows_exit_5(demo_project: Project, tmp_path, capsys):
    path = demo_project.root / BTC
    rows = _rows(path)
    for row in rows[:30]:
        row["from"] = "14/03/2016"
    _write_rows(path, rows)
    assert _validate(demo_project, path, "btc-guest-lectures", tmp_path / "out", "--json") == 5
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "refused" and "more than the 20% we accept" in report["why"]
    assert len(_rejected(tmp_path / "out" / "rejected.csv")) == 31  # ours and the demo's planted row: still listed


def test_drift_since_the_last_good_snapshot_exits_5(published_demo: Project, tmp_path, capsys):
    path = published_demo.root / BTC
    rows = _rows(path)
    for row in rows:
        row["summary"] = ""  # filled in every row of the published delivery
    _write_rows(path, rows)
    assert _validate(published_demo, path, "btc-guest-lectures", tmp_path / "out", "--json") == 5
    report = json.loads(capsys.readouterr().out)
    assert "'summary' is empty in every row" in report["why"]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--source", "no-such-source"], "no source 'no-such-source'"),
        (["--source", "btc-guest-lectures", "--sources", "missing.yaml"], "missing.yaml"),
    ],
)
def test_a_wrong_source_or_registry_exits_2(demo_project: Project, tmp_path, capsys, arguments, said):
    status = cli.main(["validate", str(demo_project.root / BTC), "--out", str(tmp_path / "out"),
                       *(["--sources", str(demo_project.sources)] if "--sources" not in arguments else []),
                       *arguments])  # fmt: skip
    assert status == 2
    assert said in capsys.readouterr().err.splitlines()[-1]


def test_a_missing_file_exits_2(demo_project: Project, tmp_path, capsys):
    assert _validate(demo_project, tmp_path / "nothing.csv", "btc-guest-lectures", tmp_path / "out") == 2
    assert "nothing.csv: no such file" in capsys.readouterr().err


def test_it_starts_no_prefect(demo_project: Project, tmp_path):
    script = (
        "import sys\nfrom partnerdata import cli\n"
        f"status = cli.main(['validate', {str(demo_project.root / BTC)!r}, '--source', 'btc-guest-lectures', "
        f"'--sources', {str(demo_project.sources)!r}, '--out', {str(tmp_path / 'out')!r}])\n"
        "assert 'prefect' not in sys.modules, 'validate imported Prefect'\nsys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr


def test_an_out_folder_that_cannot_be_made_exits_2(demo_project: Project, tmp_path, capsys):
    (tmp_path / "taken").write_text("a file where the folder would go")
    assert _validate(demo_project, demo_project.root / BTC, "btc-guest-lectures", tmp_path / "taken") == 2
    assert "taken" in capsys.readouterr().err.splitlines()[-1]


def test_a_defect_exits_1_and_says_it_is_not_the_files_fault(demo_project: Project, tmp_path, capsys, monkeypatch):
    from partnerdata.run import trial

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(trial, "prepare_source", broken)
    assert _validate(demo_project, demo_project.root / BTC, "btc-guest-lectures", tmp_path / "out") == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert (
        "partnerdata defect while checking" in last and "RuntimeError: a bug" in last and "not the file's fault" in last
    )


def test_a_clean_file_without_a_release_is_not_said_to_pass_every_check(demo_project: Project, tmp_path, capsys):
    """Its references to other sources' records could not be checked: the letter says so, not "every check"."""
    path = demo_project.root / HZK
    text = path.read_bytes().decode("cp1252").splitlines()
    keep = [text[0]] + [line for line in text[1:] if "Burgerschap" not in line and ";;" not in line]
    path.write_bytes(("\r\n".join(keep) + "\r\n").encode("cp1252"))
    status = _validate(demo_project, path, "hzk-leerweken", tmp_path / "out", "--json")
    report = json.loads(capsys.readouterr().out)
    letter = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert report["rows_rejected"] == 0, report["problems"]  # the demo's planted rows were taken out
    assert status == 0 and report["notes"]
    assert "Every row passes every check" not in letter
    assert "Every row passes the checks that could be made (see the notes)" in letter
