"""Time: the current moment, and the one way partnerdata writes a moment down.

Every timestamp that reaches the disk (raw/ meta.json and checks.jsonl, published/ and reports/)
is UTC, ISO 8601, with a ``Z``: ``2026-12-02T01:00:34Z``, or with microseconds where two moments
of one second must be told apart (a snapshot's ``fetched_at``). Python's ``fromisoformat`` reads it
back, and reads the ``+00:00`` that files written before 0.2 hold.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_text(moment: dt.datetime, precise: bool = False) -> str:
    """``moment`` in UTC, ISO 8601 with a Z, to the second unless ``precise``."""
    moment = moment.astimezone(dt.UTC)
    if not precise:
        moment = moment.replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> dt.datetime:
    """A timestamp as written by ``utc_text`` (or with +00:00)."""
    return dt.datetime.fromisoformat(text)
