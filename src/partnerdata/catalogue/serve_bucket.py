"""``partnerdata serve --published s3://bucket/prefix``: a bucket-backed published/ on a local port,
to preview it as a static website host serves the bucket.

The rules of serve.py hold: only GET and HEAD; a path with a segment that starts with ``.`` (the
lease) or holds a control character, ``/`` or ``\\`` once decoded is not found; a folder answers its
index.html (a folder asked for without its slash is redirected to it, as a website endpoint does);
never a listing. A GET may ask for one byte range (DuckDB-WASM reads Parquet files so), which is
passed to the service as the same range.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from partnerdata.catalogue.serve import (
    BY_NAME,
    CONTENT_TYPES,
    COPY_CHUNK,
    INDEX,
    UnsatisfiableRange,
    _forbidden_in_name,
    requested_range,
)
from partnerdata.storage.bucket import Bucket, StorageError, error_code, parse_url


class BucketHandler(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, bucket: Bucket, **kwargs: Any) -> None:
        self.bucket = bucket
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def _answer(self, body: bool) -> None:
        target = self.path.split("?", 1)[0].split("#", 1)[0]
        key = object_path(target)
        if key is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return
        head = self._head(key)
        if head is None and not target.endswith("/") and self._head(f"{key}/{INDEX}") is not None:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)  # its page's relative links need the slash
            self.send_header("Location", "/" + target.lstrip("/") + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if head is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return
        size = int(head["ContentLength"])
        try:
            byte_range = requested_range(self.headers.get("Range"), size)
        except UnsatisfiableRange:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = byte_range or (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if byte_range else HTTPStatus.OK)
        name = PurePosixPath(key).name
        self.send_header(
            "Content-Type",
            BY_NAME.get(name) or CONTENT_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream"),
        )
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        if byte_range:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body and size:
            extra = {"Range": f"bytes={first}-{last}"} if byte_range else {}
            response = self.bucket.client.get_object(
                Bucket=self.bucket.url.bucket, Key=self.bucket.url.key(key), **extra
            )
            for chunk in iter(lambda: response["Body"].read(COPY_CHUNK), b""):
                self.wfile.write(chunk)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.bucket.client.head_object(
                Bucket=self.bucket.url.bucket, Key=self.bucket.url.key(key)
            )
        except Exception as error:
            if error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self.bucket.failure("read", key, error) from None
        return head


def object_path(url_path: str) -> str | None:
    """The object a URL path names, relative to the location (a folder: its index.html), or None when
    it may name none (serve.py's rules)."""
    try:
        decoded = unquote(url_path, errors="strict")
    except UnicodeDecodeError:  # %FF: no object has such a name
        return None
    segments = decoded.lstrip("/").split("/") if decoded.strip("/") else []
    wants_folder = url_path.endswith("/") or not segments
    segments = [s for s in segments if s]
    for segment in segments:
        if segment.startswith(".") or any(_forbidden_in_name(c) for c in segment):
            return None
    return "/".join([*segments, INDEX] if wants_folder else segments)


def make_bucket_server(location: str, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for a bucket location (port 0: a free one); refused when it holds no catalogue."""
    bucket = Bucket(parse_url(location))
    if bucket.get(INDEX) is None:
        raise StorageError(f"{location}: no {INDEX} there; run `partnerdata run --published {location}` first")
    return ThreadingHTTPServer((host, port), functools.partial(BucketHandler, bucket=bucket))
