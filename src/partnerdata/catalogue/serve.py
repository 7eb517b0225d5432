"""``partnerdata serve``: published/ on a local port, to preview the catalogue as a host would serve it."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


class CatalogueHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def guess_type(self, path: str) -> str:
        return BY_NAME.get(Path(path).name) or super().guess_type(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a preview shows the newest release at once
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def make_server(published_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for published_dir (port 0: a free one; read it from server.server_address)."""
    if not Path(published_dir).is_dir():
        raise FileNotFoundError(f"{published_dir}: no such folder; run `partnerdata run` first")
    handler = functools.partial(CatalogueHandler, directory=str(published_dir))
    return ThreadingHTTPServer((host, port), handler)
