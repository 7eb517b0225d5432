"""What a run found, twice: counts and positions for the public validation.json,
and the rejected values with their reasons for the maintainers, privately in reports/."""

from __future__ import annotations

import csv
import datetime as dt
import html
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partnerdata.config import layout
from partnerdata.config.sources import Source
from partnerdata.util.clock import utc_text
from partnerdata.util.safe_text import markdown_code, spreadsheet_cell
from partnerdata.validate.findings import DeliveryWarning, Finding
from partnerdata.validate.privacy import Removal

MAX_POSITIONS = 1000  # per source in validation.json; the private report has them all
EXAMPLES = 20  # rows shown per kind of problem in a partner's report; rejected.csv has them all
RULE_TITLES = {
    "type": "Value of the wrong kind",
    "required": "Missing value",
    "enum": "Unknown code",
    "pattern": "Identifier of the wrong form",
    "format": "Wrong format",
    "minimum": "Value too small",
    "maximum": "Value too large",
    "minLength": "Text too short",
    "maxLength": "Text too long",
    "unique": "Repeated value",
    "primary-key": "Repeated identifier",
    "foreign-key": "Reference to an unknown record",
    "row-shape": "Row with the wrong number of cells",
}
RULE_ADVICE = {
    "type": "write {field} in the form the problem column names (dates as YYYY-MM-DD, numbers with the agreed decimal mark).",
    "required": "fill in {field}; every row needs it.",
    "enum": "use one of the codes listed in the problem column for {field}; if your label means one of them, tell us and we will translate it for you.",
    "pattern": "{field} must look like the examples in the problem column; check for spaces, extra characters or a truncated value.",
    "format": "{field} must be a complete address, such as https://example.org/page or name@example.org.",
    "minimum": "{field} is below the lowest allowed value; check for a typing error or a minus sign.",
    "maximum": "{field} is above the highest allowed value; check for a typing error or a misplaced separator.",
    "minLength": "{field} is too short to be meaningful; write it out in full.",
    "maxLength": "shorten {field} to the length the problem column gives.",
    "unique": "each row needs its own {field}; the value already appears in an earlier row.",
    "primary-key": "give every record its own identifier ({field}); this one is already used by an earlier row or another delivery.",
    "foreign-key": "{field} must name a record that exists: check the identifier, or send us the record it refers to.",
    "row-shape": "the row has more or fewer cells than the header: look for a missing or extra separator, or a separator inside text that is not in quotes.",
}
DEFAULT_ADVICE = "correct the value so that the rule in the problem column holds."
REJECTED_COLUMNS = ["source_id", "file", "position", "resource", "field", "value", "rule", "message", "hint"]


@dataclass(frozen=True)
class RefusedDelivery:
    """The newest snapshot of a source, refused as a whole (unreadable, drift, a threshold): what the
    partner's letter says instead of the counts of the snapshot the source fell back to."""

    snapshot: str
    fetched_at: dt.datetime
    why: str  # in the partner's words: what is wrong with the file, never what to change in sources.yaml
    rows_read: int
    findings: list[Finding]

    @property
    def rows_rejected(self) -> int:
        return len({(f.resource, f.row) for f in self.findings})


@dataclass(frozen=True)
class SourceOutcome:
    """How one source fared in this run (collection and validation)."""

    source: Source
    status: layout.Status
    error: str | None  # for the maintainer: may quote the partner's file
    public_error: str | None  # for validation.json and datapackage.json
    snapshot_sha256: str | None
    snapshot_fetched_at: dt.datetime | None
    snapshot_confirmed_at: dt.datetime | None  # the last check that found the snapshot current
    rows_read: int
    findings: list[Finding]
    detected: dict[str, Any]
    removals: list[Removal] = field(default_factory=list)  # personal data taken out of free text
    snapshot_name: str | None = None
    refused: RefusedDelivery | None = None  # the newest snapshot, when it was refused
    warnings: list[DeliveryWarning] = field(default_factory=list)  # run.judge.warning: kind, message, for_partner
    rows_rejected_across: int = 0  # of rows_rejected, those the checks across sources rejected (keys, references)
    trial: bool = False  # a file checked before it is delivered (``partnerdata validate``, the inbox): nothing was used
    notes: list[str] = field(default_factory=list)  # a trial: what it could not check (references without a release)

    def age_days(self, now: dt.datetime) -> float | None:
        """Days since a check last found the snapshot current: how stale the published rows may be."""
        if self.snapshot_confirmed_at is None:
            return None
        return round(max(0.0, (now - self.snapshot_confirmed_at).total_seconds()) / 86400, 3)

    @property
    def rows_rejected(self) -> int:
        return len({(f.resource, f.row) for f in self.findings})

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rows_rejected


def validation_summary(
    outcomes: list[SourceOutcome], conflicts: list[dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    """The public validation.json: counts, rules, fields and positions; never a rejected value."""
    sources = []
    for outcome in outcomes:
        positions = sorted({f.position for f in outcome.findings}, key=_position_order)
        sources.append(
            {
                "source_id": outcome.source.source_id,
                "title": outcome.source.title,
                "resource": outcome.source.resource,
                "status": outcome.status,
                "error": outcome.public_error,
                "snapshot": None
                if outcome.snapshot_sha256 is None
                else {
                    "sha256": outcome.snapshot_sha256,
                    "fetched_at": iso_utc(outcome.snapshot_fetched_at),
                    "last_confirmed_at": iso_utc(outcome.snapshot_confirmed_at),
                    "age_days": outcome.age_days(now),
                },
                "detected": outcome.detected,
                "rows_read": outcome.rows_read,
                "rows_accepted": outcome.rows_accepted,
                "rows_rejected": outcome.rows_rejected,
                "problems": {
                    "total": len(outcome.findings),
                    "by_rule": dict(sorted(Counter(f.rule for f in outcome.findings).items())),
                    "by_field": dict(sorted(Counter(f.field for f in outcome.findings).items())),
                },
                "rejected_positions": positions[:MAX_POSITIONS],
                "rejected_positions_truncated": len(positions) > MAX_POSITIONS,
                "personal_data_removed": {
                    kind: sum(1 for r in outcome.removals if r.kind == kind) for kind in ("email", "phone")
                },
            }
        )
    return {
        "checked_at": iso_utc(now),
        "sources": sources,
        "organisation_conflicts": [
            {
                "organisation_id": c["organisation_id"],
                "kept_from": c["kept_from"],
                "other_source": c["other_source"],
                "fields": sorted(c["fields"]),
            }
            for c in conflicts
        ],
        "totals": {
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_accepted": sum(o.rows_accepted for o in outcomes),
            "rows_rejected": sum(o.rows_rejected for o in outcomes),
        },
    }


def write_private_reports(
    outcomes: list[SourceOutcome], conflicts: list[dict[str, Any]], reports_dir: Path, run_started: dt.datetime
) -> Path:
    """reports/<run>/<source_id>/rejected.csv (one line per problem) and report.md (a letter to the partner).
    Both are about the partner's newest delivery: when it was refused, its own problems, not those of
    the snapshot the source fell back to."""
    run_dir = layout.run_reports_dir(reports_dir, run_started)
    for outcome in outcomes:
        folder = layout.source_report_dir(reports_dir, run_started, outcome.source.source_id)
        mine = [c for c in conflicts if c["other_source"] == outcome.source.source_id]
        write_source_reports(outcome, mine, folder)
    run_dir.mkdir(parents=True, exist_ok=True)
    link = reports_dir / "latest"
    temporary = reports_dir / f".latest.{os.getpid()}"
    os.symlink(run_dir.name, temporary)
    os.replace(temporary, link)
    return run_dir


def write_source_reports(
    outcome: SourceOutcome, conflicts: list[dict[str, Any]], folder: Path, file: str | None = None
) -> None:
    """One source's rejected.csv, personal_data.csv and report.md in ``folder``; ``file`` names the
    file in rejected.csv (default: the source's URL as sources.yaml writes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "rejected.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, REJECTED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for finding in outcome.refused.findings if outcome.refused else outcome.findings:
            row = finding.as_dict()
            named = {"file": file or outcome.source.url_template, **{k: row[k] for k in REJECTED_COLUMNS if k in row}}
            writer.writerow(_spreadsheet_safe(named))
    with open(folder / "personal_data.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, ["source_id", "resource", "record", "field", "kind", "value"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(_spreadsheet_safe(r.as_dict()) for r in outcome.removals)
    (folder / "report.md").write_text(_letter(outcome, conflicts), encoding="utf-8")


def _spreadsheet_safe(row: dict[str, Any]) -> dict[str, Any]:
    """A row of a private CSV file maintainers open in Excel: no cell runs as a formula (README,
    "Security and limits"). The published CSV files stay the data, byte for byte."""
    return {key: spreadsheet_cell(value) if isinstance(value, str) else value for key, value in row.items()}


def _letter(outcome: SourceOutcome, conflicts: list[dict[str, Any]]) -> str:
    """The partner's letter: what became of its newest delivery, what to correct, and what to check.
    It never tells the partner what a maintainer changes (sources.yaml, ``partnerdata accept``)."""
    source = outcome.source
    lines = [
        f"# Data check: {source.title}",
        "",
        f"Source `{source.source_id}` ({source.url_template}), delivered by {source.organisation.name}.",
        "",
    ]
    used = (
        f"The data published for you is your delivery of {_day(outcome.snapshot_fetched_at)} (snapshot "
        f"{outcome.snapshot_name}): {outcome.rows_accepted} of its {outcome.rows_read} rows."
        if outcome.snapshot_sha256
        else "No data of yours is published until one of your deliveries can be used."
    )
    refused = outcome.refused
    if outcome.trial:
        lines += _trial_section(outcome)
    elif refused is not None:
        lines += _refused_section(outcome, refused, used)
    else:
        lines += _status_section(outcome, used)
    if outcome.warnings:
        lines += [
            "## Please check",
            "",
            *[f"- {_cell(w['for_partner'])}" for w in outcome.warnings],
            "",
        ]  # quotes labels
    if outcome.removals:
        lines += _removals_section(outcome.removals)
    for conflict in conflicts:
        fields = ", ".join(
            f"{name}: ours {v['kept']!r}, yours {v['other']!r}" for name, v in conflict["fields"].items()
        )
        lines += [
            f"Note: organisation {conflict['organisation_id']} is described differently by source {conflict['kept_from']} ({fields}); the first source's values are published.",
            "",
        ]
    return "\n".join(lines)


def _refused_section(outcome: SourceOutcome, refused: RefusedDelivery, used: str) -> list[str]:
    """The letter's part on a refused newest delivery: why, its problems, and those of the one published instead."""
    lines = [
        f"## Your delivery of {_day(refused.fetched_at)} was not used",
        "",
        f"This file (snapshot {refused.snapshot}) was not used: {refused.why}.",
        "",
        used,
        "",
    ]
    if refused.findings:
        lines += [
            f"- Rows read: {refused.rows_read}; with problems: {refused.rows_rejected}",
            "",
            *_problems(refused.findings, "Please correct the rows below and deliver the file again; each problem names"),
        ]  # fmt: skip
    if outcome.findings:
        lines += [
            f"## The delivery published instead: {outcome.rows_rejected} of its rows left out",
            "",
            *_problems(outcome.findings, "These rows of the delivery published for you were left out; each problem names"),
        ]  # fmt: skip
    return lines


def _trial_section(outcome: SourceOutcome) -> list[str]:
    """The letter's part on a file checked before it is delivered: what would become of it."""
    lines = ["This is a check of your file: nothing was delivered or published.", ""]
    refused = outcome.refused
    if refused is not None:
        lines += [
            "## Your file would not be used",
            "",
            f"If you delivered this file now, it would not be used: {refused.why}.",
            "",
        ]
        if refused.findings:
            lines += [
                f"- Rows read: {refused.rows_read}; with problems: {refused.rows_rejected}",
                "",
                *_problems(refused.findings, "Please correct the rows below before you deliver the file; each problem names"),
            ]  # fmt: skip
        return lines
    lines += [
        f"- Rows read: {outcome.rows_read}; would be published: {outcome.rows_accepted}; would be left out: "
        f"{outcome.rows_rejected}",
        "",
    ]
    if outcome.findings:
        lines += _problems(
            outcome.findings,
            "The rows below would be left out of the published data. Please correct them before you deliver the "
            "file; each problem names",
        )
    elif not outcome.warnings and not outcome.notes:
        lines += ["Every row passes every check: the file can be delivered.", ""]
    elif not outcome.warnings:
        lines += ["Every row passes the checks that could be made (see the notes): the file can be delivered.", ""]
    lines += [f"Note: {_cell(note)}" for note in outcome.notes]
    return lines


def _status_section(outcome: SourceOutcome, used: str) -> list[str]:
    """The letter's part on a delivery that was not refused: its status, counts and problems."""
    status = f"- Status of this delivery: **{outcome.status}**"
    if outcome.status in (
        "fallback",
        "failed",
    ):  # the cause is the maintainers' to read: it may name their settings
        status += f" (we could not fetch or read a new file from you this time; we know the details). {used}"
    lines = [
        status,
        f"- Rows read: {outcome.rows_read}; accepted: {outcome.rows_accepted}; rejected: {outcome.rows_rejected}",
        "",
    ]
    if outcome.findings:
        lines += _problems(
            outcome.findings,
            "The rows below were left out of the published data. Please correct them in your next delivery; each problem names",
        )
    elif outcome.snapshot_sha256 and outcome.status not in layout.DEGRADED and not outcome.warnings:
        lines += ["Every row passed every check. Thank you!", ""]
    return lines


def _removals_section(removals: list[Removal]) -> list[str]:
    """The letter's part on the personal data taken out of free text (the first 20 items)."""
    return [
        f"## Personal data: {len(removals)} item(s) removed before publication",
        "",
        "These e-mail addresses and phone numbers were found in free text and replaced by a mark in the",
        "published data. Please leave personal contact details out of titles, descriptions and summaries.",
        "",
        "| record | field | removed |",
        "|---|---|---|",
        *[
            f"| {r.resource} {_cell(str(r.record))} | {r.field} | {r.kind} {markdown_code(r.value, in_table=True)} |"
            for r in removals[:20]
        ],
        "",
    ]


def _problems(findings: list[Finding], lead: str) -> list[str]:
    """The problems of a delivery by kind: a count table, then examples of each with how to fix it."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.rule, finding.field), []).append(finding)
    lines = [
        lead,
        "the row as you find it in your file, the field, the value we received and what we expected.",
        "",
        "| problem | field | rows |",
        "|---|---|---|",
        *[f"| {RULE_TITLES.get(rule, rule)} | {name or '(whole row)'} | {len({(f.resource, f.row) for f in found})} |"
          for (rule, name), found in sorted(groups.items())],
        "",
    ]  # fmt: skip
    for (rule, name), found in sorted(groups.items()):
        lines += [
            f"## {RULE_TITLES.get(rule, rule)}: {name or 'whole row'} ({len(found)} problem(s), rule `{rule}`)",
            "",
            f"How to fix: {RULE_ADVICE.get(rule, DEFAULT_ADVICE).format(field=name)}",
            "",
            "| where | value | problem |",
            "|---|---|---|",
        ]
        for finding in found[:EXAMPLES]:
            value = "" if finding.value is None else markdown_code(_shortened(str(finding.value)), in_table=True)
            lines.append(f"| {_cell(finding.position)} | {value} | {_cell(finding.message)} |")
        if len(found) > EXAMPLES:
            lines.append(f"| ... | | {len(found) - EXAMPLES} more in rejected.csv |")
        lines.append("")
    return lines


def _day(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).date().isoformat() if moment else "an unknown day"


def _cell(text: str) -> str:
    """Text of partnerdata's own (a message, a position) that fits in a Markdown table cell; the
    partner's parts in it are shown literally, never as Markdown or HTML."""
    text = html.escape(" ".join(text.split()), quote=False)  # no tag a Markdown viewer would render
    return text.replace("|", "\\|").replace("[", "\\[")  # nor a cell break, nor a link


def _shortened(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _position_order(position: str) -> tuple[str, int]:
    prefix, _, number = position.rpartition(" ")
    return (prefix, int(number)) if number.isdigit() else (position, 0)


def iso_utc(moment: dt.datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)
