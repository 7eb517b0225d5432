"""`partnerdata serve` serves what a static host would publish, and nothing else."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerdata.catalogue.serve import UnsatisfiableRange, make_server, requested_range
from tests.support.release_data import catalogue_site

BASE_URL = "https://data.example.org/published/"
SECRET = b"secret: outside published/\n"
KNOWN = b"0123456789abcdefghij"  # ranges.bin: byte i is easy to read off


@pytest.fixture(scope="module")
def site(schemas, tmp_path_factory) -> Path:
    """A published/ folder with releases, plus everything a static host would not serve:
    a release being staged, temporary dot-files, and symlinks to a file and a folder outside."""
    root = tmp_path_factory.mktemp("serve")
    published = catalogue_site(schemas, root / "site", BASE_URL)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    staging = published / "releases" / ".staging-1.0.3-abc"
    staging.mkdir()
    (staging / "activities.csv").write_text("half,written\n")
    (published / ".latest.json.1234abcd").write_text('{"version": "9.9.9"}')
    (published / ".catalogue-index.html.x1y2").write_text("half a page")
    (published / "releases" / "1.0.0" / "secret.csv").symlink_to(outside / "secret")
    (published / "evil").symlink_to(outside)
    (published / "to-staging").symlink_to(Path("releases") / staging.name)  # inside, but into a dot-folder
    (published / "releases" / "empty").mkdir()  # a folder without index.html
    os.mkfifo(published / "releases" / "1.0.0" / "pipe.csv")  # reading it would hang the server
    (published / "ranges.bin").write_bytes(KNOWN)
    return published


@pytest.fixture(scope="module")
def server(site) -> Iterator[tuple[str, int]]:
    server = make_server(site, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def _request(
    server: tuple[str, int], path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes, http.client.HTTPMessage]:
    """The raw path goes out as written: http.client neither normalises nor encodes it."""
    connection = http.client.HTTPConnection(*server, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.headers
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "file"),
    [
        ("/", "index.html"),
        ("/index.html", "index.html"),
        ("/releases/1.0.0/", "releases/1.0.0/index.html"),
        ("/releases/1.0.2/index.html", "releases/1.0.2/index.html"),
        ("/latest/activities.csv", "releases/1.0.1/activities.csv"),
        ("/latest/", "releases/1.0.1/index.html"),
        ("/v1/datapackage.json", "releases/1.0.1/datapackage.json"),
        ("/feed.xml?utm=x", "feed.xml"),
        ("/releases/1.0.0/SHA256SUMS", "releases/1.0.0/SHA256SUMS"),
    ],
)
def test_published_files_are_served_with_their_bytes(site, server, path, file):
    status, body, _ = _request(server, path)
    assert status == 200 and body == (site / file).read_bytes(), path


def test_content_types_and_head(site, server):
    with urllib.request.urlopen(f"http://{server[0]}:{server[1]}/latest/activities.csv") as response:
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    status, body, headers = _request(server, "/releases/1.0.1/", "HEAD")
    assert status == 200 and body == b"" and headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == (site / "releases" / "1.0.1" / "index.html").stat().st_size


def test_a_browser_that_has_the_file_already_gets_304(server):
    _, _, headers = _request(server, "/feed.xml")
    status, body, _ = _request(server, "/feed.xml", headers={"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304 and body == b""
    status, _, _ = _request(server, "/feed.xml", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert status == 200


def test_a_folder_without_its_slash_is_redirected_to_it(server):
    status, _, headers = _request(server, "/releases/1.0.0")
    assert status == 301 and headers["Location"] == "/releases/1.0.0/"
    status, _, headers = _request(server, "//latest")
    assert status == 301 and headers["Location"] == "/latest/"  # never "//latest/": another host


@pytest.mark.parametrize(
    "path",
    [
        "/releases/.staging-1.0.3-abc/activities.csv",  # a release being written
        "/releases/.staging-1.0.3-abc/",
        "/releases/%2estaging-1.0.3-abc/activities.csv",
        "/.latest.json.1234abcd",  # temporary files
        "/.catalogue-index.html.x1y2",
        "/to-staging/activities.csv",  # a symlink into a dot-folder
        "/releases/1.0.0/secret.csv",  # a symlink to a file outside
        "/evil/secret",  # a symlink to a folder outside
        "/evil/",
        "/evil",
        "/releases/",  # folders without index.html: never a listing
        "/releases/empty/",
        "/releases/1.0.0/pipe.csv",  # not a regular file
        "/../outside/secret",  # traversal, raw and encoded
        "/releases/../../outside/secret",
        "/releases/%2e%2e/%2e%2e/outside/secret",
        "/releases/%2E%2E/%2E%2E/outside/secret",
        "/releases/..%2f..%2foutside/secret",
        "/releases/..%2F..%2Foutside%2Fsecret",
        "/releases/..%5c..%5coutside%5csecret",
        "/index.html%00.csv",
        "/index.html%00",
        "/latest/activities.csv%0a",
        "/%ff%fe",  # not UTF-8
        "/no-such-file",
        "http://127.0.0.1/index.html",  # not a path
        "/./index.html",
    ],
)
def test_what_a_static_host_would_not_publish_is_not_found(server, path):
    status, body, _ = _request(server, path)
    assert status == 404, path
    assert SECRET not in body and b"half" not in body and b"9.9.9" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_only_get_and_head_are_answered(server, method):
    status, _, _ = _request(server, "/index.html", method)
    assert status == 501


def test_a_symlink_inside_published_is_followed(site, server, tmp_path):
    (site / "current-activities.csv").symlink_to(Path("latest") / "activities.csv")
    try:
        status, body, _ = _request(server, "/current-activities.csv")
        assert status == 200 and body == (site / "latest" / "activities.csv").read_bytes()
    finally:
        (site / "current-activities.csv").unlink()


def test_the_served_folder_may_itself_be_reached_through_a_symlink(site, tmp_path):
    link = tmp_path / "published-link"
    link.symlink_to(site, target_is_directory=True)
    server = make_server(link, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert _request(server.server_address[:2], "/latest/activities.csv")[0] == 200
        assert _request(server.server_address[:2], "/evil/secret")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("byte_range", "first", "last"),
    [
        ("bytes=0-3", 0, 3),
        ("bytes=5-5", 5, 5),
        ("bytes=15-", 15, 19),  # from 15 to the end
        ("bytes=-4", 16, 19),  # the last 4 bytes
        ("bytes=10-999", 10, 19),  # a last byte past the end is cut to the file
        ("bytes=-999", 0, 19),  # a suffix longer than the file is the whole file
        ("Bytes=2-4", 2, 4),  # the unit is case-insensitive
    ],
)
def test_one_byte_range_is_answered_with_206_and_only_its_bytes(server, byte_range, first, last):
    status, body, headers = _request(server, "/ranges.bin", headers={"Range": byte_range})
    assert status == 206 and body == KNOWN[first : last + 1], byte_range
    assert headers["Content-Range"] == f"bytes {first}-{last}/{len(KNOWN)}"
    assert headers["Content-Length"] == str(last - first + 1)
    assert headers["Accept-Ranges"] == "bytes" and headers["Cache-Control"] == "no-cache"


def test_a_range_sends_no_byte_past_its_last(server):
    """http.client stops at Content-Length; a raw socket reads all the server sent before it closed."""
    with socket.create_connection(server, timeout=10) as connection:
        connection.sendall(b"GET /ranges.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=3-6\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 206 ") and body == b"3456"


def test_head_and_a_whole_file_say_ranges_are_accepted(server):
    status, body, headers = _request(server, "/ranges.bin", "HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(KNOWN))
    assert headers["Accept-Ranges"] == "bytes"
    status, body, headers = _request(server, "/ranges.bin")
    assert status == 200 and body == KNOWN and headers["Accept-Ranges"] == "bytes"
    # Only a GET has ranges (RFC 9110 14.2): a HEAD with one gets the whole file's headers.
    status, _, headers = _request(server, "/ranges.bin", "HEAD", headers={"Range": "bytes=0-3"})
    assert status == 200 and headers["Content-Length"] == str(len(KNOWN)) and "Content-Range" not in headers


@pytest.mark.parametrize(
    "byte_range",
    ["bytes=20-", "bytes=20-25", "bytes=5-2", "bytes=-0", "bytes=99999999999999999999999999-"],
)
def test_a_range_that_names_no_byte_is_416(server, byte_range):
    status, body, headers = _request(server, "/ranges.bin", headers={"Range": byte_range})
    assert status == 416 and body == b"", byte_range
    assert headers["Content-Range"] == f"bytes */{len(KNOWN)}" and headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    "byte_range",
    [
        "bytes=0-1,5-6",  # several ranges: no multipart/byteranges, the whole file instead
        "bytes=0-1, -3",
        "items=0-1",  # a unit other than bytes
        "bytes=abc",  # not a range at all
        "bytes=-",
        "bytes=1-2-3",
        "bytes=+1-2",  # int() would take it; a range-spec does not
        "bytes 0-1",
    ],
)
def test_a_range_this_server_does_not_answer_gets_the_whole_file(server, byte_range):
    status, body, headers = _request(server, "/ranges.bin", headers={"Range": byte_range})
    assert status == 200 and body == KNOWN and "Content-Range" not in headers, byte_range


def test_if_range_is_honoured_only_with_the_files_last_modified(server):
    _, _, headers = _request(server, "/ranges.bin", "HEAD")
    fresh = {"Range": "bytes=0-1", "If-Range": headers["Last-Modified"]}
    assert _request(server, "/ranges.bin", headers=fresh)[:2] == (206, b"01")
    for stale in ["Mon, 01 Jan 2001 00:00:00 GMT", '"some-etag"']:
        status, body, _ = _request(server, "/ranges.bin", headers={"Range": "bytes=0-1", "If-Range": stale})
        assert status == 200 and body == KNOWN, stale
    # If-Modified-Since is a precondition, checked before the Range: the browser's copy is current.
    current = {"Range": "bytes=0-1", "If-Modified-Since": headers["Last-Modified"]}
    assert _request(server, "/ranges.bin", headers=current)[:2] == (304, b"")


def test_duckdb_reads_a_parquet_footer_through_latest(site, server):
    """What DuckDB-WASM does first: HEAD for the size, then the last 8 bytes (footer length, magic)."""
    parquet = (site / "latest" / "activities.parquet").read_bytes()
    status, _, headers = _request(server, "/latest/activities.parquet", "HEAD")
    assert status == 200 and headers["Content-Length"] == str(len(parquet))
    assert headers["Content-Type"] == "application/vnd.apache.parquet"
    status, body, headers = _request(server, "/latest/activities.parquet", headers={"Range": "bytes=-8"})
    assert status == 206 and body == parquet[-8:] and body.endswith(b"PAR1")
    footer_length = int.from_bytes(body[:4], "little")
    footer_start = len(parquet) - 8 - footer_length
    footer_range = f"bytes={footer_start}-{len(parquet) - 9}"
    status, body, _ = _request(server, "/latest/activities.parquet", headers={"Range": footer_range})
    assert status == 206 and body == parquet[footer_start:-8]


@pytest.mark.parametrize(
    "path",
    [
        "/no-such-file.parquet",
        "/releases/1.0.0/secret.csv",  # a symlink to a file outside
        "/evil/secret",
        "/releases/.staging-1.0.3-abc/activities.csv",
        "/releases/%2e%2e/%2e%2e/outside/secret",
        "/releases/1.0.0/pipe.csv",
    ],
)
def test_a_range_on_what_is_not_published_is_not_found(server, path):
    status, body, headers = _request(server, path, headers={"Range": "bytes=0-3"})
    assert status == 404 and "Content-Range" not in headers, path
    assert SECRET[:4] not in body and b"half" not in body


def test_an_empty_file_has_no_satisfiable_range():
    for byte_range in ["bytes=0-", "bytes=-5"]:
        with pytest.raises(UnsatisfiableRange):
            requested_range(byte_range, 0)
    assert requested_range(None, 0) is None
