"""The inbox's JSON API for partners' own systems (issue 16), with requests: a status code for each
outcome, as the IATI Validator uses them, and the OpenAPI document that describes them."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile

import pytest
import requests

from partnerdata import cli
from partnerdata.collect.snapshots import list_snapshots, read_events
from partnerdata.inbox.tokens import TOKENS_FILE, TokenStore
from tests.inbox.conftest import BTC_FILE, Inbox

SOURCE = "btc-guest-lectures"


def _post(
    inbox: Inbox, what: str, body, token: str | None = None, source: str = SOURCE, **headers
) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{inbox.url}/api/v1/sources/{source}/{what}", data=body, headers=headers, timeout=60)


def _file(inbox: Inbox) -> bytes:
    return (inbox.project.root / BTC_FILE).read_bytes()


def test_a_file_checked_gets_its_report(inbox: Inbox):
    response = _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE], **{"X-File-Name": "lectures.csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["verdict"] == "rows-rejected" and report["rows_read"] == 70 and report["rows_rejected"] == 1
    assert report["file"] == "lectures.csv"
    assert report["problems"] == [{"rule": "primary-key", "title": "Repeated identifier", "field": "activity_id",
                                   "column": "activity_code", "problems": 1, "rows": 1}]  # fmt: skip
    assert report["findings"][0]["position"] == "line 34" and "hint" not in report["findings"][0]
    assert not list_snapshots(inbox.project.raw, SOURCE)  # checking delivers nothing


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("pdi_not-a-token", 401), ("hzk-leerweken", 403)],
)
def test_a_missing_or_wrong_token_gets_401_and_another_sources_403(inbox: Inbox, token, status):
    token = inbox.tokens.get(token, token)
    response = _post(inbox, "validate", _file(inbox), token)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["report"] is None  # nothing was read
    assert not (inbox.folder / "uploads" / SOURCE).exists() or not any((inbox.folder / "uploads" / SOURCE).iterdir())


def test_a_revoked_token_gets_401(inbox: Inbox, capsys):
    assert cli.main(["inbox", "token", SOURCE, "--revoke", "--sources", str(inbox.project.sources),
                     "--inbox", str(inbox.folder)]) == 0  # fmt: skip
    assert "1 token(s) revoked" in capsys.readouterr().out
    assert _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE]).status_code == 401


def test_a_file_over_max_bytes_gets_413_said_or_streamed(inbox: Inbox):
    big = _file(inbox) * 2  # 43 kB; the entry's max_bytes is 40,000
    assert _post(inbox, "validate", big, inbox.tokens[SOURCE]).status_code == 413
    streamed = _post(inbox, "validate", (big[i : i + 4096] for i in range(0, len(big), 4096)), inbox.tokens[SOURCE])
    assert streamed.status_code == 413  # chunked, no Content-Length: stopped once past the limit
    assert "40,000 bytes" in streamed.json()["message"]
    assert not any((inbox.folder / "uploads" / SOURCE).iterdir())  # nothing of it kept


def test_a_workbook_sent_to_a_csv_source_gets_415(inbox: Inbox):
    workbook = (inbox.project.root / "demo/partners/nationaal-agentschap/sample_erasmus_projecten.xlsx").read_bytes()
    response = _post(inbox, "validate", workbook, inbox.tokens[SOURCE])
    assert response.status_code == 415
    assert "takes CSV files; this one looks like a zip archive (XLSX)" in response.json()["message"]


def test_the_token_command_prints_a_token_once_and_keeps_its_hash(inbox: Inbox, capsys):
    arguments = [
        "inbox",
        "token",
        "na-projecten",
        "--sources",
        str(inbox.project.sources),
        "--inbox",
        str(inbox.folder),
    ]
    assert cli.main(arguments) == 0
    token = capsys.readouterr().out.splitlines()[-1]  # the last line of stdout
    assert token.startswith("pdi_") and len(token) > 40
    stored = (inbox.folder / TOKENS_FILE).read_text(encoding="utf-8")
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in {e["sha256"] for e in json.loads(stored)["tokens"]}
    assert oct((inbox.folder / TOKENS_FILE).stat().st_mode & 0o777) == "0o600"
    assert cli.main([*arguments[:2], "no-such-source", *arguments[3:]]) == 2


def test_a_file_that_cannot_be_read_gets_400(inbox: Inbox):
    token = TokenStore(inbox.folder).create("na-projecten")
    not_a_workbook = io.BytesIO()
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("hello.txt", "a zip archive, but not a workbook")
    response = _post(inbox, "validate", not_a_workbook.getvalue(), token, source="na-projecten")
    assert response.status_code == 400, response.text
    assert response.json()["report"]["refusal"] == "unreadable"


def test_too_many_rejected_rows_or_a_missing_column_get_422(inbox: Inbox):
    text = _file(inbox).decode("utf-8-sig")
    lines = text.splitlines()
    bad = [lines[0]] + [line.replace(",20", ",x20", 1) for line in lines[1:30]] + lines[30:]
    response = _post(inbox, "validate", "\n".join(bad).encode(), inbox.tokens[SOURCE])
    assert response.status_code == 422, response.text
    assert response.json()["report"]["refusal"] == "threshold"
    without_summary = "\n".join(line.replace(",summary,", ",note,", 1) for line in lines).encode()
    response = _post(inbox, "validate", without_summary, inbox.tokens[SOURCE])
    assert response.status_code == 422 and response.json()["report"]["refusal"] == "drift"


def test_a_delivery_becomes_the_next_snapshot_once(inbox: Inbox, caplog):
    caplog.set_level(logging.DEBUG)
    token = inbox.tokens[SOURCE]
    response = _post(inbox, "deliveries", _file(inbox), token, **{"X-File-Name": "lectures.csv"})
    assert response.status_code == 201, response.text
    delivery = response.json()["delivery"]
    (snapshot,) = list_snapshots(inbox.project.raw, SOURCE)
    assert delivery["snapshot"] == snapshot.name and delivery["outcome"] == "new-snapshot"
    assert snapshot.bodies[0].read_bytes() == _file(inbox)  # the checked bytes, as they were
    meta = snapshot.meta["delivery"]
    assert meta["via"] == "inbox" and meta["file_name"] == "lectures.csv" and meta["verdict"] == "rows-rejected"
    assert meta["by"].startswith("token ") and token not in json.dumps(snapshot.meta)
    (event,) = [e for e in read_events(inbox.project.raw, SOURCE) if e["event"] == "check"]
    assert event["outcome"] == "new-snapshot" and event["sha256"] == snapshot.sha256
    again = _post(inbox, "deliveries", _file(inbox), token)
    assert again.status_code == 201 and again.json()["delivery"]["outcome"] == "same-bytes"
    assert len(list_snapshots(inbox.project.raw, SOURCE)) == 1
    assert all(token not in record.getMessage() for record in caplog.records)  # tokens are never logged
    assert token not in (inbox.folder / TOKENS_FILE).read_text(encoding="utf-8")  # only its hash is kept


def test_a_file_that_would_be_refused_is_not_delivered(inbox: Inbox):
    lines = _file(inbox).decode("utf-8-sig").splitlines()
    bad = [lines[0]] + [line.replace(",20", ",x20", 1) for line in lines[1:30]] + lines[30:]
    response = _post(inbox, "deliveries", "\n".join(bad).encode(), inbox.tokens[SOURCE])
    assert response.status_code == 422
    assert not list_snapshots(inbox.project.raw, SOURCE)


def test_at_most_n_checks_run_at_once(inbox: Inbox):
    state = inbox.app.state.inbox
    for _ in range(2):  # both slots taken
        state.slots.acquire()
    object.__setattr__(state.settings, "wait_seconds", 0.2)
    try:
        response = _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE])
    finally:
        for _ in range(2):
            state.slots.release()
    assert response.status_code == 503
    assert _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE]).status_code == 200


def test_the_openapi_document_describes_the_api(inbox: Inbox):
    document = requests.get(f"{inbox.url}/openapi.json", timeout=10).json()
    paths = document["paths"]
    for path in ("/api/v1/sources/{source_id}/validate", "/api/v1/sources/{source_id}/deliveries"):
        operation = paths[path]["post"]
        assert {"400", "401", "403", "413", "415", "422"} <= set(operation["responses"])
        assert "application/octet-stream" in operation["requestBody"]["content"]
    assert not [p for p in paths if not p.startswith("/api/")]  # the pages are not part of the API
    assert requests.get(f"{inbox.url}/docs", timeout=10).status_code == 404  # no CDN-loaded viewer


def test_a_file_name_reaches_no_other_file(inbox: Inbox):
    """The name a partner gives is only a label: no folder, no clash with the check's own files."""
    before = sorted(p for p in inbox.project.root.rglob("*") if "uploads" not in p.parts)
    for name in ("../../check.json", "out", "..\\..\\sources.yaml"):
        response = _post(inbox, "deliveries", _file(inbox), inbox.tokens[SOURCE], **{"X-File-Name": name})
        assert response.status_code == 201, response.text
    after = sorted(p for p in inbox.project.root.rglob("*") if "uploads" not in p.parts)
    assert [p for p in after if p not in before and inbox.project.raw not in p.parents and p != inbox.project.raw] == []
    for check in (inbox.folder / "uploads" / SOURCE).glob("*/check.json"):
        json.loads(check.read_text(encoding="utf-8"))  # each check's record intact


def test_a_source_that_is_fetched_takes_checks_but_no_deliveries(inbox: Inbox):
    hzk = (inbox.project.root / "demo/partners/hogeschool-zuiderkempen/sample_leerweken_export.csv").read_bytes()
    assert _post(inbox, "validate", hzk, inbox.tokens["hzk-leerweken"], source="hzk-leerweken").status_code == 200
    response = _post(inbox, "deliveries", hzk, inbox.tokens["hzk-leerweken"], source="hzk-leerweken")
    assert response.status_code == 409 and "fetched from its address" in response.json()["message"]
    assert not list_snapshots(inbox.project.raw, "hzk-leerweken")


def test_a_broken_registry_or_token_file_is_503_not_a_crash(inbox: Inbox):
    good = inbox.project.sources.read_text(encoding="utf-8")
    inbox.project.sources.write_text(good + "\n  - this is: [not valid\n", encoding="utf-8")
    response = _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE])
    assert response.status_code == 503 and "registry" in response.json()["message"]
    inbox.project.sources.write_text(good, encoding="utf-8")
    (inbox.folder / TOKENS_FILE).write_text("{not json", encoding="utf-8")
    response = _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE])
    assert response.status_code == 503 and "cannot read its own files" in response.json()["message"]


def _form_session(inbox: Inbox) -> tuple[requests.Session, str]:
    """Signed in through the pages, as a browser would: the sign-in form's CSRF value and cookie, the token."""
    session = requests.Session()
    page = session.get(inbox.url + "/", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = session.post(inbox.url + "/sign-in", data={"csrf": csrf, "token": inbox.tokens[SOURCE]}, timeout=10)
    assert response.status_code == 200 and response.url.endswith("/upload")
    return session, re.search(r'name="csrf" value="([^"]+)"', response.text).group(1)


def test_the_forms_refuse_a_post_without_their_csrf_value(inbox: Inbox):
    session, csrf = _form_session(inbox)
    files = {"file": ("lectures.csv", _file(inbox), "text/csv")}
    assert session.post(inbox.url + "/upload", files=files, timeout=60).status_code == 403
    assert session.post(inbox.url + "/upload", files=files, data={"csrf": "forged"}, timeout=60).status_code == 403
    checked = session.post(inbox.url + "/upload", files=files, data={"csrf": csrf}, timeout=60)
    assert checked.status_code == 200 and "/uploads/" in checked.url
    deliver = checked.url + "/deliver"
    assert session.post(deliver, data={}, timeout=60).status_code == 403
    assert not list_snapshots(inbox.project.raw, SOURCE)
    fresh = requests.post(inbox.url + "/sign-in", data={"token": inbox.tokens[SOURCE]}, timeout=10)
    assert fresh.status_code == 403  # a sign-in posted from elsewhere has no CSRF cookie


def test_the_page_delivers_only_what_would_still_be_used(inbox: Inbox):
    """A check may be hours old: delivering judges the file again with the entry as it is now."""
    session, csrf = _form_session(inbox)
    files = {"file": ("lectures.csv", _file(inbox), "text/csv")}
    checked = session.post(inbox.url + "/upload", files=files, data={"csrf": csrf}, timeout=60)
    text = inbox.project.sources.read_text(encoding="utf-8")
    inbox.project.sources.write_text(text.replace("max_bytes: 40000", "max_bytes: 40000\n  max_rejected_share: 0.0", 1),
                                     encoding="utf-8")  # fmt: skip
    refused = session.post(checked.url + "/deliver", data={"csrf": csrf}, timeout=60)
    assert refused.status_code == 422 and "not delivered" in refused.text
    assert not list_snapshots(inbox.project.raw, SOURCE)
    inbox.project.sources.write_text(text, encoding="utf-8")
    delivered = session.post(checked.url + "/deliver", data={"csrf": csrf}, timeout=60)
    assert delivered.status_code == 200 and 'id="delivered"' in delivered.text
    assert len(list_snapshots(inbox.project.raw, SOURCE)) == 1
    again = session.post(checked.url + "/deliver", data={"csrf": csrf}, timeout=60)  # a second click
    assert again.status_code == 200 and len(list_snapshots(inbox.project.raw, SOURCE)) == 1


def test_token_options_given_before_the_token_action_are_kept(inbox: Inbox, capsys, tmp_path):
    arguments = ["inbox", "--inbox", str(inbox.folder), "--sources", str(inbox.project.sources), "token", SOURCE]
    assert cli.main([*arguments, "--revoke"]) == 0
    assert "1 token(s) revoked" in capsys.readouterr().out  # in the inbox folder given before `token`
    assert _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE]).status_code == 401


def test_a_third_upload_of_one_source_at_once_gets_429(inbox: Inbox):
    state = inbox.app.state.inbox
    state.receiving[SOURCE] = 2  # two uploads of the source are being received
    try:
        assert _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE]).status_code == 429
        hzk = (inbox.project.root / "demo/partners/hogeschool-zuiderkempen/sample_leerweken_export.csv").read_bytes()
        assert _post(inbox, "validate", hzk, inbox.tokens["hzk-leerweken"], source="hzk-leerweken").status_code == 200
    finally:
        state.receiving[SOURCE] = 0
    assert _post(inbox, "validate", _file(inbox), inbox.tokens[SOURCE]).status_code == 200
