"""What the stages of a run hand each other, typed, and the exit status they add up to.

A run walks forward once: ``PlannedSource`` (plan) -> ``Collected`` (collect: a snapshot, or why
none) -> ``Validated`` (read, checked and judged: the staged rows, or the refusal) -> ``RunSummary``
(publish: the release, the counts, the warnings). Each is a small JSON-able value, never a table:
a Prefect task passes it to the next, in this process or on a Dask worker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from partnerdata.config.layout import DEGRADED, Status
from partnerdata.errors import ExitStatus
from partnerdata.release.store import CHANGES_JSON
from partnerdata.validate.findings import DeliveryWarning
from partnerdata.validate.source import PreparedSource


@dataclass(frozen=True)
class PlannedSource:
    """A source the run takes: fetch it again, or use its newest snapshot."""

    source_id: str
    refetch: bool
    may_fetch: bool


@dataclass(frozen=True)
class Collected:
    """What collection found for a source: the snapshot to read (a folder in raw/), or why there is none."""

    source_id: str
    checked_at: str  # when the run started (ISO 8601)
    status: Status
    snapshot: str | None
    error: str | None = None  # for the maintainer, without credentials

    @property
    def degraded(self) -> bool:
        return self.status in DEGRADED


@dataclass(frozen=True)
class Verdict:
    """The verdict "good" on a snapshot, recorded once a release uses it."""

    snapshot: str
    rows_read: int
    rows_accepted: int
    profile: dict[str, Any]


@dataclass(frozen=True)
class RefusedSnapshot:
    """The newest snapshot, when it was refused: what the partner's letter says of it."""

    snapshot: str  # its name
    fetched_at: str
    why: str  # in the partner's words
    rows_read: int
    rows_accepted: int
    findings: str | None  # its findings (JSON lines), moved aside from the fallback's


@dataclass(frozen=True)
class Validated:
    """A source after reading, checking and judging: the snapshot a release may use, or none."""

    source_id: str
    checked_at: str
    status: Status
    snapshot: str | None
    error: str | None  # for the maintainer: it may quote the partner's file
    public_error: str | None  # for validation.json and datapackage.json: it never does
    prepared: PreparedSource | None = None  # the staged rows
    verdict: Verdict | None = None
    defect: str | None = None  # a defect of partnerdata kept a snapshot from being read
    refused: RefusedSnapshot | None = None
    warnings: list[DeliveryWarning] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return self.status in DEGRADED

    @classmethod
    def unread(cls, collected: Collected, error: str | None, public_error: str | None) -> Validated:
        """Collection found no snapshot: nothing to read."""
        return cls(collected.source_id, collected.checked_at, collected.status, None, error, public_error)


class SourceLine(TypedDict):
    """A source's line in the run's summary (and in the webhook's payload)."""

    source_id: str
    status: Status
    error: str | None
    rows_read: NotRequired[int]
    rows_accepted: NotRequired[int]
    rows_rejected: NotRequired[int]
    rows_rejected_across: NotRequired[int]
    snapshot_age_days: NotRequired[float | None]


class ChangesSummary(TypedDict):
    bump: str
    rule: str
    previous_version: str | None
    reasons: list[str]
    counts: dict[str, dict[str, int]]


class RunSummary(TypedDict):
    """A run's result: what the flow returns, the CLI prints and the webhook and artifacts tell."""

    message: str
    version: str | None  # the release this run published, if any
    current_version: str | None
    sources: list[SourceLine]
    warnings: list[DeliveryWarning]
    exit_status: NotRequired[ExitStatus]
    release_path: NotRequired[str | None]
    rows: NotRequired[dict[str, int]]
    reports: NotRequired[str]
    snapshots_removed: NotRequired[int]
    releases_removed: NotRequired[list[str]]
    changes: NotRequired[ChangesSummary | None]
    base_url: NotRequired[str | None]
    publish_parts: NotRequired[dict[str, float]]
    catalogue_error: NotRequired[str | None]
    timings: NotRequired[dict[str, float]]
    notified: NotRequired[str]


def exit_status(sources: Sequence[Collected | Validated]) -> ExitStatus:
    """OK when every source is fresh, DEGRADED when some fell back or failed (but a release is current)."""
    return ExitStatus.DEGRADED if any(s.degraded for s in sources) else ExitStatus.OK


def failed_partners(summary: RunSummary) -> str:
    """The partners that failed and why, for the run's state message, the notification and the last line."""
    return ", ".join(f"{s['source_id']} ({s['error']})" for s in summary["sources"] if s["status"] in DEGRADED)


def warned_sources(summary: RunSummary) -> str:
    """The warnings of a run, each as its source and kind, for the run's state message."""
    return "; ".join(f"{w['source_id']} ({w['kind']})" for w in summary.get("warnings", []))


def changes_summary(release_path: Path | None) -> ChangesSummary | None:
    """The release's changes.json in brief: the bump, its rule and reasons, the counts per resource."""
    if release_path is None:
        return None
    changes = json.loads((release_path / CHANGES_JSON).read_text(encoding="utf-8"))
    return {
        "bump": changes["bump"],
        "rule": changes["rule"],
        "previous_version": changes["previous_version"],
        "reasons": changes["reasons"],
        "counts": {name: diff["counts"] for name, diff in changes["resources"].items()},
    }
