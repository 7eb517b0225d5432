"""A finding: one problem with one value of one row, as a partner can locate it; and a delivery's warnings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict


@dataclass(frozen=True)
class Finding:
    """One problem. ``value`` is the partner's original text: private, never published."""

    source_id: str
    resource: str
    row: int  # index of the row in the source's table (0-based), for joining back
    position: str  # where the partner finds it: "line 7", "sheet Projecten row 12", ...
    field: str  # canonical field name, or "" for a problem with the whole row
    value: str | None
    rule: str  # required, enum, pattern, type, primary-key, foreign-key, a row rule's name, ...
    message: str  # for the partner
    hint: str = ""  # for the maintainer only (what to change in sources.yaml, say); never in a partner's letter

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeliveryWarning(TypedDict):
    """What a person should know of a delivery although nothing was refused (README, "Warnings")."""

    source_id: str
    kind: str  # unknown-label, row-change, mostly-empty, unchanged
    message: str  # for the maintainer
    for_partner: str  # for the partner's letter
