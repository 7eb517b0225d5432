"""What the partner and the maintainer are told about a delivery (issue 14): a refused delivery gets a
letter about its own problems, in the partner's words; a run that succeeds still warns a person of what
it quietly let through (rows held back by an unknown label, a row count that moved, a field that
emptied, a file that stopped changing), in the summary, the artifacts, the webhook and the letter."""

from __future__ import annotations

import datetime as dt
import json
import time

import pandas as pd
import pytest

from partnerdata import cli
from partnerdata.collect.snapshots import list_snapshots
from tests.conftest import Project, remote_and_local_project
from tests.support.partner_server import Response

pytestmark = pytest.mark.usefixtures("prefect_engine")

MAINTAINER_WORDS = ("sources.yaml", "partnerdata accept", "max_", "warn_", "csv.", "json.", "erasmus_plus.")


def _csv(count: int, bad: int = 0, header: str = "id,title,start") -> bytes:
    rows = [f"R-{i},Remote workshop {i},2021-03-01" for i in range(count)]
    rows += [f"B-{i},Bad date,01/03/2021" for i in range(bad)]
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _run(project: Project, capsys) -> tuple[int, str, str]:
    status = cli.main(project.cli_args())
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _letter(project: Project) -> str:
    return (project.reports / "latest" / "remote" / "report.md").read_text(encoding="utf-8")


def _rejected(project: Project) -> pd.DataFrame:
    return pd.read_csv(project.reports / "latest" / "remote" / "rejected.csv", dtype=str, keep_default_na=False)


def _warnings(out: str) -> list[str]:
    return [line.strip().removeprefix("warning: ") for line in out.splitlines() if line.strip().startswith("warning: ")]


def _no_maintainer_hint(letter: str) -> None:
    for words in MAINTAINER_WORDS:
        assert words not in letter, f"{words!r} in the partner's letter:\n{letter}"
    assert "Every row passed" not in letter


def test_a_first_delivery_refused_for_its_rejected_rows_gets_them_all_in_its_letter(tmp_path, partner_server, capsys):
    """A first onboarding with a low acceptance rate is diagnosable without raising max_rejected_share,
    even when no source can be used and nothing is published."""
    project = remote_and_local_project(tmp_path, partner_server)
    (project.root / "local.csv").write_text("id,title,start\nL-1,Local seminar,01/05/2021\n", encoding="utf-8")
    partner_server.serve("/export.csv", Response(200, _csv(2, bad=8)))
    status, _, err = _run(project, capsys)
    assert status == 1 and "no source could be read, so nothing was published" in err.strip().splitlines()[-1]
    assert "8 of 10 rows rejected, more than max_rejected_share (20%)" in err.strip().splitlines()[-1]
    letter = _letter(project)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"## Your delivery of {today} was not used" in letter
    assert "8 of its 10 rows have problems, more than the 20% we accept in one delivery; the rows and" in letter
    assert "No data of yours is published until one of your deliveries can be used." in letter
    assert "- Rows read: 10; with problems: 8" in letter
    assert "| Value of the wrong kind | start_date | 8 |" in letter
    _no_maintainer_hint(letter)
    rejected = _rejected(project)
    assert rejected["position"].tolist() == [f"line {n}" for n in range(4, 12)]
    assert set(rejected["field"]) == {"start_date"} and set(rejected["value"]) == {"01/03/2021"}


def test_a_refused_delivery_and_the_one_published_instead_each_keep_their_rejected_rows(
    tmp_path, partner_server, capsys
):
    project = remote_and_local_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, _csv(10, bad=1)))  # 1 of 11 rejected: used
    assert _run(project, capsys)[0] == 0
    first = list_snapshots(project.raw, "remote")[0]
    partner_server.serve("/export.csv", Response(200, _csv(3, bad=5)))  # 5 of 8 rejected: refused
    status, _, err = _run(project, capsys)
    assert status == 3 and "5 of 8 rows rejected, more than max_rejected_share (20%)" in err
    rejected = _rejected(project)
    assert rejected["position"].tolist() == [f"line {n}" for n in range(5, 10)]  # the refused file's, not the old
    letter = _letter(project)
    assert (
        f"The data published for you is your delivery of {first.fetched_at.date().isoformat()} (snapshot "
        f"{first.name}): 10 of its 11 rows." in letter
    )
    assert "## The delivery published instead: 1 of its rows left out" in letter
    refused, published = letter.split("## The delivery published instead")
    assert "| line 5 |" in refused and "| line 9 |" in refused and "| line 12 |" in published
    _no_maintainer_hint(letter)


def test_a_refused_drop_says_which_delivery_is_published_instead(tmp_path, partner_server, capsys):
    project = remote_and_local_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, _csv(10)))
    assert _run(project, capsys)[0] == 0
    first = list_snapshots(project.raw, "remote")[0]
    partner_server.serve("/export.csv", Response(200, _csv(3)))
    status, _, err = _run(project, capsys)
    assert status == 3 and "run `partnerdata accept remote`" in err  # the maintainer's hint, for the maintainer
    letter = _letter(project)
    assert "was not used: it has 3 rows where your previous delivery had 10; if you removed those records" in letter
    assert (
        f"The data published for you is your delivery of {first.fetched_at.date().isoformat()} (snapshot "
        f"{first.name}): 10 of its 10 rows." in letter
    )
    _no_maintainer_hint(letter)
    assert _rejected(project).empty  # the refused file has no rejected rows: its row count is the problem


@pytest.mark.parametrize(
    ("body", "for_the_partner", "for_the_maintainer"),
    [
        (_csv(3, header="id,name,start"), "the column(s) 'title' that we read are missing; columns we do not read: 'name'",
         "fix the mapping in sources.yaml"),
        (_csv(3, header="id,title,start,a,b"), "it is past one of the limits we set for the files of your source (its "
         "columns); if the file is complete and genuine, tell us", "raise max_columns in the entry of remote"),
        (_csv(3, header="id;title;start").replace(b",", b";"), "the header row has a single column 'id;title;start'",
         "is csv.delimiter (',') right?"),
    ],
    ids=["renamed-column", "other-delimiter", "past-a-limit"],
)  # fmt: skip
def test_an_unreadable_delivery_tells_the_partner_what_is_wrong_and_the_maintainer_what_to_change(
    tmp_path, partner_server, capsys, body, for_the_partner, for_the_maintainer
):
    project = remote_and_local_project(tmp_path, partner_server, max_columns=3)
    partner_server.serve("/export.csv", Response(200, _csv(3)))
    assert _run(project, capsys)[0] == 0
    partner_server.serve("/export.csv", Response(200, body))
    status, _, err = _run(project, capsys)
    assert status == 3 and for_the_maintainer in err.strip().splitlines()[-1]
    letter = _letter(project)
    assert f"was not used: {for_the_partner}." in letter
    assert "The data published for you is your delivery of " in letter
    _no_maintainer_hint(letter)


def test_a_clean_run_has_no_warning_and_notifies_nobody_and_a_quiet_drop_warns_everyone(
    tmp_path, partner_server, capsys
):
    settings = {"notify_url": partner_server.base_url + "/hook"}
    project = remote_and_local_project(tmp_path, partner_server, settings)
    partner_server.serve("/export.csv", Response(200, _csv(10)))
    status, out, _ = _run(project, capsys)
    assert status == 0 and _warnings(out) == [] and partner_server.posts == []
    assert "Every row passed every check. Thank you!" in _letter(project)

    partner_server.serve("/export.csv", Response(200, _csv(7)))  # 30%: under max_row_drop_share, over the warning
    status, out, err = _run(project, capsys)
    assert status == 0 and "release 1.1.0" in out, err
    first = list_snapshots(project.raw, "remote")[0]
    assert _warnings(out) == [
        f"remote: its row count fell from 10 to 7 since snapshot {first.name}, by more than warn_row_change_share "
        "(20%); published, as it is within the thresholds"
    ]
    ((path, body),) = partner_server.posts
    payload = json.loads(body)
    assert path == "/hook" and payload["status"] == "warnings" and payload["version"] == "1.1.0"
    assert payload["failed_sources"] == []
    assert [(w["source_id"], w["kind"]) for w in payload["warnings"]] == [("remote", "row-change")]
    assert "1 warning(s): remote (row-change)" in payload["message"]
    letter = _letter(project)
    assert "## Please check" in letter
    assert "- your delivery has 7 rows where the previous one had 10; if records are missing by mistake" in letter

    from prefect.artifacts import Artifact

    table = {row["source"]: row for row in json.loads(Artifact.get("partnerdata-sources", _sync=True).data)}
    assert (
        table["remote"]["warnings"].startswith("its row count fell from 10 to 7") and table["local"]["warnings"] == ""
    )
    markdown = Artifact.get("partnerdata-release", _sync=True).data
    assert "## Warnings" in markdown and "- remote (row-change): its row count fell from 10 to 7" in markdown


def test_an_unknown_label_and_an_emptied_field_warn_once(tmp_path, partner_server, capsys):
    columns = {"activity_id": "id", "title": "title", "start_date": "start", "activity_type": "kind",
               "description": "about"}  # fmt: skip
    constants = {"programme": "enspired", "country": "BE"}
    project = remote_and_local_project(
        tmp_path,
        partner_server,
        columns=columns,
        constants=constants,
        values={"activity_type": {"Les": "guest_lecture"}},
    )

    def delivery(abouts: int, kinds: list[str]) -> bytes:
        rows = [f"R-{i},Workshop {i},2021-03-01,{kinds[i] if i < len(kinds) else 'Les'},"
                + (f"About workshop {i}" if i < abouts else "") for i in range(10)]  # fmt: skip
        return ("id,title,start,kind,about\n" + "\n".join(rows) + "\n").encode()

    partner_server.serve("/export.csv", Response(200, delivery(10, [])))
    status, out, err = _run(project, capsys)
    assert status == 0 and _warnings(out) == [], out + err
    partner_server.serve("/export.csv", Response(200, delivery(1, ["Hackathon"])))
    status, out, err = _run(project, capsys)
    assert status == 0, err
    first = list_snapshots(project.raw, "remote")[0]
    assert _warnings(out) == [
        "remote: 1 row(s) held back, their activity_type not a code of the vocabulary: 'Hackathon' (1); if a "
        "label means an allowed code, add it under values.activity_type in the entry in sources.yaml",
        f"remote: field 'description' of activities is filled in 1 of 10 rows, where snapshot {first.name} filled "
        "it in 10 of 10",
    ]
    letter = _letter(project)
    assert "- 'about' is filled in only 1 of 10 rows, where your previous delivery filled it in 10 of 10" in letter
    assert "1 row(s) were left out because their 'kind' is not one we know: 'Hackathon' (1)" in letter

    (project.root / "local.csv").write_text("id,title,start\nL-1,Local seminar,2021-05-02\n", encoding="utf-8")
    status, out, _ = _run(project, capsys)  # the same delivery, in a new release: it warned already
    assert status == 0 and "release 1.1.1" in out and _warnings(out) == []


def test_a_file_that_stops_changing_warns_even_when_nothing_is_published(tmp_path, partner_server, capsys):
    settings = {"notify_url": partner_server.base_url + "/hook"}
    project = remote_and_local_project(tmp_path, partner_server, settings, warn_unchanged_days=0.00002)  # 1.7 s
    partner_server.serve("/export.csv", Response(200, _csv(3)))
    status, out, _ = _run(project, capsys)
    assert status == 0 and _warnings(out) == [] and partner_server.posts == []
    time.sleep(2)
    status, out, _ = _run(project, capsys)
    assert status == 0 and "nothing changed since release 1.0.0" in out
    (warned,) = _warnings(out)
    assert warned.startswith("remote: its file has not changed for 0.0 days (since snapshot ")
    assert "longer than warn_unchanged_days (2e-05)" in warned
    ((_, body),) = partner_server.posts
    payload = json.loads(body)
    assert payload["status"] == "warnings" and [w["kind"] for w in payload["warnings"]] == ["unchanged"]
