"""``partnerdata serve``: published/ on a local port, to preview the catalogue as a host would serve it.

It serves what a static host would publish and nothing else:

- a path with a segment that starts with ``.`` is not found: no ``.staging-*`` release being
  written, no temporary ``.latest.json.*`` or ``.catalogue-*`` file, no ``..``;
- a folder answers its index.html, or 404: never a listing;
- symbolic links are followed (latest/ and v1/ point to releases/<version>), but the file they
  end at must be inside published/, and no segment of its real path may start with ``.`` either;
- only regular files: a FIFO or a device is not found (reading one would hang the server);
- only GET and HEAD (other methods: 501); a path is decoded once, and a decoded segment that
  holds a ``/``, a ``\\``, a NUL or another control character is not found.

A GET may ask for one byte range, as from a static host: the catalogue's explorer runs DuckDB-WASM
in the browser, which sends a HEAD for a Parquet file's size, then reads its footer and the row
groups it needs with ``Range: bytes=a-b``. See requested_range for the rules.
"""

from __future__ import annotations

import email.utils
import functools
import os
import re
import stat
import unicodedata
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, AnyStr, BinaryIO
from urllib.parse import unquote

if TYPE_CHECKING:
    from _typeshed import SupportsRead, SupportsWrite

CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv; charset=utf-8",
    ".ttl": "text/turtle; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".jsonl": "application/jsonl",
    "": "text/plain; charset=utf-8",  # SHA256SUMS
}
BY_NAME = {"feed.xml": "application/atom+xml; charset=utf-8"}
INDEX = "index.html"

# One range-spec of RFC 9110 (14.1.1): first-last, first-, or -suffix_length; ASCII digits only.
RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
# More digits than this is longer than any file: read as "past the end", never parsed (Python refuses
# to parse an int of more than 4300 digits, and a header line may hold 65536).
MAX_DIGITS = 18
COPY_CHUNK = 64 * 1024


class UnsatisfiableRange(ValueError):
    """A Range that names no byte of the file: the answer is 416, with ``Content-Range: bytes */size``."""


class CatalogueHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}
    _body_length = 0  # bytes of the file the response being sent promised (send_head sets it)

    def send_head(self) -> BinaryIO | None:
        """Headers for the file the path names, or a 404 (or a redirect, for a folder without its slash)."""
        target = self.path.split("?", 1)[0].split("#", 1)[0]
        found = published_file(Path(self.directory), target)
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if found.is_dir():  # a folder asked for without its slash: its page's relative links need one
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", "/" + target.lstrip("/") + "/")  # one leading slash: never "//host/"
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        try:
            handle = open(found, "rb")  # the base class's do_GET copies it out and closes it
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):  # replaced between the check and the open
                raise OSError("not a regular file")
            if self._not_modified(status.st_mtime):  # preconditions first, the Range after (RFC 9110 13.2.2)
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                handle.close()
                return None
            return self._send_file_head(handle, status, found.name)
        except BaseException:
            handle.close()
            raise

    def copyfile(self, source: SupportsRead[AnyStr], outputfile: SupportsWrite[AnyStr]) -> None:
        """Only the bytes send_head promised in Content-Length, from where it put the handle: for a
        range, its bytes and no more; for a file that grows while it is sent, the size it had."""
        remaining = self._body_length
        while remaining > 0:
            chunk = source.read(min(COPY_CHUNK, remaining))
            if not chunk:  # the file shrank meanwhile: the client sees a short body, as from any host
                return
            outputfile.write(chunk)
            remaining -= len(chunk)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """Never a listing (send_head above does not call it; this is for any other caller)."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return BY_NAME.get(Path(path).name) or super().guess_type(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a preview shows the newest release at once
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def _send_file_head(self, handle: BinaryIO, status: os.stat_result, name: str) -> BinaryIO | None:
        """The 200, 206 or 416 headers for an open file, and the handle put where its body starts
        (None, and the handle closed, when there is no body to send)."""
        last_modified = self.date_time_string(int(status.st_mtime))
        try:
            byte_range = requested_range(self._range_header(last_modified), status.st_size)
        except UnsatisfiableRange:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{status.st_size}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", "0")
            self.end_headers()
            handle.close()
            return None
        if byte_range is None:
            self.send_response(HTTPStatus.OK)
            first, self._body_length = 0, status.st_size
        else:
            first, last = byte_range
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", f"bytes {first}-{last}/{status.st_size}")
            self._body_length = last - first + 1
        self.send_header("Content-Type", self.guess_type(name))
        self.send_header("Content-Length", str(self._body_length))
        self.send_header("Last-Modified", last_modified)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        handle.seek(first)
        return handle

    def _range_header(self, last_modified: str) -> str | None:
        """The Range to honour, or None: only a GET has ranges (RFC 9110 14.2: a HEAD with a Range gets
        the 200 headers). If-Range is honoured with the one validator this server sends: a Range counts
        only when If-Range is absent or is exactly the file's Last-Modified; anything else (an ETag, an
        older date) means the client's copy may be stale, so it gets the whole file with 200."""
        if self.command != "GET":
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() != last_modified:
            return None
        return self.headers.get("Range")

    def _not_modified(self, mtime: float) -> bool:
        """If-Modified-Since says the browser has this version already (the base class's rule)."""
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            moment = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return moment.tzinfo is not None and int(mtime) <= moment.timestamp()


def published_file(published_dir: Path, url_path: str) -> Path | None:
    """The real path of the file (or, for a path without its final slash, the folder) that
    ``url_path`` names in published_dir, or None when a static host would not serve it.

    A folder named with its final slash gives its index.html. See the module's docstring for the rules."""
    if not url_path.startswith("/"):
        return None
    segments = []
    for raw in url_path[1:].split("/"):
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
        if segment.startswith(".") or any(_forbidden_in_name(c) for c in segment):
            return None
        if segment:  # "a//b" is "a/b", as on a static host
            segments.append(segment)
    root = Path(published_dir).resolve()
    wants_folder = url_path.endswith("/")
    try:
        real = root.joinpath(*segments).resolve(strict=True)
        if real.is_dir() and wants_folder:
            real = (real / INDEX).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, a name too long
        return None
    if not _inside(real, root):
        return None
    if real.is_dir():
        return real if not wants_folder and segments else None
    return real if real.is_file() else None


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) that a Range header asks of a file of ``size`` bytes, or
    None to send the whole file. Raises UnsatisfiableRange for a range that names no byte of it.

    As RFC 9110 (14.2) lets a server: a unit other than bytes, several ranges (this server sends no
    multipart/byteranges), or a header that is not a range at all are ignored: the whole file, 200.
    A range whose start is at or past the end, a suffix of 0 bytes, ``5-2``, or any range of an empty
    file is unsatisfiable (as nginx answers). A last byte past the end, or a suffix longer than the
    file, is cut to the file (14.1.2)."""
    if header is None:
        return None
    unit, equals, range_set = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]  # a list may hold empty items
    matched = RANGE_SPEC.fullmatch(specs[0]) if len(specs) == 1 else None
    if matched is None or matched.group(0) == "-":
        return None
    first_digits, last_digits = matched.groups()
    if not first_digits:  # -n: the last n bytes
        suffix_length = _position(last_digits)
        if suffix_length == 0 or size == 0:
            raise UnsatisfiableRange(header)
        return max(0, size - suffix_length), size - 1
    first = _position(first_digits)
    last = _position(last_digits) if last_digits else size - 1
    if first >= size or first > last:
        raise UnsatisfiableRange(header)
    return first, min(last, size - 1)


def make_server(published_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for published_dir (port 0: a free one; read it from server.server_address)."""
    if not Path(published_dir).is_dir():
        raise FileNotFoundError(f"{published_dir}: no such folder; run `partnerdata run` first")
    handler = functools.partial(CatalogueHandler, directory=str(published_dir))
    return ThreadingHTTPServer((host, port), handler)


def _position(digits: str) -> int:
    """A byte position or length from a Range header; one too long to parse is past any file's end."""
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def _inside(real: Path, root: Path) -> bool:
    """Inside root, and not inside a dot-folder of it (a symlink into .staging-* is refused like the path)."""
    return real.is_relative_to(root) and not any(part.startswith(".") for part in real.relative_to(root).parts)


def _forbidden_in_name(character: str) -> bool:
    """A decoded %2F or %5C would make one segment two; a NUL or a control character names no published file."""
    return character in "/\\" or unicodedata.category(character) == "Cc"
