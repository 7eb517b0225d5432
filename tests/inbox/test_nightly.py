"""A source with `url: inbox` in the nightly (issue 16): never fetched; its newest delivery is used like a
fetched file, and without one the source fails alone, saying why."""

from __future__ import annotations

import json

import pytest

from partnerdata import cli
from partnerdata.collect.snapshots import read_events
from tests.conftest import Project
from tests.inbox.conftest import inbox_entry

pytestmark = pytest.mark.usefixtures("prefect_engine")
SOURCE = "btc-guest-lectures"


def test_an_inbox_source_without_a_delivery_fails_alone(demo_project: Project, capsys):
    inbox_entry(demo_project)
    assert cli.main(demo_project.cli_args()) == 3
    captured = capsys.readouterr()
    line = next(line for line in captured.out.splitlines() if line.strip().startswith(SOURCE))
    assert "failed" in line and "no delivery yet: the partner delivers through the inbox" in line
    assert not [e for e in read_events(demo_project.raw, SOURCE) if e["event"] == "check"]  # nothing fetched
    checked = json.loads((demo_project.published / "latest" / "validation.json").read_text(encoding="utf-8"))
    statuses = {s["source_id"]: s["status"] for s in checked["sources"]}
    assert statuses[SOURCE] == "failed" and statuses["hzk-leerweken"] == "fetched"  # the others are published
