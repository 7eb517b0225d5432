"""A loopback HTTP server for tests: serves scripted responses, injects faults, records requests."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Response:
    """One scripted answer. The fault fields change how it is sent."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a hanging server)
    truncate_to: int | None = None  # send only this many body bytes, then drop the connection
    gzip: bool = False  # send the body gzip-compressed with Content-Encoding: gzip
    no_length: bool = False  # no Content-Length: the body ends when the connection closes
    etag: str | None = None  # answer 304 when the request's If-None-Match equals it
    require: dict[str, str] = field(default_factory=dict)  # headers the request must carry, else 401
    drip: float = 0.0  # seconds between the bytes of the whole answer, status line and headers included


class PartnerServer:
    """Each path answers with its list of responses in turn; the last one repeats.

    Paths are matched without their query string; requests are recorded with it."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Response]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posts: list[tuple[str, bytes]] = []  # POSTed bodies (a webhook, say): path, body
        routes, requests, posts = self.routes, self.requests, self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                posts.append((self.path, self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self._send(204, b"", {})

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                requests.append((self.path, dict(self.headers)))
                queue = routes.get(urlsplit(self.path).path)
                if not queue:
                    self.send_error(404)
                    return
                response = queue.pop(0) if len(queue) > 1 else queue[0]
                if callable(response):
                    response = response(self.path, dict(self.headers))
                time.sleep(response.delay)
                if any(self.headers.get(k) != v for k, v in response.require.items()):
                    self._send(401, b"unauthorized", {})
                    return
                if response.etag and self.headers.get("If-None-Match") == response.etag:
                    self._send(304, b"", {"ETag": response.etag})
                    return
                body = gzip.compress(response.body) if response.gzip else response.body
                headers = dict(response.headers)
                if response.gzip:
                    headers["Content-Encoding"] = "gzip"
                if response.etag:
                    headers["ETag"] = response.etag
                if response.drip:
                    self._drip(response.status, body, headers, response.drip)
                    return
                self._send(response.status, body, headers, response.truncate_to, response.no_length)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str], truncate_to=None, no_length=False
            ) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if not no_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if truncate_to is None else body[:truncate_to])
                self.wfile.flush()
                if truncate_to is not None or no_length:
                    self.close_connection = True

            def _drip(self, status: int, body: bytes, headers: dict[str, str], interval: float) -> None:
                """A server that answers one byte at a time, each well within any read timeout."""
                head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
                try:
                    for byte in head.encode() + body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(interval)
                except OSError:
                    pass  # the client gave up: what the test wants
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # a client that gave up: expected here
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, *responses: Response) -> str:
        self.routes[path] = list(responses)
        return self.base_url + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
