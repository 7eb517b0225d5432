"""After a delivery, the inbox may ask a Prefect server to run refresh-sources for that source (issue 16):
against the session's real Prefect test server, through its REST API; a server that does not answer costs
the delivery nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from partnerdata.collect.snapshots import list_snapshots
from partnerdata.inbox.trigger import Trigger
from tests.conftest import Project
from tests.inbox.conftest import BTC_FILE, inbox_entry, start_inbox

pytestmark = pytest.mark.usefixtures("prefect_engine")
SOURCE = "btc-guest-lectures"


def _deliver(demo_project: Project, trigger: Trigger) -> dict:
    inbox_entry(demo_project)
    for inbox in start_inbox(demo_project):
        settings = inbox.app.state.inbox.settings
        inbox.app.state.inbox.settings = replace(settings, trigger=trigger)
        response = requests.post(f"{inbox.url}/api/v1/sources/{SOURCE}/deliveries", timeout=60,
                                 data=(demo_project.root / BTC_FILE).read_bytes(),
                                 headers={"Authorization": f"Bearer {inbox.tokens[SOURCE]}"})  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()["delivery"]
    raise AssertionError("the inbox did not start")


def test_a_delivery_starts_refresh_sources_for_its_source(demo_project: Project):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("refresh-sources")
        deployment_id = client.create_deployment(flow_id=flow_id, name="refresh-sources")
        delivery = _deliver(demo_project, Trigger(PREFECT_API_URL.value()))
        runs = [r for r in client.read_flow_runs() if r.deployment_id == deployment_id]
    assert delivery["run"].endswith("of refresh-sources scheduled")
    (run,) = runs
    assert run.parameters == {"sources": [SOURCE]} and "inbox" in run.tags


def test_a_prefect_server_that_does_not_answer_costs_the_delivery_nothing(demo_project: Project):
    delivery = _deliver(demo_project, Trigger("http://127.0.0.1:9/api"))
    assert delivery["outcome"] == "new-snapshot" and delivery["run"].startswith("not started (")
    assert len(list_snapshots(demo_project.raw, SOURCE)) == 1
