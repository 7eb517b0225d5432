"""What happened to a source's snapshots after they were written: checks, verdicts, acceptances.

Snapshots are write-once, so their story is an append-only log beside them,
raw/<source_id>/checks.jsonl, one JSON object a line:

- ``{"event": "check", "outcome": "new-snapshot" | "not-modified" | "same-bytes" | "failed", ...}``
  from every fetch: a 304 or an identical body confirms the last snapshot is current;
- ``{"event": "verdict", "verdict": "good" | "refused", "rows_read": ..., "reason": ...}`` from
  validation: a good snapshot may be published, a refused one never is;
- ``{"event": "accept", "by": ..., ...}`` from ``partnerdata accept``: a maintainer says a snapshot
  that the thresholds refused is right after all (a partner archived old records);
- ``{"event": "removed", ...}`` when retention deleted a snapshot.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnerdata.errors import ConfigError
from partnerdata.snapshots import Snapshot, iso_timestamp, list_snapshots, read_events, record_event

CONFIRMING_CHECKS = {"new-snapshot", "not-modified", "same-bytes"}


@dataclass(frozen=True)
class History:
    events: list[dict[str, Any]]

    def last_confirmed(self, snapshot: Snapshot) -> dt.datetime:
        """When a check last found this snapshot current (at least its fetch time)."""
        times = [
            dt.datetime.fromisoformat(e["at"])
            for e in self.events
            if e["event"] == "check" and e.get("outcome") in CONFIRMING_CHECKS and e.get("snapshot") == snapshot.name
        ]
        return max([snapshot.fetched_at, *times])

    def verdict(self, snapshot: Snapshot) -> dict[str, Any] | None:
        """The latest verdict on the snapshot; a maintainer's acceptance counts as a good one."""
        for event in reversed(self.events):
            if event.get("snapshot") == snapshot.name and event["event"] in ("verdict", "accept"):
                return event if event["event"] == "verdict" else {**event, "verdict": "good"}
        return None

    def accepted(self, snapshot: Snapshot) -> bool:
        return any(e["event"] == "accept" and e.get("snapshot") == snapshot.name for e in self.events)


def load_history(raw_dir: Path, source_id: str) -> History:
    return History(read_events(raw_dir, source_id))


def last_good(raw_dir: Path, source_id: str, before: Snapshot | None = None) -> Snapshot | None:
    """The newest snapshot judged good (older than ``before`` when given)."""
    history = load_history(raw_dir, source_id)
    for snapshot in reversed(list_snapshots(raw_dir, source_id)):
        if before is not None and snapshot.name >= before.name:
            continue
        verdict = history.verdict(snapshot)
        if verdict is not None and verdict["verdict"] == "good":
            return snapshot
    return None


def usable(raw_dir: Path, source_id: str) -> Snapshot | None:
    """The snapshot to fall back on: the last good one, else the newest that was never refused
    (a run that failed before it could judge it, a defect that kept it from being read)."""
    good = last_good(raw_dir, source_id)
    if good is not None:
        return good
    history = load_history(raw_dir, source_id)
    return next(
        (
            s
            for s in reversed(list_snapshots(raw_dir, source_id))
            if (history.verdict(s) or {}).get("verdict") != "refused"
        ),
        None,
    )


def candidates(raw_dir: Path, source_id: str, start: Snapshot) -> list[Snapshot]:
    """start, then the older snapshots that were never refused, newest first: the order to try them in."""
    history = load_history(raw_dir, source_id)
    older = [s for s in reversed(list_snapshots(raw_dir, source_id)) if s.name < start.name]
    return [start] + [s for s in older if (history.verdict(s) or {}).get("verdict") != "refused"]


def record_verdict(
    raw_dir: Path,
    snapshot: Snapshot,
    at: dt.datetime,
    good: bool,
    rows_read: int,
    rows_accepted: int,
    reason: str | None,
) -> None:
    record_event(raw_dir, snapshot.source_id, {
        "event": "verdict", "at": iso_timestamp(at), "snapshot": snapshot.name, "verdict": "good" if good else "refused",
        "rows_read": rows_read, "rows_accepted": rows_accepted, "reason": reason,
    })  # fmt: skip


def accept_snapshot(raw_dir: Path, source_id: str, name: str | None, by: str, at: dt.datetime) -> Snapshot:
    """Record that a maintainer accepts a snapshot (the newest by default) despite the thresholds."""
    snapshots = list_snapshots(raw_dir, source_id)
    if not snapshots:
        raise ConfigError(f"source {source_id} has no snapshot in {raw_dir} to accept; run partnerdata run first")
    chosen = snapshots[-1] if name is None else next((s for s in snapshots if s.name == name), None)
    if chosen is None:
        known = ", ".join(s.name for s in snapshots[-5:])
        raise ConfigError(f"source {source_id} has no snapshot {name} (the newest: {known})")
    record_event(raw_dir, source_id, {"event": "accept", "at": iso_timestamp(at), "snapshot": chosen.name, "by": by})
    return chosen


def prune(raw_dir: Path, source_id: str, keep: int, protected_sha256: set[str], at: dt.datetime) -> list[str]:
    """Delete snapshots beyond the newest ``keep``, except protected ones and the last good one."""
    snapshots = list_snapshots(raw_dir, source_id)
    good = last_good(raw_dir, source_id)
    kept = {s.name for s in snapshots[-keep:]} if keep > 0 else set()
    removed = []
    for snapshot in snapshots:
        if snapshot.name in kept or snapshot.sha256 in protected_sha256 or (good and snapshot.name == good.name):
            continue
        shutil.rmtree(snapshot.folder)
        record_event(
            raw_dir,
            source_id,
            {
                "event": "removed",
                "at": iso_timestamp(at),
                "snapshot": snapshot.name,
                "reason": f"retention_snapshots ({keep})",
            },
        )
        removed.append(snapshot.name)
    return removed
