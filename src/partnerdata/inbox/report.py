"""What the inbox's report page shows of a check: the problems by kind and field, in words that say how
many rows each affects, with the first examples and their neighbouring cells as context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from partnerdata.validate.annotate import MESSAGES_HEADER
from partnerdata.validate.reports import DEFAULT_ADVICE, RULE_ADVICE

EXAMPLES = 5  # per kind of problem on the page; the workbook and rejected.csv have them all
NEIGHBOURS = 2  # cells shown on each side of the one with the problem
SHOWN = 80  # characters of a cell the page shows


@dataclass
class Example:
    position: str
    value: str
    message: str
    context: list[tuple[str, str, bool]] = field(default_factory=list)  # (column, value, the problem's cell)


@dataclass
class Group:
    rule: str
    title: str
    field: str
    column: str
    problems: int
    rows: int
    wording: str
    advice: str
    examples: list[Example]


def problem_groups(report: Mapping[str, Any], annotated: Path | None, sheet: Mapping[str, Any] | None) -> list[Group]:
    """The problems of a report (Trial.as_report) by rule and field, each with its first examples."""
    findings = report["findings"]
    groups = []
    wanted: set[int] = set()
    for kind in report["problems"]:
        found = [f for f in findings if (f["rule"], f["field"]) == (kind["rule"], kind["field"])]
        column = kind.get("column") or kind["field"] or "the row"
        advice = RULE_ADVICE.get(kind["rule"], DEFAULT_ADVICE).format(field=column)
        examples = [Example(f["position"], _shown(f["value"]), f["message"]) for f in found[:EXAMPLES]]
        groups.append(Group(kind["rule"], kind["title"], kind["field"], column, kind["problems"], kind["rows"],
                            _wording(kind["rows"], report["rows_read"], kind["title"], column),
                            advice[:1].upper() + advice[1:], examples))  # fmt: skip
        wanted |= {row for e in examples if (row := _row(e.position)) is not None}
    if annotated is not None and sheet is not None and wanted:
        _add_context(groups, annotated, sheet, wanted)
    return groups


def _wording(rows: int, rows_read: int, title: str, column: str) -> str:
    """How many rows a problem affects, in words: "1 row", "12 rows (10%)", "every row"."""
    if rows_read and rows == rows_read:
        count = "every row" if rows > 1 else "the one row"
    elif rows == 1:
        count = "1 row"
    else:
        share = f" ({rows / rows_read:.0%})" if rows_read else ""
        count = f"{rows:,} rows{share}"
    return f"{title} in {column}: {count}"


def _row(position: str) -> int | None:
    number = position.rsplit(" ", 1)[-1]
    return int(number) if number.isdigit() else None


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _add_context(groups: list[Group], annotated: Path, sheet: Mapping[str, Any], wanted: set[int]) -> None:
    """Each example's neighbouring cells, from the annotated workbook (the partner's own rows)."""
    workbook = load_workbook(annotated, read_only=True)
    try:
        data = workbook[sheet["sheet"]]
        header_row = int(sheet["header_row"])
        rows: dict[int, list[str]] = {}
        header: list[str] = []
        last = max(wanted | {header_row})
        for number, values in enumerate(data.iter_rows(max_row=last, values_only=True), start=1):
            if number == header_row:
                header = [_shown(v) for v in values]
            elif number in wanted:
                rows[number] = [_shown(v) for v in values]
    finally:
        workbook.close()
    if MESSAGES_HEADER in header:  # the added messages column is not the partner's
        header = header[: header.index(MESSAGES_HEADER)]
    for group in groups:
        where = header.index(group.column) if group.column in header else None
        for example in group.examples:
            cells = rows.get(_row(example.position) or -1)
            if cells is None:
                continue
            start = max(0, (where or 0) - NEIGHBOURS)
            end = min(len(header), (where or 0) + NEIGHBOURS + 1) if where is not None else min(len(header), 5)
            example.context = [(header[i], cells[i] if i < len(cells) else "", i == where) for i in range(start, end)]
