"""What happened to a source's snapshots after they were written: checks, verdicts, acceptances.

Snapshots are write-once, so their story is an append-only log beside them,
raw/<source_id>/checks.jsonl, one JSON object a line:

- ``{"event": "check", "outcome": "new-snapshot" | "not-modified" | "same-bytes" | "failed", ...}``
  from every fetch: a 304 or an identical body confirms the last snapshot is current;
- ``{"event": "verdict", "verdict": "good" | "refused", "rows_read": ..., "reason": ..., "basis": ...}``:
  "good" once a release used the snapshot; "refused" from validation, binding for as long as the
  source's entry, the schemas and the code (the basis) stay the same;
- ``{"event": "defect", ...}`` when a snapshot could not be read for a reason that is not the
  partner's (a defect of partnerdata, a changed configuration): no verdict, it is read again;
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

from partnerdata.collect.snapshots import Snapshot, list_snapshots, read_events, record_event
from partnerdata.errors import ConfigError
from partnerdata.util.clock import utc_text

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

    def was_good(self, snapshot: Snapshot) -> bool:
        """Whether the snapshot was ever judged good or accepted: its bytes passed once."""
        return any(
            e.get("snapshot") == snapshot.name
            and (e["event"] == "accept" or (e["event"] == "verdict" and e.get("verdict") == "good"))
            for e in self.events
        )

    def used(self, snapshot: Snapshot) -> bool:
        """Whether a release used the snapshot (a verdict "good"; an acceptance alone is not a use)."""
        return any(
            e["event"] == "verdict" and e.get("snapshot") == snapshot.name and e.get("verdict") == "good"
            for e in self.events
        )

    def refused(self, snapshot: Snapshot, basis: str) -> bool:
        """Whether the latest verdict refused the snapshot on this basis (the same source entry, schemas
        and code: see pipeline.judgement_basis). A refusal on another basis, or one an older partnerdata
        recorded without one, binds no longer: the snapshot is judged again."""
        verdict = self.verdict(snapshot)
        return verdict is not None and verdict.get("verdict") == "refused" and verdict.get("basis") == basis


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


def usable(raw_dir: Path, source_id: str, basis: str) -> Snapshot | None:
    """The snapshot a run that does not fetch the source starts from: the newest not refused on this
    basis. It may be newer than the last good one: never judged (a run failed first), or refused
    before a fix of the source's entry; validation falls back to older ones if it fails."""
    history = load_history(raw_dir, source_id)
    return next((s for s in reversed(list_snapshots(raw_dir, source_id)) if not history.refused(s, basis)), None)


def candidates(raw_dir: Path, source_id: str, start: Snapshot, basis: str) -> list[Snapshot]:
    """start, then the older snapshots not refused on this basis, newest first: the order to try them in."""
    history = load_history(raw_dir, source_id)
    older = [s for s in reversed(list_snapshots(raw_dir, source_id)) if s.name < start.name]
    return [start] + [s for s in older if not history.refused(s, basis)]


def record_good(
    raw_dir: Path,
    snapshot: Snapshot,
    at: dt.datetime,
    rows_read: int,
    rows_accepted: int,
    profile: dict[str, Any] | None = None,
) -> None:
    """The verdict "good", once a release uses the snapshot; ``profile`` is what the next snapshot's
    drift check compares with (run.judge.drift_refusal)."""
    event = _verdict(snapshot, at, "good", rows_read, rows_accepted, None)
    if profile:
        event["profile"] = profile
    record_event(raw_dir, snapshot.source_id, event)


def record_refused(
    raw_dir: Path, snapshot: Snapshot, at: dt.datetime, rows_read: int, rows_accepted: int, reason: str, basis: str
) -> None:
    """The verdict "refused", for as long as ``basis`` (what a refusal depends on besides the bytes:
    run.judge.judgement_basis) stays the same."""
    event = _verdict(snapshot, at, "refused", rows_read, rows_accepted, reason)
    event["basis"] = basis
    record_event(raw_dir, snapshot.source_id, event)


def _verdict(
    snapshot: Snapshot, at: dt.datetime, verdict: str, rows_read: int, rows_accepted: int, reason: str | None
) -> dict[str, Any]:
    return {
        "event": "verdict", "at": utc_text(at), "snapshot": snapshot.name, "verdict": verdict,
        "rows_read": rows_read, "rows_accepted": rows_accepted, "reason": reason,
    }  # fmt: skip


def accept_snapshot(raw_dir: Path, source_id: str, name: str | None, by: str, at: dt.datetime) -> Snapshot:
    """Record that a maintainer accepts a snapshot (the newest by default) despite the thresholds."""
    snapshots = list_snapshots(raw_dir, source_id)
    if not snapshots:
        raise ConfigError(f"source {source_id} has no snapshot in {raw_dir} to accept; run partnerdata run first")
    chosen = snapshots[-1] if name is None else next((s for s in snapshots if s.name == name), None)
    if chosen is None:
        known = ", ".join(s.name for s in snapshots[-5:])
        raise ConfigError(f"source {source_id} has no snapshot {name} (the newest: {known})")
    record_event(raw_dir, source_id, {"event": "accept", "at": utc_text(at), "snapshot": chosen.name, "by": by})
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
                "at": utc_text(at),
                "snapshot": snapshot.name,
                "reason": f"retention_snapshots ({keep})",
            },
        )
        removed.append(snapshot.name)
    return removed
