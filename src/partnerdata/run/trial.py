"""One file checked as the nightly would check it, before anyone delivers it (``partnerdata validate``, the inbox).

The file is read with its source's entry and goes through every check a nightly run makes for that
source: the reader's limits, the checks of each row, the thresholds and drift against the source's last
good snapshot in raw/, and the checks across sources (keys, references) against the current release, with
the other sources' rows as that release holds them. Nothing is fetched, nothing is written to raw/ or
published/, and no lock is taken: a partner gets the nightly's verdict in seconds.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.config import layout
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import Config, Source
from partnerdata.errors import ExitStatus, LimitExceeded, PartnerFileError, UsageError
from partnerdata.mapping.columns import SchemaDrift
from partnerdata.release.store import current_release
from partnerdata.run.judge import delivery_warnings, limit_hint, partner_reason, threshold_refusal
from partnerdata.run.plan import RunPaths, load
from partnerdata.util.clock import utc_now
from partnerdata.validate.across import assemble
from partnerdata.validate.annotate import TooLargeToAnnotate, can_annotate, write_annotated_workbook
from partnerdata.validate.findings import DeliveryWarning, Finding
from partnerdata.validate.privacy import Removal, scrub_free_text
from partnerdata.validate.reports import RULE_TITLES, RefusedDelivery, SourceOutcome, write_source_reports
from partnerdata.validate.source import (
    POSITION,
    ROW,
    STAGED_SUFFIX,
    PreparedSource,
    prepare_source,
    read_findings,
    staged_schema,
    write_staged,
)

LOG = logging.getLogger("partnerdata")

Verdict = Literal["passed", "rows-rejected", "refused"]
# Why a file is refused: too large (max_bytes), past another limit, unreadable as its format, drift since the
# last good snapshot (a mapped column missing, a filled field emptied), or past a threshold (rejected rows, rows lost).
RefusalKind = Literal["too-large", "limit", "unreadable", "drift", "threshold"]
EXIT_STATUS: dict[Verdict, ExitStatus] = {
    "passed": ExitStatus.OK,
    "rows-rejected": ExitStatus.DEGRADED,
    "refused": ExitStatus.REFUSED,
}
ANNOTATED = "annotated.xlsx"
FINDINGS_IN_JSON = 10_000  # problems a JSON report lists one by one; the counts cover all of them


@dataclass
class Trial:
    """What the nightly would decide about one file of one source."""

    source: Source
    file: Path
    verdict: Verdict
    rows_read: int = 0
    rows_accepted: int = 0
    findings: list[Finding] = field(default_factory=list)  # within the file and across sources
    warnings: list[DeliveryWarning] = field(default_factory=list)
    why: str | None = None  # refused: why, in the partner's words
    refusal: RefusalKind | None = None
    reason: str | None = None  # refused: why, for the maintainer (may name sources.yaml's keys)
    detected: dict[str, Any] = field(default_factory=dict)
    removals: list[Removal] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    against_release: str | None = None  # the release whose other sources the keys and references were checked with
    notes: list[str] = field(default_factory=list)  # what the check could not do (an annotated copy, say)
    outputs: dict[str, str] = field(default_factory=dict)  # report.md, rejected.csv, annotated.xlsx -> path
    annotated: dict[str, Any] | None = None  # the annotated workbook's sheet of the partner's rows, its header row

    @property
    def exit_status(self) -> ExitStatus:
        return EXIT_STATUS[self.verdict]

    @property
    def rows_rejected(self) -> int:
        return len({(f.resource, f.row) for f in self.findings})

    def as_report(self) -> dict[str, Any]:
        """The JSON report (the inbox's API): counts per problem kind and field, the problems, the warnings."""
        groups = Counter((f.rule, f.field) for f in self.findings)
        rows = {key: len({(f.resource, f.row) for f in self.findings if (f.rule, f.field) == key}) for key in groups}
        return {
            "source_id": self.source.source_id,
            "file": self.file.name,
            "verdict": self.verdict,
            "exit_status": int(self.exit_status),
            "why": self.why,
            "refusal": self.refusal,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "checked_against_release": self.against_release,
            "problems": [
                {
                    "rule": rule,
                    "title": RULE_TITLES.get(rule, rule),
                    "field": name,
                    "column": self.source.columns.get(name),
                    "problems": count,
                    "rows": rows[(rule, name)],
                }
                for (rule, name), count in sorted(groups.items())
            ],  # fmt: skip
            "findings": [_public_finding(f) for f in self.findings[:FINDINGS_IN_JSON]],
            "findings_truncated": len(self.findings) > FINDINGS_IN_JSON,
            "warnings": [w["for_partner"] for w in self.warnings],
            "personal_data_found": len(self.removals),
            "detected": self.detected,
            "notes": self.notes,
        }


def _public_finding(finding: Finding) -> dict[str, Any]:
    """A finding for the partner: never the maintainer's hint."""
    return {k: v for k, v in finding.as_dict().items() if k not in ("hint", "source_id")}


def try_file(run: RunPaths, source_id: str, file: Path, out_dir: Path | None) -> Trial:
    """Check ``file`` as the source's next delivery; with ``out_dir``, write the partner's letter
    (report.md), rejected.csv, personal_data.csv and, for a spreadsheet, annotated.xlsx there."""
    config, schemas = load(run)
    source = config.source(source_id)
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    with tempfile.TemporaryDirectory(prefix="partnerdata-validate-") as work:
        trial = _judge(run, config, schemas, source, file, Path(work))
        LOG.info("%s: %s checked: %s, %d of %d rows pass", source_id, file.name, trial.verdict,
                 trial.rows_accepted, trial.rows_read)  # fmt: skip
        if out_dir is not None:
            _write_outputs(trial, out_dir)
    return trial


def _judge(run: RunPaths, config: Config, schemas: Schemas, source: Source, file: Path, work: Path) -> Trial:
    size = file.stat().st_size
    if size > source.max_bytes:
        problem = LimitExceeded("max_bytes", f"the file has {size:,} bytes, more than max_bytes ({source.max_bytes:,})")
        trial = _refused(source, file, problem)
        trial.refusal = "too-large"
        return trial
    try:
        prepared = prepare_source(source, [file], schemas, work)
    except PartnerFileError as problem:
        return _refused(source, file, problem)
    raw_dir = Path(run.raw_dir)
    within = read_findings(prepared.findings)
    refusal = threshold_refusal(raw_dir, source, None, prepared)
    trial = Trial(source, file, "passed", prepared.rows_read, prepared.rows_accepted, detected=dict(prepared.detected))
    if refusal is not None:
        trial.verdict, trial.why, trial.reason, trial.findings = "refused", refusal.for_partner, refusal.reason, within
        trial.refusal = "drift" if refusal.kind == "drift" else "threshold"
        return trial
    trial.warnings = delivery_warnings(raw_dir, source, None, prepared, compare=True)
    across, trial.against_release = _across(run, config, schemas, prepared, work, trial)
    trial.findings = sorted(within + across, key=lambda f: f.row)
    trial.rows_accepted = trial.rows_read - trial.rows_rejected
    trial.verdict = "rows-rejected" if trial.findings else "passed"
    return trial


def _refused(source: Source, file: Path, problem: PartnerFileError) -> Trial:
    reason = f"{problem}{limit_hint(problem, source)}"
    kind: RefusalKind = "unreadable"
    if isinstance(
        problem, LimitExceeded
    ):  # the file's own size is checked before it is read: this is what it unpacks to
        kind = "limit"
    elif isinstance(problem, SchemaDrift):
        kind = "drift"
    return Trial(source, file, "refused", why=partner_reason(problem), reason=reason, refusal=kind)


def _across(
    run: RunPaths, config: Config, schemas: Schemas, prepared: PreparedSource, work: Path, trial: Trial
) -> tuple[list[Finding], str | None]:
    """The checks across sources, with the other sources' rows as the current release holds them."""
    current = current_release(Path(run.published_dir))
    others: list[PreparedSource] = []
    version = None
    if current is not None:
        version = current["version"]
        try:
            enabled = {s.source_id for s in config.enabled_sources} - {prepared.source_id}
            others = _release_sources(Path(run.published_dir), version, schemas, enabled, work)
        except (OSError, pa.ArrowException, KeyError, ValueError) as error:
            LOG.warning("release %s could not be read to check %s against: %s", version, prepared.source_id, error)
            trial.notes.append(
                f"keys and references were checked within the file only: release {version} could not be read "
                f"({type(error).__name__})"
            )
            version = None
    assembly = assemble(config, schemas, [*others, prepared])
    mine = prepared.source_id
    own_tables = {name: _rows_of(table, mine) for name, table in assembly.tables.items()}
    regions = {s.source_id: s.organisation.country for s in config.sources}
    _, trial.removals = scrub_free_text(own_tables, schemas, regions)
    trial.conflicts = [c for c in assembly.conflicts if c["other_source"] == mine]
    found = [f for f in assembly.findings if f.source_id == mine]
    if version is None:  # the nightly checks references against the other sources' rows, which no release holds yet
        references = {"foreign-key"} | {
            r["name"] for rules in schemas.rules.values() for r in rules if r["kind"] == "within"
        }
        unchecked = [f for f in found if f.rule in references]
        if unchecked:
            trial.notes.append(
                f"there is no release yet, so {len(unchecked)} reference(s) to other records were not checked "
                "(the first nightly checks them against every source's rows)"
            )
        found = [f for f in found if f.rule not in references]
    return found, version


def _release_sources(
    published_dir: Path, version: str, schemas: Schemas, wanted: set[str], work: Path
) -> list[PreparedSource]:
    """The current release's rows of the ``wanted`` sources, staged as a nightly stages a source's rows."""
    folder = layout.release_dir(published_dir, version)
    tables = {name: pq.read_table(folder / f"{name}.parquet") for name in RESOURCE_NAMES}
    source_ids = sorted({s for t in tables.values() for s in pc.unique(t.column("source_id")).to_pylist() if s})
    staged = []
    for source_id in source_ids:
        if source_id not in wanted:
            continue
        paths = {}
        for name, table in tables.items():
            rows = _rows_of(table, source_id)
            if rows.num_rows == 0:
                continue
            path = work / f"release.{source_id}.{name}{STAGED_SUFFIX}"
            write_staged(_as_staged(rows, schemas, name, version), path)
            paths[name] = str(path)
        staged.append(PreparedSource(source_id, paths, "", 0, 0))
    return staged


def _rows_of(table: pa.Table, source_id: str) -> pa.Table:
    return table.filter(pc.equal(table.column("source_id"), source_id))


def _as_staged(rows: pa.Table, schemas: Schemas, name: str, version: str) -> pa.Table:
    """Published rows in a staged table's form: every field (those not published empty), a row index and position."""
    schema = staged_schema(schemas, name)
    columns = []
    for spec in schema:
        if spec.name == ROW:
            columns.append(pa.array(range(rows.num_rows), pa.int64()))
        elif spec.name == POSITION:
            columns.append(pa.array([f"release {version}"] * rows.num_rows, pa.string()))
        elif spec.name in rows.column_names:
            columns.append(rows.column(spec.name).cast(spec.type))
        else:
            columns.append(pa.nulls(rows.num_rows, spec.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _write_outputs(trial: Trial, out_dir: Path) -> None:
    """report.md, rejected.csv and personal_data.csv as a nightly writes them for the source, and the
    annotated workbook."""
    out_dir.mkdir(parents=True, exist_ok=True)
    now = utc_now()
    refused = None
    if trial.verdict == "refused":
        refused = RefusedDelivery(trial.file.name, now, trial.why or "", trial.rows_read, trial.findings)
    outcome = SourceOutcome(
        source=trial.source, status="fetched", error=trial.reason, public_error=None, snapshot_sha256=None,
        snapshot_fetched_at=now, snapshot_confirmed_at=now, rows_read=trial.rows_read,
        findings=[] if refused else trial.findings, detected=trial.detected, removals=trial.removals,
        refused=refused, warnings=trial.warnings, trial=True, notes=list(trial.notes),
    )  # fmt: skip
    write_source_reports(outcome, trial.conflicts, out_dir, file=trial.file.name)
    trial.outputs = {name: str(out_dir / name) for name in ("report.md", "rejected.csv", "personal_data.csv")}
    if not can_annotate(trial.source) or (trial.verdict == "refused" and not trial.rows_read):
        return  # not a spreadsheet, or not readable: nothing to mark
    cells = trial.rows_read * max(1, len(trial.source.columns))
    try:
        annotated = write_annotated_workbook(trial.source, trial.file, trial.findings, trial.detected,
                                             out_dir / ANNOTATED, cells)  # fmt: skip
    except TooLargeToAnnotate as too_large:
        trial.notes.append(f"no annotated copy: {too_large}")
        return
    except Exception as error:  # noqa: BLE001 (openpyxl's own failure on a file the reader took: no copy, said)
        LOG.warning("%s: no annotated copy of %s: %s: %s", trial.source.source_id, trial.file.name,
                    type(error).__name__, error)  # fmt: skip
        trial.notes.append(f"no annotated copy: the workbook could not be copied ({type(error).__name__}); "
                           "rejected.csv lists every problem")  # fmt: skip
        return
    trial.outputs[ANNOTATED] = str(annotated.path)
    trial.annotated = {"sheet": annotated.sheet, "header_row": annotated.header_row}
