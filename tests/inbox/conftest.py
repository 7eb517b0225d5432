"""An inbox on loopback (port 0) over a copy of the demo project whose guest lectures arrive through it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from partnerdata.inbox.app import InboxSettings, listening_socket, make_app, server
from partnerdata.inbox.tokens import TokenStore
from partnerdata.run.plan import RunPaths
from tests.conftest import Project, dump_yaml

BTC_FILE = "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"


@dataclass
class Inbox:
    project: Project
    url: str
    tokens: dict[str, str]  # source_id -> token
    app: object

    @property
    def folder(self) -> Path:
        return self.project.root / "inbox"


def inbox_entry(project: Project, source_id: str = "btc-guest-lectures", **changes: object) -> None:
    """The source's entry says `url: inbox` (and takes ``changes``)."""
    document = yaml.safe_load(project.sources.read_text(encoding="utf-8"))
    for entry in document["sources"]:
        if entry["source_id"] == source_id:
            entry.update(url="inbox", **changes)
    project.sources.write_text(dump_yaml(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def start_inbox(project: Project, max_validations: int = 2, wait_seconds: float = 30.0) -> Iterator[Inbox]:
    run = RunPaths(str(project.sources), str(project.raw), str(project.published), str(project.reports))
    app = make_app(InboxSettings(run, project.root / "inbox", max_validations, wait_seconds))
    sock = listening_socket("127.0.0.1", 0)
    uvicorn_server = server(app)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "the inbox did not start"
        time.sleep(0.05)
    store = TokenStore(project.root / "inbox")
    tokens = {source_id: store.create(source_id) for source_id in ("btc-guest-lectures", "hzk-leerweken")}
    try:
        yield Inbox(project, f"http://127.0.0.1:{sock.getsockname()[1]}", tokens, app)
    finally:
        uvicorn_server.should_exit = True
        thread.join(10)


@pytest.fixture
def inbox(demo_project: Project) -> Iterator[Inbox]:
    inbox_entry(demo_project, max_bytes=40_000)
    yield from start_inbox(demo_project)
