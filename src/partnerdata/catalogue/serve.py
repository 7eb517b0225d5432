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
"""

from __future__ import annotations

import email.utils
import functools
import os
import stat
import unicodedata
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

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


class CatalogueHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

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
            if self._not_modified(status.st_mtime):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                handle.close()
                return None
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", self.guess_type(found.name))
            self.send_header("Content-Length", str(status.st_size))
            self.send_header("Last-Modified", self.date_time_string(int(status.st_mtime)))
            self.end_headers()
            return handle
        except BaseException:
            handle.close()
            raise

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


def make_server(published_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for published_dir (port 0: a free one; read it from server.server_address)."""
    if not Path(published_dir).is_dir():
        raise FileNotFoundError(f"{published_dir}: no such folder; run `partnerdata run` first")
    handler = functools.partial(CatalogueHandler, directory=str(published_dir))
    return ThreadingHTTPServer((host, port), handler)


def _inside(real: Path, root: Path) -> bool:
    """Inside root, and not inside a dot-folder of it (a symlink into .staging-* is refused like the path)."""
    return real.is_relative_to(root) and not any(part.startswith(".") for part in real.relative_to(root).parts)


def _forbidden_in_name(character: str) -> bool:
    """A decoded %2F or %5C would make one segment two; a NUL or a control character names no published file."""
    return character in "/\\" or unicodedata.category(character) == "Cc"
