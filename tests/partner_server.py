"""A loopback HTTP server for tests: serves scripted responses, records the requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class PartnerServer:
    """Each path answers with its list of responses in turn; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Response]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                requests.append((self.path, dict(self.headers)))
                queue = routes.get(self.path)
                if not queue:
                    self.send_error(404)
                    return
                response = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
