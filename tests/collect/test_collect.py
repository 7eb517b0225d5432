"""Collection over HTTP from a real loopback server that injects every fault partners' servers have."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from partnerdata.collect.fetch import Clock, download
from partnerdata.collect.snapshots import list_snapshots, read_events, take_snapshot
from partnerdata.config.sources import Source, load_config
from partnerdata.errors import SourceError
from partnerdata.readers import READERS
from partnerdata.readers.base import position_list
from tests.conftest import dump_yaml
from tests.support.partner_server import Response

CSV = b"id,title,start\nA-1,First workshop,2021-03-01\nA-2,Second workshop,2021-03-08\n"
TOKEN = "s3cret-Token-0123456789abcdef"


def _source(schemas, tmp_path: Path, url: str, fmt: str = "csv", environ: dict | None = None, **extra) -> Source:
    entry = {
        "source_id": "partner",
        "organisation": {"id": "ORG-P", "name": "Partner college", "country": "BE"},
        "url": url,
        "format": fmt,
        "resource": "activities",
        "columns": {"activity_id": "id", "title": "title", "start_date": "start"},
        "constants": {"programme": "enspired", "activity_type": "workshop", "country": "BE"},
        "timeout_seconds": 2,
        "retries": 2,
        "backoff_seconds": 0.01,
        **extra,
    }
    path = tmp_path / "sources.yaml"
    path.write_text(dump_yaml({"sources": [entry]}), encoding="utf-8")
    return load_config(path, schemas, environ=environ or {}).source("partner")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_a_500_then_a_200_is_retried_and_kept(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(500, b"oops"), Response(200, CSV))
    snapshot, outcome = take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())
    assert outcome == "new-snapshot"
    assert snapshot.bodies[0].read_bytes() == CSV
    assert snapshot.meta["request"]["attempts"] == 2 and snapshot.meta["request"]["status"] == 200
    assert len(partner_server.requests) == 2


def test_429_waits_as_long_as_retry_after_says(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(429, b"slow down", {"Retry-After": "7"}), Response(200, CSV))
    sleeps: list[float] = []
    result = download(_source(schemas, tmp_path, url), tmp_path, None, Clock(sleep=sleeps.append))
    assert sleeps == [7.0]
    assert result.pages[0].read_bytes() == CSV


def test_backoff_doubles_with_jitter_and_stops_after_the_retries(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(503, b"busy"))
    sleeps: list[float] = []
    source = _source(schemas, tmp_path, url, retries=3, backoff_seconds=1)
    with pytest.raises(SourceError, match="gave up after 4 attempt\\(s\\): HTTP 503"):
        download(source, tmp_path, None, Clock(sleep=sleeps.append, random=lambda: 0.5))
    assert sleeps == [1.0, 2.0, 4.0]  # 1 s doubled each time, times a jitter factor in [0.5, 1.5)
    assert len(partner_server.requests) == 4


def test_other_4xx_are_not_retried(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(404, b"gone"))
    with pytest.raises(SourceError, match="HTTP 404 from .*/export.csv; not retried"):
        take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())
    assert len(partner_server.requests) == 1
    events = read_events(tmp_path / "raw", "partner")
    assert events[-1]["outcome"] == "failed" and "HTTP 404" in events[-1]["error"]


def test_the_total_time_per_source_is_bounded(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(503, b"busy", {"Retry-After": "3600"}))
    source = _source(schemas, tmp_path, url, retries=10, max_total_seconds=5)
    with pytest.raises(SourceError, match="the next retry \\(in 3600 s\\) would pass max_total_seconds \\(5 s\\)"):
        take_snapshot(source, tmp_path / "raw", _now())
    assert len(partner_server.requests) == 1


def test_a_hanging_server_times_out(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(200, CSV, delay=3))
    source = _source(schemas, tmp_path, url, timeout_seconds=0.3, retries=1)
    with pytest.raises(
        SourceError, match="gave up after 2 attempt\\(s\\): no answer within timeout_seconds \\(0.3 s\\)"
    ):
        take_snapshot(source, tmp_path / "raw", _now())
    assert list_snapshots(tmp_path / "raw", "partner") == []


def test_a_connection_dropped_mid_body_is_a_truncated_transfer(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(200, CSV, truncate_to=20))
    with pytest.raises(SourceError, match="truncated transfer"):
        take_snapshot(_source(schemas, tmp_path, url, retries=1), tmp_path / "raw", _now())
    assert list_snapshots(tmp_path / "raw", "partner") == []
    partner_server.serve("/export.csv", Response(200, CSV, truncate_to=20), Response(200, CSV))
    snapshot, _ = take_snapshot(_source(schemas, tmp_path, url, retries=1), tmp_path / "raw", _now())
    assert snapshot.bodies[0].read_bytes() == CSV  # the retry got it whole


def test_304_and_identical_bodies_mean_unchanged_and_are_logged(schemas, tmp_path, partner_server):
    raw = tmp_path / "raw"
    url = partner_server.serve(
        "/export.csv", Response(200, CSV, {"Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT"}, etag='"v1"')
    )
    source = _source(schemas, tmp_path, url)
    first, outcome = take_snapshot(source, raw, _now())
    assert outcome == "new-snapshot"
    second, outcome = take_snapshot(source, raw, _now())
    assert outcome == "not-modified" and second.folder == first.folder
    headers = partner_server.requests[-1][1]
    assert headers["If-None-Match"] == '"v1"' and headers["If-Modified-Since"] == "Tue, 24 Nov 2026 10:00:00 GMT"
    partner_server.serve("/export.csv", Response(200, CSV))  # no validators this time: same bytes
    third, outcome = take_snapshot(source, raw, _now())
    assert outcome == "same-bytes" and third.folder == first.folder
    assert len(list_snapshots(raw, "partner")) == 1
    assert [e["outcome"] for e in read_events(raw, "partner")] == ["new-snapshot", "not-modified", "same-bytes"]


def test_an_html_login_page_served_with_200_is_refused(schemas, tmp_path, partner_server):
    page = b"<!DOCTYPE html><html><body><form>Log in</form></body></html>"
    url = partner_server.serve("/export.csv", Response(200, page, {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(SourceError, match="sent an HTML page where CSV was expected \\(a login or error page\\?\\)"):
        take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())
    partner_server.serve("/export.csv", Response(200, b"  <html><head></head></html>", {"Content-Type": "text/csv"}))
    with pytest.raises(SourceError, match="HTML page"):
        take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())
    assert list_snapshots(tmp_path / "raw", "partner") == []


def test_an_empty_body_is_refused(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(200, b""))
    with pytest.raises(SourceError, match="empty body"):
        take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())


def test_an_oversize_body_is_refused_and_reading_stops_at_the_limit(schemas, tmp_path, partner_server):
    big = b"id,title,start\n" + b"A-1,x,2021-01-01\n" * 10_000
    url = partner_server.serve("/export.csv", Response(200, big))
    with pytest.raises(SourceError, match="body of 170015 bytes is larger than max_bytes \\(1000\\); not read"):
        take_snapshot(_source(schemas, tmp_path, url, max_bytes=1000), tmp_path / "raw", _now())
    partner_server.serve("/export.csv", Response(200, big, no_length=True))
    with pytest.raises(
        SourceError, match="larger than max_bytes \\(1000 bytes, after decompression\\); stopped reading"
    ):
        take_snapshot(_source(schemas, tmp_path, url, max_bytes=1000), tmp_path / "raw", _now())
    assert list_snapshots(tmp_path / "raw", "partner") == []
    assert not [p for p in (tmp_path / "raw").rglob("*") if p.is_file() and p.name != "checks.jsonl"]


def test_a_gzip_encoded_body_is_stored_decoded_and_a_gzip_bomb_is_stopped(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(200, CSV, gzip=True))
    snapshot, _ = take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())
    assert snapshot.bodies[0].read_bytes() == CSV
    assert snapshot.bytes == len(CSV) and snapshot.meta["request"]["headers"]["Content-Encoding"] == "gzip"
    bomb = b"id,title,start\n" + b"0" * 5_000_000
    assert len(gzip.compress(bomb)) < 10_000
    partner_server.serve("/export.csv", Response(200, bomb, gzip=True))
    with pytest.raises(SourceError, match="after decompression"):
        take_snapshot(_source(schemas, tmp_path, url, max_bytes=100_000), tmp_path / "raw", _now())


def test_a_token_protected_endpoint_gets_its_token_and_no_file_holds_it(schemas, tmp_path, partner_server):
    url = partner_server.serve("/secure/export.csv", Response(200, CSV, require={"Authorization": f"Bearer {TOKEN}"}))
    environ = {"PARTNER_TOKEN": TOKEN, "PARTNER_KEY": "k3y-" + TOKEN}
    source = _source(
        schemas,
        tmp_path,
        url + "?key=${PARTNER_KEY}",
        environ=environ,
        headers={"Authorization": "Bearer ${PARTNER_TOKEN}"},
    )
    snapshot, outcome = take_snapshot(source, tmp_path / "raw", _now())
    assert outcome == "new-snapshot"
    assert partner_server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    written = _all_bytes(tmp_path / "raw")
    assert TOKEN.encode() not in written
    assert snapshot.meta["origin"].endswith("?key=${PARTNER_KEY}")
    assert snapshot.meta["request"]["url"].endswith("?key=<redacted>")


def test_a_wrong_token_is_a_401_not_retried_with_a_hint(schemas, tmp_path, partner_server):
    url = partner_server.serve("/secure/export.csv", Response(200, CSV, require={"Authorization": "Bearer right"}))
    source = _source(
        schemas, tmp_path, url, environ={"PARTNER_TOKEN": TOKEN}, headers={"Authorization": "Bearer ${PARTNER_TOKEN}"}
    )
    with pytest.raises(SourceError) as caught:
        take_snapshot(source, tmp_path / "raw", _now())
    assert "HTTP 401" in str(caught.value) and "check the credentials" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN.encode() not in _all_bytes(tmp_path / "raw")
    assert len(partner_server.requests) == 1


def _records(start: int, count: int) -> list[dict]:
    return [{"id": f"P-{i}", "title": f"Workshop {i}", "start": "2022-01-01"} for i in range(start, start + count)]


def _read_pages(source: Source, bodies) -> list[str]:
    (read,) = READERS["json"].read(list(bodies), source.format_options, source.list_separator)
    assert read.table.column("id").to_pylist() == [f"P-{i}" for i in range(5)]
    return position_list(read)


def test_pagination_by_page_numbers(schemas, tmp_path, partner_server):
    def page(path: str, headers: dict) -> Response:
        number = int(path.split("page=")[1].split("&")[0])
        return Response(
            200, json.dumps({"data": _records((number - 1) * 2, max(0, min(2, 5 - (number - 1) * 2)))}).encode()
        )

    url = partner_server.serve("/api/activities", page)
    source = _source(
        schemas,
        tmp_path,
        url + "?lang=nl",
        "json",
        json={"record_path": "data", "pagination": {"style": "page", "size": 2}},
    )
    snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
    assert [p for p, _ in partner_server.requests] == [
        "/api/activities?lang=nl&page=1&per_page=2", "/api/activities?lang=nl&page=2&per_page=2", "/api/activities?lang=nl&page=3&per_page=2",
    ]  # fmt: skip
    assert [b.name for b in snapshot.bodies] == ["page-0001.json", "page-0002.json", "page-0003.json"]
    assert snapshot.meta["request"]["pagination"] == "page" and len(snapshot.meta["request"]["pages"]) == 3
    assert _read_pages(source, snapshot.bodies)[2:4] == ["page 2 data[0]", "page 2 data[1]"]


def test_pagination_by_offset_and_limit(schemas, tmp_path, partner_server):
    def page(path: str, headers: dict) -> Response:
        offset = int(path.split("offset=")[1].split("&")[0])
        return Response(200, json.dumps(_records(offset, max(0, min(2, 5 - offset)))).encode())

    url = partner_server.serve("/api/activities", page)
    pagination = {"style": "offset", "size": 2, "size_param": "limit"}
    source = _source(schemas, tmp_path, url, "json", json={"pagination": pagination})
    snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
    assert [p for p, _ in partner_server.requests] == [
        "/api/activities?offset=0&limit=2", "/api/activities?offset=2&limit=2", "/api/activities?offset=4&limit=2",
    ]  # fmt: skip
    assert _read_pages(source, snapshot.bodies)[4] == "page 3 records[0]"


def test_pagination_by_a_next_link_in_the_body(schemas, tmp_path, partner_server):
    pages = {
        "/api/a": {"items": _records(0, 2), "links": {"next": "/api/b?cursor=x"}},
        "/api/b": {"items": _records(2, 2), "links": {"next": f"{partner_server.base_url}/api/c"}},
        "/api/c": {"items": _records(4, 1), "links": {"next": None}},
    }
    for path, document in pages.items():
        partner_server.serve(path, Response(200, json.dumps(document).encode()))
    source = _source(
        schemas, tmp_path, partner_server.base_url + "/api/a", "json",
        json={"record_path": "items", "pagination": {"style": "next_link", "next_path": "links.next"}},
    )  # fmt: skip
    snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
    assert [p for p, _ in partner_server.requests] == ["/api/a", "/api/b?cursor=x", "/api/c"]
    _read_pages(source, snapshot.bodies)


def test_pagination_by_rfc8288_link_headers(schemas, tmp_path, partner_server):
    base = partner_server.base_url
    partner_server.serve(
        "/api/p1",
        Response(
            200,
            json.dumps(_records(0, 2)).encode(),
            {"Link": f'<{base}/api/p2>; rel="next", <{base}/api/p1>; rel="first"'},
        ),
    )
    partner_server.serve(
        "/api/p2", Response(200, json.dumps(_records(2, 2)).encode(), {"Link": '</api/p3>; rel="next"'})
    )
    partner_server.serve(
        "/api/p3", Response(200, json.dumps(_records(4, 1)).encode(), {"Link": f'<{base}/api/p1>; rel="first"'})
    )
    source = _source(schemas, tmp_path, base + "/api/p1", "json", json={"pagination": {"style": "link_header"}})
    snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
    assert [p for p, _ in partner_server.requests] == ["/api/p1", "/api/p2", "/api/p3"]
    _read_pages(source, snapshot.bodies)


def test_a_next_link_to_another_server_is_not_followed(schemas, tmp_path, partner_server):
    partner_server.serve(
        "/api/a", Response(200, json.dumps({"items": _records(0, 2), "next": "http://127.0.0.2:9/steal"}).encode())
    )
    source = _source(
        schemas, tmp_path, partner_server.base_url + "/api/a", "json", headers={"Authorization": "Bearer ${T}"},
        environ={"T": TOKEN}, json={"record_path": "items", "pagination": {"style": "next_link"}},
    )  # fmt: skip
    with pytest.raises(SourceError, match="links to another server"):
        take_snapshot(source, tmp_path / "raw", _now())


def test_csv_dialect_detection_is_recorded(schemas, tmp_path):
    (tmp_path / "export.csv").write_bytes("id;title;start\nD-1;Café pédagogique;2021-03-01\n".encode("cp1252"))
    source = _source(schemas, tmp_path, "export.csv", csv={"delimiter": "auto", "encoding": "auto"})
    (read,) = READERS["csv"].read([tmp_path / "export.csv"], source.format_options, ";")
    assert read.detected == {"byte_order_mark": False, "encoding": "cp1252", "delimiter": ";"}
    assert read.table.column("title").to_pylist() == ["Café pédagogique"]


def test_a_redirect_to_another_server_does_not_carry_the_credentials(schemas, tmp_path, partner_server):
    from tests.support.partner_server import PartnerServer

    other = PartnerServer()
    other.start()
    try:
        target = other.serve("/cdn/export.csv", Response(200, CSV))
        url = partner_server.serve("/export.csv", Response(302, b"", {"Location": target}))
        source = _source(schemas, tmp_path, url, environ={"T": TOKEN}, headers={"X-Api-Key": "${T}"})
        snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
        assert snapshot.bodies[0].read_bytes() == CSV
        assert partner_server.requests[0][1]["X-Api-Key"] == TOKEN
        assert "X-Api-Key" not in other.requests[0][1]  # the other server never sees the key
        assert snapshot.meta["request"]["final_url"] == target
    finally:
        other.stop()


def test_a_redirect_loop_is_a_clear_error(schemas, tmp_path, partner_server):
    url = partner_server.serve("/export.csv", Response(302, b"", {"Location": "/export.csv"}))
    with pytest.raises(SourceError, match="more than 5 redirects"):
        take_snapshot(_source(schemas, tmp_path, url), tmp_path / "raw", _now())


def test_secrets_are_redacted_in_every_encoding_and_odd_errors(schemas, tmp_path, partner_server):
    secret = "a/b+c=d&e f"
    url = partner_server.serve(
        "/api/list", Response(200, json.dumps([{"id": "Q-1", "title": "One", "start": "2022-01-01"}]).encode())
    )
    source = _source(
        schemas, tmp_path, url + "?key=${K}", "json", environ={"K": secret},
        json={"pagination": {"style": "page", "size": 5}},
    )  # fmt: skip
    snapshot, _ = take_snapshot(source, tmp_path / "raw", _now())
    assert partner_server.requests[0][0].endswith("&page=1&per_page=5")  # the partner's own query kept in front
    meta = json.dumps(snapshot.meta)
    for form in (secret, "a%2Fb%2Bc%3Dd%26e%20f", "a%2Fb%2Bc%3Dd%26e+f"):
        assert form not in meta
    bad = _source(schemas, tmp_path, url, environ={"T": TOKEN + "\n"}, headers={"Authorization": "Bearer ${T}"})
    with pytest.raises(SourceError) as caught:
        take_snapshot(bad, tmp_path / "raw2", _now())
    assert "request failed: InvalidHeader" in str(caught.value) and TOKEN not in str(caught.value)


def test_max_total_seconds_holds_through_a_proxy(schemas, tmp_path, partner_server, monkeypatch):
    """With HTTP_PROXY set, requests talks to the proxy's sockets: the deadline watches those too.
    The loopback server is the proxy here (it answers the absolute URL a proxy receives)."""
    import time

    partner_server.serve("/slow.csv", Response(200, CSV, drip=0.3))  # about 40 s for the whole answer
    monkeypatch.setenv("HTTP_PROXY", partner_server.base_url)
    monkeypatch.setenv("NO_PROXY", "")
    source = _source(schemas, tmp_path, "http://partner.example.org/slow.csv", retries=0, timeout_seconds=5,
                     max_total_seconds=2)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"max_total_seconds \(2 s\)"):
        take_snapshot(source, tmp_path / "raw", _now())
    assert time.monotonic() - started < 20
    assert partner_server.requests[-1][0] == "http://partner.example.org/slow.csv"  # it went through the proxy
