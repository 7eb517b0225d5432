"""Download a partner's file or API over HTTP(S), the way partner servers really behave.

- Retries with exponential backoff and jitter on connection errors, timeouts, 429
  (honouring Retry-After) and 5xx; never on other 4xx; all attempts and pages of a
  source together stay within its ``max_total_seconds``, a wall-clock deadline: when it
  passes, the source's sockets are shut down, so a server that sends a byte every few
  seconds (each within ``timeout_seconds``) cannot hold the run, and with it the lock.
- Conditional requests: the ETag and Last-Modified of the last snapshot are sent, and
  a 304 means unchanged.
- The body is stored after transfer decoding (gzip undone). The size limit applies to
  the decoded bytes and reading stops at it, so a compressed bomb cannot fill the disk.
- A truncated transfer (a dropped connection, fewer bytes than Content-Length), an
  empty body, or an HTML page where data was expected (a login or error page served
  with status 200) is refused.
- JSON APIs with pages: page numbers, offset/limit, a next link in the body, or an
  RFC 8288 ``Link`` header; every page is kept.

Whatever the server's answer makes the HTTP stack raise is the source's failure
(a SourceError); only a failure to write the body to the local disk is the machine's.

Nothing here writes a secret anywhere: every URL and message goes through
``source.redact``.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from partnerdata.config.sources import Source
from partnerdata.errors import PartnerFileError, SourceError
from partnerdata.readers.json_reader import page_outline

CHUNK = 1 << 16
MAX_REDIRECTS = 5
USER_AGENT = "partnerdata (open data collector)"
KEPT_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "ETag", "Last-Modified", "Date")
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
XLSX_MAGIC = b"PK\x03\x04"


class _Retryable(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's wish, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _LocalWriteError(Exception):
    """Writing the body to the local disk failed: the machine's problem, not the server's."""


class Deadline:
    """max_total_seconds as a wall-clock deadline on a source's whole transfer.

    A per-request timeout bounds each wait for bytes, not the transfer: a server that sends
    one byte every two seconds never trips it. So every socket the source opens is watched,
    and when the deadline passes a timer shuts them down; the blocked read returns at once."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _WATCHING.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _WATCHING.deadline = None

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.fired:
                _shut(sock)
            self._sockets.add(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in list(self._sockets):
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: a TLS socket's own would touch its state
    except OSError:
        pass  # closed already


_WATCHING = threading.local()  # the Deadline of the transfer this thread is making


class _WatchedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline = getattr(_WATCHING, "deadline", None)
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _WatchedTLSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline = getattr(_WATCHING, "deadline", None)
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedTLSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections whose sockets the thread's Deadline watches."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Through an HTTP(S) proxy (HTTPS_PROXY, say) the sockets are the proxy's: watched the same."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager


def _session(headers: dict[str, str]) -> requests.Session:
    session = requests.Session()
    session.headers.update(headers)
    for prefix in ("http://", "https://"):
        session.mount(prefix, _WatchedAdapter())
    return session


@dataclass
class Clock:
    """Time, sleep and randomness, replaceable in tests of the retry arithmetic."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random


@dataclass
class Download:
    not_modified: bool
    pages: list[Path] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def download(
    source: Source, folder: Path, previous_meta: dict[str, Any] | None, clock: Clock | None = None
) -> Download:
    """Fetch the source into folder (body.<format>, or page-0001.json, ... for an API with pages)."""
    clock = clock or Clock()
    deadline = clock.now() + source.max_total_seconds
    session = _session({"User-Agent": USER_AGENT, **source.headers})
    pagination = source.format_options.get("pagination") if source.format == "json" else None
    with session, Deadline(source.max_total_seconds):
        if pagination:
            return _download_pages(session, source, folder, pagination, deadline, clock)
        conditional = {}
        if previous_meta:
            if previous_meta.get("etag"):
                conditional["If-None-Match"] = previous_meta["etag"]
            if previous_meta.get("last_modified"):
                conditional["If-Modified-Since"] = previous_meta["last_modified"]
        target = folder / f"body.{source.format}"
        response, attempts = _get(session, source, source.url, conditional, target, deadline, clock)
        meta = _response_meta(source, response, attempts)
        if response.status_code == 304:
            return Download(not_modified=True, meta=meta)
        _check_payload(source, target, response)
        return Download(not_modified=False, pages=[target], meta=meta)


def _download_pages(
    session: requests.Session, source: Source, folder: Path, pagination: dict[str, Any], deadline: float, clock: Clock
) -> Download:
    style = pagination["style"]
    record_path = source.format_options.get("record_path", "")
    pages: list[Path] = []
    described: list[dict[str, Any]] = []
    limits = source.limits()
    total = 0  # bytes of every page so far: max_bytes bounds each page, and all of them together
    url: str | None = _page_url(source.url, pagination, 0) if style in ("page", "offset") else source.url
    origin = urlsplit(source.url)[:2]
    while url is not None:
        number = len(pages) + 1
        if number > pagination["max_pages"]:
            raise SourceError(
                source.source_id, f"more than json.pagination.max_pages ({pagination['max_pages']}) pages"
            )
        target = folder / f"page-{number:04d}.json"
        response, attempts = _get(session, source, url, {}, target, deadline, clock)
        if response.status_code == 304:
            raise SourceError(source.source_id, f"page {number}: unexpected 304 Not Modified")
        _check_payload(source, target, response)
        total += target.stat().st_size
        if total > source.max_bytes:
            raise SourceError(
                source.source_id,
                f"its pages are larger than max_bytes ({source.max_bytes} bytes) together, at page {number}; stopped",
            )
        try:  # bounded and guarded as the reader reads it: the pages are partner bytes too
            records, link = page_outline(
                target, source.format_options.get("encoding", "utf-8"), limits, record_path,
                pagination.get("next_path") if style == "next_link" else None, f"page {number}",
            )  # fmt: skip
        except PartnerFileError as error:
            raise SourceError(source.source_id, str(error)) from None
        pages.append(target)
        described.append(_response_meta(source, response, attempts))
        try:
            url = _next_url(source, style, pagination, response, link, number, records)
        except SourceError:
            raise
        except Exception as error:  # noqa: BLE001 (a next link the partner wrote that is no URL: "http://[::1")
            raise SourceError(
                source.source_id, f"page {number}: its next page's link cannot be followed ({type(error).__name__})"
            ) from None
        if url is not None and urlsplit(url)[:2] != origin:
            # Following it would send the partner's credentials to another server.
            raise SourceError(
                source.source_id, f"page {number} links to another server ({source.redact(url)}); not followed"
            )
    meta = {**described[0], "pages": described, "pagination": style}
    return Download(not_modified=False, pages=pages, meta=meta)


def _next_url(
    source: Source, style: str, pagination: dict[str, Any], response: requests.Response, link: Any, number: int,
    records: int,
) -> str | None:  # fmt: skip
    if style in ("page", "offset"):
        return _page_url(source.url, pagination, number) if records >= pagination["size"] and records > 0 else None
    if style == "link_header":
        link = response.links.get("next", {}).get("url")
        return urljoin(response.url, link) if link else None
    if link in (None, ""):
        return None
    if not isinstance(link, str):
        raise SourceError(
            source.source_id, f"page {number}: json.pagination.next_path holds a {type(link).__name__}, not a URL"
        )
    return urljoin(response.url, link)


def _page_url(base: str, pagination: dict[str, Any], index: int) -> str:
    """The URL of page ``index`` (0-based) for the page-number and offset styles.

    The paging parameters are appended to the URL as written: its own query (which may
    hold a key) is left byte for byte as the partner gave it."""
    if pagination["style"] == "page":
        values = {
            pagination["page_param"]: pagination["first_page"] + index,
            pagination["size_param"]: pagination["size"],
        }
    else:
        values = {pagination["offset_param"]: index * pagination["size"], pagination["size_param"]: pagination["size"]}
    separator = "&" if urlsplit(base).query else "?"
    return base + separator + urlencode(values)


def _get(
    session: requests.Session, source: Source, url: str, headers: dict[str, str], target: Path,
    deadline: float, clock: Clock,
) -> tuple[requests.Response, int]:  # fmt: skip
    """GET url into target, with retries; return the response (body consumed) and the attempts made."""
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise SourceError(source.source_id, f"gave up: max_total_seconds ({source.max_total_seconds:g} s) spent")
        try:
            response = _follow_redirects(session, source, url, headers, min(source.timeout_seconds, remaining))
            with response:
                _raise_for_status(source, response)
                if response.status_code != 304:
                    _read_body(source, response, target, deadline, clock)
            _check_deadline(source)  # a body cut short by the deadline can look complete
            return response, attempt
        except _LocalWriteError as error:
            assert error.__cause__ is not None  # _local_writes raises it from the OSError
            raise error.__cause__ from None  # a full disk stops the run, not the source
        except SourceError:
            raise
        except _Retryable as error:
            _check_deadline(source)
            problem, retry_after = str(error), error.retry_after
        except requests.Timeout:
            _check_deadline(source)
            problem, retry_after = f"no answer within timeout_seconds ({source.timeout_seconds:g} s)", None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            _check_deadline(source)  # a socket the deadline shut down: that is why it failed
            problem, retry_after = _connection_problem(error), None
        except requests.RequestException as error:
            _check_deadline(source)
            # Not worth a retry (a malformed header, an undecodable gzip stream, ...). The
            # exception's text can quote a header value, that is a secret: name its type only.
            raise SourceError(source.source_id, f"request failed: {type(error).__name__}") from None
        except Exception as error:  # noqa: BLE001 (whatever the server's bytes make the HTTP stack raise)
            _check_deadline(source)
            raise SourceError(
                source.source_id, f"the server's answer could not be read ({type(error).__name__}); not retried"
            ) from None
        if attempt > source.retries:
            raise SourceError(source.source_id, f"gave up after {attempt} attempt(s): {source.redact(problem)}")
        delay = (
            retry_after
            if retry_after is not None
            else source.backoff_seconds * 2 ** (attempt - 1) * (0.5 + clock.random())
        )
        if clock.now() + delay > deadline:
            raise SourceError(
                source.source_id,
                f"gave up after {attempt} attempt(s): {source.redact(problem)}; the next retry (in {delay:.0f} s) "
                f"would pass max_total_seconds ({source.max_total_seconds:g} s)",
            )
        clock.sleep(delay)


def _check_deadline(source: Source) -> None:
    watching = getattr(_WATCHING, "deadline", None)
    if watching is not None and watching.fired:
        raise SourceError(
            source.source_id,
            f"gave up: max_total_seconds ({source.max_total_seconds:g} s) passed while the server was still "
            "answering (a server that sends very slowly); the transfer was stopped",
        )


def _follow_redirects(
    session: requests.Session, source: Source, url: str, headers: dict[str, str], timeout: float
) -> requests.Response:
    """GET, following at most MAX_REDIRECTS redirects. On another server the source's own
    headers (credentials) are not sent: only the same scheme, host and port get them."""
    origin = urlsplit(url)[:2]
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url)[:2] == origin:
            response = session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        else:
            with _session({"User-Agent": USER_AGENT}) as plain:  # its sockets are watched by the deadline too
                response = plain.get(url, timeout=timeout, stream=True, allow_redirects=False)
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response
        response.close()
        url = urljoin(response.url, location)
    raise SourceError(source.source_id, f"more than {MAX_REDIRECTS} redirects from {source.url_template}")


def _raise_for_status(source: Source, response: requests.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Retryable(f"HTTP {status} from {_where(source, response)}", _retry_after(response))
    if status >= 400:
        hint = " (check the credentials in headers)" if status in (401, 403) else ""
        raise SourceError(source.source_id, f"HTTP {status} from {_where(source, response)}{hint}; not retried")
    if status not in (200, 304):
        raise SourceError(source.source_id, f"HTTP {status} from {_where(source, response)}: expected 200")


def _read_body(source: Source, response: requests.Response, target: Path, deadline: float, clock: Clock) -> None:
    """Stream the decoded body to target, stopping at max_bytes and at the deadline."""
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") not in ("", "identity")
    if declared and declared.isdigit() and not encoded and int(declared) > source.max_bytes:
        raise SourceError(
            source.source_id, f"body of {declared} bytes is larger than max_bytes ({source.max_bytes}); not read"
        )
    received = 0
    with _local_writes():
        out = open(target, "wb")  # closed below; its errors are told apart from the server's
    with out:
        for chunk in response.iter_content(CHUNK):
            received += len(chunk)
            if received > source.max_bytes:
                raise SourceError(
                    source.source_id,
                    f"body is larger than max_bytes ({source.max_bytes} bytes, after decompression); stopped reading",
                )
            if clock.now() > deadline:
                raise SourceError(
                    source.source_id,
                    f"gave up: max_total_seconds ({source.max_total_seconds:g} s) spent reading the body",
                )
            with _local_writes():
                out.write(chunk)
        with _local_writes():
            out.flush()
    if declared and declared.isdigit() and not encoded and received != int(declared):
        raise _Retryable(f"truncated transfer: {received} of {declared} bytes received")


@contextlib.contextmanager
def _local_writes() -> Iterator[None]:
    """Errors of the local file (open, write, close) are the machine's: told apart from the server's."""
    try:
        yield
    except OSError as error:
        if isinstance(error, requests.RequestException):
            raise
        raise _LocalWriteError(str(error)) from error


def _check_payload(source: Source, target: Path, response: requests.Response) -> None:
    """Refuse what cannot be the partner's data, before it becomes a snapshot."""
    with open(target, "rb") as handle:
        start = handle.read(512)
    if not start.strip():
        raise SourceError(source.source_id, f"empty body from {_where(source, response)}")
    content_type = response.headers.get("Content-Type", "").lower()
    lowered = start.lstrip().lower()
    if "text/html" in content_type or lowered.startswith(HTML_STARTS):
        raise SourceError(
            source.source_id,
            f"{_where(source, response)} sent an HTML page where {source.format.upper()} was expected "
            "(a login or error page?); check the URL and the credentials",
        )
    if source.format == "xlsx" and not start.startswith(XLSX_MAGIC):
        raise SourceError(source.source_id, f"{_where(source, response)} did not send an XLSX workbook")


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _connection_problem(error: Exception) -> str:
    text = str(error)
    if (
        "IncompleteRead" in text
        or "Connection broken" in text
        or isinstance(error, requests.exceptions.ChunkedEncodingError)
    ):
        return "truncated transfer: the connection was dropped in the middle of the body"
    return f"connection failed ({type(error).__name__})"


def _response_meta(source: Source, response: requests.Response, attempts: int) -> dict[str, Any]:
    return {
        "url": source.redact(response.request.url or ""),
        "final_url": source.redact(response.url),
        "status": response.status_code,
        "attempts": attempts,
        "headers": {name: source.redact(response.headers[name]) for name in KEPT_HEADERS if name in response.headers},
        "etag": response.headers.get("ETag"),
        "last_modified": response.headers.get("Last-Modified"),
    }


def _where(source: Source, response: requests.Response) -> str:
    return source.redact(response.url or source.url_template)
