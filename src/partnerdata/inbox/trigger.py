"""After a delivery, ask a Prefect server to run the refresh-sources deployment for that source.

Through Prefect's REST API (the library never imports Prefect): the deployment is found by name, then a
flow run of it is created with ``sources: [SOURCE_ID]``; the work pool's worker runs it. A server that does
not answer costs the delivery nothing: the delivery is made, and the next nightly picks it up.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import quote

import httpx

LOG = logging.getLogger("partnerdata.inbox")
FLOW = "refresh-sources"
DEPLOYMENT = "refresh-sources"
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class Trigger:
    """Where the Prefect server is (its API URL, as PREFECT_API_URL gives it)."""

    api_url: str

    def run_for(self, source_id: str) -> str:
        """Create a flow run of refresh-sources for the source; what became of it, in words."""
        headers = {}
        if key := os.environ.get("PREFECT_API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        base = self.api_url.rstrip("/")
        try:
            with httpx.Client(timeout=TIMEOUT, headers=headers) as client:
                found = client.get(f"{base}/deployments/name/{quote(FLOW)}/{quote(DEPLOYMENT)}")
                found.raise_for_status()
                created = client.post(
                    f"{base}/deployments/{found.json()['id']}/create_flow_run",
                    json={"parameters": {"sources": [source_id]}, "tags": ["inbox"]},
                )
                created.raise_for_status()
                run = created.json()
        except (httpx.HTTPError, KeyError, ValueError) as error:
            LOG.warning("inbox: could not start %s for %s (%s); the next nightly uses the delivery", FLOW, source_id,
                        type(error).__name__)  # fmt: skip
            return f"not started ({type(error).__name__}); the next nightly run publishes it"
        LOG.info("inbox: flow run %s of %s started for %s", run.get("name"), FLOW, source_id)
        return f"flow run {run.get('name')} of {FLOW} scheduled"
