"""What a run tells people: the maintainers' webhook, and the tables and Markdown of Prefect's artifacts.

A notification never fails a run: one that cannot be sent is reported back, without the URL
(it may hold a token). Nothing here imports Prefect; the flow hands these texts to it.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from partnerdata.config.sources import Config
from partnerdata.run.summary import DEGRADED, RunSummary
from partnerdata.util.redaction import redact_urls

NOTIFY_TIMEOUT_SECONDS = 10


def sources_table(summary: RunSummary) -> list[dict[str, Any]]:
    """One row per source for a run's table artifact."""
    return [
        {
            "source": line["source_id"],
            "status": line["status"],
            "data": "fallback" if line["status"] in DEGRADED else "current",
            "rows read": line["rows_read"],
            "accepted": line["rows_accepted"],
            "rejected": line["rows_rejected"],
            "of them across sources": line.get("rows_rejected_across", 0),
            "snapshot age (days)": line.get("snapshot_age_days"),
            "error": line["error"] or "",
            "warnings": "; ".join(
                w["message"] for w in summary.get("warnings", []) if w["source_id"] == line["source_id"]
            ),
        }
        for line in summary["sources"]
    ]


def release_markdown(summary: RunSummary) -> str:
    """The run's release summary for a Markdown artifact: version, the reason for the bump, the
    change counts, links to the files."""
    warned = [f"- {w['source_id']} ({w['kind']}): {w['message']}" for w in summary.get("warnings", [])]
    warned = ["## Warnings", "", *warned, ""] if warned else []
    if not summary.get("version"):
        return "\n".join([f"# No new release\n\n{summary['message']}\n", *warned])
    changes: dict[str, Any] = dict(summary.get("changes") or {})
    base = (summary.get("base_url") or "").rstrip("/")
    where = f"{base}/releases/{summary['version']}" if base else summary["release_path"]
    lines = [
        f"# Release {summary['version']}",
        "",
        f"- bump: **{changes.get('bump')}** (rule `{changes.get('rule')}`), from {changes.get('previous_version')}",
        *[f"- {reason}" for reason in changes.get("reasons", [])[:10]],
        "",
        "| resource | rows | added | removed | changed | files |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in summary["rows"].items():
        counts = changes.get("counts", {}).get(name, {})
        files = f"[CSV]({where}/{name}.csv) [Parquet]({where}/{name}.parquet)"
        lines.append(
            f"| {name} | {rows} | {counts.get('added', '')} | {counts.get('removed', '')} | {counts.get('changed', '')} | {files} |"
        )
    lines += ["", f"[datapackage.json]({where}/datapackage.json) · [CHANGES.md]({where}/CHANGES.md)", "", *warned]
    return "\n".join(lines)


def notify(config: Config, payload: dict[str, Any]) -> str:
    """POST the run's outcome as JSON to settings.notify_url, for a run nobody watches. Never
    raises: a notification that cannot be sent is reported back, without the URL (it may hold a token)."""
    if not config.settings.notify_url:
        return "no notify_url in settings: nobody notified"
    payload = json.loads(redact_urls(json.dumps(payload)))  # the message and errors may quote a URL
    try:
        response = requests.post(config.settings.notify_url, json=payload, timeout=NOTIFY_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        return f"the notification to {config.settings.notify_url_template} failed: {type(error).__name__}"
    return f"maintainers notified at {config.settings.notify_url_template}"


def notification(
    status: str, message: str, summary: RunSummary | None, flow: str | None, flow_run_id: str | None
) -> dict[str, Any]:
    """What the maintainers' webhook receives (README, "Notifications")."""
    return {
        "status": status,
        "message": message,
        "flow": flow,
        "flow_run_id": flow_run_id,
        "version": summary.get("version") if summary else None,
        "current_version": summary.get("current_version") if summary else None,
        "failed_sources": [
            {"source_id": s["source_id"], "status": s["status"], "error": s["error"]}
            for s in (summary["sources"] if summary else [])
            if s["status"] in DEGRADED
        ],
        "warnings": [
            {"source_id": w["source_id"], "kind": w["kind"], "message": w["message"]}
            for w in (summary["warnings"] if summary else [])
        ],
    }
