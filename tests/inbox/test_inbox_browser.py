"""The partner inbox in Debian's Chromium through Playwright (issue 16): a partner signs in, uploads its
file with problems, sees the counts and examples, downloads its workbook with the problems marked,
delivers it, and the next nightly publishes the delivered rows; a wrong token gets 401, another source's
check 403, an oversized file 413, and nothing uploaded is reachable without the token."""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
import requests
from openpyxl.utils import get_column_letter

from partnerdata import cli
from partnerdata.collect.history import load_history
from partnerdata.collect.snapshots import list_snapshots
from partnerdata.validate.annotate import MARK
from tests.inbox.conftest import BTC_FILE, Inbox
from tests.support.browser import chromium

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_engine")]
SOURCE = "btc-guest-lectures"


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


def _planted(inbox: Inbox, folder: Path) -> tuple[Path, list[str]]:
    """The guest lectures with two dates written the Belgian way (the source takes ISO dates only)."""
    text = (inbox.project.root / BTC_FILE).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    for number in (3, 10):
        year, month, day = rows[number][header.index("from")].split("-")
        rows[number][header.index("from")] = f"{day}/{month}/{year}"
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = folder / "lectures.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, header


def _status_of(page, action) -> int:
    with page.expect_response(lambda r: r.request.method == "POST" or r.request.resource_type == "document") as got:
        action()
    response = got.value
    return response.status if response.status not in (302, 303) else 200


def _nightly(inbox: Inbox) -> int:
    """The nightly, in a thread of its own: Playwright's event loop runs in this one, and Prefect's
    synchronous flows return coroutines where a loop runs."""
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(cli.main(inbox.project.cli_args())))
    thread.start()
    thread.join(600)
    return status[0]


def test_a_partner_checks_and_delivers_its_file_and_the_nightly_publishes_it(browser, inbox: Inbox, tmp_path):
    path, header = _planted(inbox, tmp_path)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(inbox.url) else None)

    page.goto(inbox.url + "/")
    page.fill("#token", "pdi_wrong")
    assert _status_of(page, lambda: page.click("button[type=submit]")) == 401
    assert "not valid" in page.text_content("#message")

    page.goto(inbox.url + "/")
    page.fill("#token", inbox.tokens[SOURCE])
    page.click("button[type=submit]")
    page.wait_for_url(inbox.url + "/upload")
    page.set_input_files("#file", str(path))
    page.click("button[type=submit]:has-text('Check the file')")
    page.wait_for_url(f"{inbox.url}/uploads/*")
    upload_id = page.url.rsplit("/", 1)[1]

    assert page.text_content("#rows-read").strip() == "70"
    assert page.text_content("#rows-rejected").strip() == "3"  # the two dates and the demo's repeated key
    counts = page.locator("#problem-counts tbody tr").all_inner_texts()
    assert sorted(" ".join(c.split()) for c in counts) == ["Repeated identifier activity_code 1",
                                                           "Value of the wrong kind from 2"]  # fmt: skip
    assert "Value of the wrong kind in from: 2 rows (3%)" in page.text_content("main")
    assert page.locator("table.context td.problem").count() >= 3  # each example with its neighbouring cells
    dates = page.locator("section.group", has_text="Value of the wrong kind in from").locator("td.problem")
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", dates.first.text_content())  # the partner's own cell, marked

    with page.expect_download() as got:
        page.click("text=Your file with the problems marked")
    assert got.value.suggested_filename == "lectures.annotated.xlsx"
    got.value.save_as(tmp_path / got.value.suggested_filename)
    workbook = openpyxl.load_workbook(tmp_path / got.value.suggested_filename)
    with page.expect_download() as got:
        page.click("text=Every problem, one per line")
    rejected = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text(encoding="utf-8"))))
    data = workbook["lectures"]
    marked = {c.coordinate for row in data.iter_rows() for c in row if c.fill.fill_type == "solid"
              and c.fill.fgColor.rgb == MARK.fgColor.rgb}  # fmt: skip
    columns = {"start_date": "from", "activity_id": "activity_code"}
    expected = {
        f"{get_column_letter(header.index(columns[r['field']]) + 1)}{r['position'].split()[-1]}" for r in rejected
    }
    assert marked == expected and len(rejected) == 3

    page.click("#deliver")
    page.wait_for_selector("#delivered")
    (snapshot,) = list_snapshots(inbox.project.raw, SOURCE)
    assert snapshot.bodies[0].read_bytes() == path.read_bytes()

    hzk = requests.post(f"{inbox.url}/api/v1/sources/hzk-leerweken/validate", timeout=60,
                        data=(inbox.project.root / "demo/partners/hogeschool-zuiderkempen/sample_leerweken_export.csv").read_bytes(),
                        headers={"Authorization": f"Bearer {inbox.tokens['hzk-leerweken']}"})  # fmt: skip
    assert hzk.status_code == 200
    assert page.goto(f"{inbox.url}/uploads/{hzk.json()['upload_id']}").status == 403  # another source's check

    page.goto(inbox.url + "/upload")
    big = tmp_path / "big.csv"
    big.write_bytes(path.read_bytes() * 2)
    page.set_input_files("#file", str(big))
    assert _status_of(page, lambda: page.click("button[type=submit]:has-text('Check the file')")) == 413
    assert "40,000 bytes" in page.text_content("#message")

    stranger = browser.new_context()  # no token, no session
    for where in (f"/uploads/{upload_id}", f"/uploads/{upload_id}/annotated.xlsx", f"/uploads/{upload_id}/rejected.csv",
                  f"/uploads/{upload_id}/report.md", f"/uploads/{upload_id}/lectures.csv"):  # fmt: skip
        assert stranger.request.get(inbox.url + where).status == 401, where
    assert context.request.get(f"{inbox.url}/uploads/{upload_id}/lectures.csv").status == 404  # never served
    assert not outside, outside  # the pages load nothing from another host

    assert _nightly(inbox) == 0
    activities = pq.read_table(inbox.project.published / "latest" / "activities.parquet").to_pandas()
    delivered = activities[activities["source_id"] == SOURCE]
    assert len(delivered) == 67
    assert load_history(inbox.project.raw, SOURCE).verdict(snapshot)["verdict"] == "good"
    context.close()
    stranger.close()
