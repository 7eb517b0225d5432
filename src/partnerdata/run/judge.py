"""One source's snapshots judged: whose fault a failure is, the thresholds, and when a verdict is recorded.

The rule (README, "Security and limits"):

- a PartnerFileError (what partnerdata refuses by name, and whatever a parser raises on the
  partner's bytes: readers/guard.py) refuses the snapshot, for as long as the source's entry, the
  schemas and the code stay the same (``judgement_basis``); the source falls back to an older one;
- the same failure on a snapshot that was judged good before is not the partner's: its bytes did
  not change, the configuration or the code did;
- any other exception while a snapshot is read, mapped or checked is a defect of partnerdata: it is
  logged loudly and records no verdict, and the next run reads the snapshot again;
- a full disk stops the run;
- a release that would lose a partner's records to a defect or a changed configuration is not made;
- the verdict "good" is recorded only once a release uses the snapshot.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import json
import logging
import os
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnerdata import __version__
from partnerdata.collect.history import History, candidates, last_good, load_history, record_good, record_refused
from partnerdata.collect.snapshots import Snapshot, list_snapshots, record_event, snapshot_at
from partnerdata.config import layout
from partnerdata.config.schemas import Schemas
from partnerdata.config.sources import SOURCE_ID_PATTERN, Source
from partnerdata.errors import LimitExceeded, NoTrustworthyRelease, PartnerFileError
from partnerdata.mapping.columns import SchemaDrift
from partnerdata.release.store import current_release, read_package
from partnerdata.run.summary import Collected, RefusedSnapshot, Status, Validated, Verdict
from partnerdata.util.clock import utc_text
from partnerdata.util.redaction import redact_urls
from partnerdata.validate.findings import DeliveryWarning
from partnerdata.validate.source import PreparedSource, prepare_source

LOG = logging.getLogger("partnerdata")


def judge_source(
    source: Source, schemas: Schemas, raw_dir: Path, collected: Collected, work_dir: Path, record: bool
) -> Validated:
    """Read and check the snapshot collection found, and judge it; on a refusal (or a failure that is
    not the partner's) the older snapshots in turn. Returns what became of it (``Validated``): status,
    snapshot, error and public_error, prepared (the staged rows), the verdict "good" to record once a
    release uses it, the defect, if one kept a snapshot from being read, ``refused`` (the newest
    snapshot, when it was refused: why, in the partner's words, and its findings, for the partner's
    letter) and ``warnings`` (what a person should know although nothing was refused)."""
    errors = Errors(collected.error)
    if collected.snapshot is None:
        return Validated.unread(collected, errors.private, errors.public)
    now = dt.datetime.fromisoformat(collected.checked_at)
    status: Status = collected.status
    history = load_history(raw_dir, source.source_id)
    basis = judgement_basis(source, schemas)
    defect: str | None = None
    refused: RefusedSnapshot | None = None
    for tried, snapshot in enumerate(
        candidates(raw_dir, source.source_id, snapshot_at(Path(collected.snapshot)), basis)
    ):
        newest = tried == 0  # the delivery the partner's letter is about
        if status in ("fallback", "reused") and _too_old(source, snapshot, history, now, errors):
            break  # data this run did not find current itself, and not confirmed for too long
        try:
            prepared = prepare_source(source, list(snapshot.bodies), schemas, work_dir)
        except PartnerFileError as problem:
            if history.was_good(snapshot):  # the same bytes passed before: what changed is not the file
                defect = _no_longer_read(raw_dir, source, snapshot, problem, now, errors, record)
            else:  # the partner's: the snapshot is refused, for as long as the entry and the code stay the same
                reason = f"snapshot {snapshot.name} refused: {problem}{limit_hint(problem, source)}"
                errors.add(
                    reason, f"snapshot {snapshot.name} refused: {_public_reason(problem)}; see the private report"
                )
                if newest:
                    refused = _refused(snapshot, partner_reason(problem), None, work_dir)
                if record:
                    record_refused(raw_dir, snapshot, now, 0, 0, reason, basis)
        except Exception as problem:  # noqa: BLE001 (not the partner's fault: see _not_the_partners)
            defect = _not_the_partners(raw_dir, source, snapshot, problem, now, errors, record)
        else:
            accepted = history.accepted(snapshot)
            refusal = None if accepted else threshold_refusal(raw_dir, source, snapshot, prepared)
            if refusal is None:  # the verdict "good" is recorded once the release that uses it is out
                verdict = Verdict(str(snapshot.folder), prepared.rows_read, prepared.rows_accepted, prepared.profile)
                first_use = not history.used(snapshot)  # a delivery warns once, when a release first uses it
                warnings = delivery_warnings(raw_dir, source, snapshot, prepared, not accepted) if first_use else []
                return Validated(collected.source_id, collected.checked_at, status, str(snapshot.folder),
                                 errors.private, errors.public, prepared, verdict, defect, refused, warnings)  # fmt: skip
            if record:
                record_refused(
                    raw_dir, snapshot, now, prepared.rows_read, prepared.rows_accepted, refusal.reason, basis
                )
            errors.add(refusal.reason)
            if newest:
                refused = _refused(snapshot, refusal.for_partner, prepared, work_dir)
        status = "fallback"
    return Validated(collected.source_id, collected.checked_at, "failed", None, errors.private, errors.public,
                     defect=defect, refused=refused)  # fmt: skip


def _too_old(source: Source, snapshot: Snapshot, history: History, now: dt.datetime, errors: Errors) -> bool:
    """Whether a snapshot this run did not find current itself was last confirmed longer ago than
    max_fallback_age_days (then its rows are left out, and the errors say so)."""
    age = (now - history.last_confirmed(snapshot)).total_seconds() / 86400
    if age <= source.max_fallback_age_days:
        return False
    errors.add(
        f"its last good snapshot ({snapshot.name}) was last confirmed {age:.1f} days ago, more than "
        f"max_fallback_age_days ({source.max_fallback_age_days:g}), so its rows are left out"
    )
    return True


def _refused(snapshot: Snapshot, why: str, prepared: PreparedSource | None, work_dir: Path) -> RefusedSnapshot:
    """The newest snapshot, refused: what the partner's letter says of it. Its findings are moved
    aside, so that the snapshot the source falls back to does not overwrite them."""
    findings = None
    if prepared is not None:
        findings = str(work_dir / f"{prepared.source_id}.refused.findings.jsonl")
        os.replace(prepared.findings, findings)
    return RefusedSnapshot(
        snapshot=snapshot.name,
        fetched_at=utc_text(snapshot.fetched_at),
        why=why,
        rows_read=prepared.rows_read if prepared else 0,
        rows_accepted=prepared.rows_accepted if prepared else 0,
        findings=findings,
    )


def judgement_basis(source: Source, schemas: Schemas) -> str:
    """What a verdict on a snapshot's bytes depends on besides the bytes: how the source's entry reads
    and judges them, the schemas and partnerdata's code. A refusal binds only while all are the same,
    so that fixing sources.yaml, the schemas or the code reads a refused snapshot again."""
    entry = {
        key: getattr(source, key)
        for key in ("format", "resource", "columns", "values", "constants", "date_format", "list_separator",
                    "max_bytes", "max_columns", "max_cells", "max_depth", "max_read_seconds",
                    "max_rejected_share", "max_row_drop_share")
    }  # fmt: skip
    entry["format_options"] = source.format_options
    basis = {"entry": entry, "schemas": schemas.digest(), "code": code_digest()}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.cache
def code_digest() -> str:
    """sha256 of partnerdata's own code and data files (the readers' codelists included)."""
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".csv") and p.is_file()):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _no_longer_read(
    raw_dir: Path, source: Source, snapshot: Snapshot, problem: PartnerFileError, now: dt.datetime, errors: Errors,
    record: bool,
) -> str:  # fmt: skip
    """A snapshot judged good before fails now: its bytes are the same, so sources.yaml, the schemas or
    partnerdata changed (a typo in ``columns``, a new limit). Not the partner's fault, and not recorded
    against the snapshot: the source falls back, and a release that would lose its data is not made."""
    what = f"{problem}{limit_hint(problem, source)}"
    if record:
        record_event(raw_dir, source.source_id, {"event": "defect", "at": utc_text(now), "snapshot": snapshot.name,
                                                 "error": what, "partnerdata_version": __version__})  # fmt: skip
    errors.add(
        f"snapshot {snapshot.name} was judged good before and now fails: {what}; its bytes have not changed, so "
        f"the entry of {source.source_id} in sources.yaml, the schemas or partnerdata did: check the entry "
        "(the snapshot was not marked bad)",
        f"snapshot {snapshot.name}, judged good before, no longer reads with the current configuration",
    )
    return f"snapshot {snapshot.name} was judged good before and now fails: {what}; check the entry in sources.yaml"


# The machine, not a file: these stop the run (nothing is published) instead of one source.
MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM}


def _not_the_partners(
    raw_dir: Path, source: Source, snapshot: Snapshot, problem: Exception, now: dt.datetime, errors: Errors,
    record: bool,
) -> str:  # fmt: skip
    """A failure that is not the partner's: a defect of partnerdata (an exception in its own code
    while it reads, maps or checks the snapshot), or raw/ unreadable. The source falls back for
    this run, loudly (the traceback is logged, the run's summary names it), and the snapshot gets
    no verdict: it is read again by the next run, with fixed code. A full disk stops the run."""
    if isinstance(problem, OSError) and problem.errno in MACHINE_ERRNOS:
        raise problem
    where = _raised_at(problem)
    what = redact_urls(f"{type(problem).__name__}: {' '.join(str(problem).split())[:300]} (at {where})")
    trace = redact_urls("".join(traceback.format_exception(problem)))
    LOG.error("%s: partnerdata defect while reading snapshot %s: %s\n%s", source.source_id, snapshot.name, what, trace)
    if record:
        record_event(raw_dir, source.source_id, {"event": "defect", "at": utc_text(now),
                                                 "snapshot": snapshot.name, "error": what,
                                                 "partnerdata_version": __version__})  # fmt: skip
    if isinstance(problem, OSError):
        errors.add(
            f"snapshot {snapshot.name} cannot be read from raw/: {what}; not the partner's fault: check the "
            "folder (its permissions, the disk); the snapshot was not marked bad",
            f"snapshot {snapshot.name} could not be read from raw/ ({type(problem).__name__})",
        )
        return f"raw/ unreadable: {what}"
    errors.add(
        f"partnerdata defect while reading snapshot {snapshot.name}: {what}; a bug in partnerdata, not in the "
        "partner's file: please report it (the snapshot was not marked bad; the next run reads it again)",
        f"snapshot {snapshot.name} could not be read because of a partnerdata defect ({type(problem).__name__})",
    )
    return f"partnerdata defect: {what}"


def _raised_at(problem: BaseException) -> str:
    """file:line of the innermost frame in partnerdata's own code (its path in the package, validate/source.py),
    else of the innermost frame."""
    frames = traceback.extract_tb(problem.__traceback__)
    own = [f for f in frames if f"{os.sep}partnerdata{os.sep}" in f.filename] or frames
    if not own:
        return "unknown"
    frame = own[-1]
    _, inside, where = frame.filename.rpartition(f"{os.sep}partnerdata{os.sep}")
    where = where if inside else Path(frame.filename).name
    return f"{where}:{frame.lineno} ({frame.name})"


def limit_hint(problem: PartnerFileError, source: Source) -> str:
    if isinstance(problem, LimitExceeded):
        return f"; if the file is genuine, raise {problem.limit} in the entry of {source.source_id} in sources.yaml"
    return ""


def partner_reason(problem: PartnerFileError) -> str:
    """Why the file was refused, for the partner's letter: the file's problem, never a key of sources.yaml."""
    if isinstance(problem, LimitExceeded):
        what = problem.limit.removeprefix("max_").replace("_", " ")
        return (
            f"it is past one of the limits we set for the files of your source (its {what}); if the file is complete "
            "and genuine, tell us"
        )
    return problem.problem


def _public_reason(problem: PartnerFileError) -> str:
    """What validation.json may say: the kind of refusal, never the file's content."""
    if isinstance(problem, LimitExceeded):
        return f"past the limit {problem.limit}"
    if isinstance(problem, SchemaDrift):
        return "its columns do not match the source's mapping"
    return "the file cannot be read as the format the source names"


@dataclass
class Errors:
    """What went wrong with a source, for the maintainer and for the public."""

    private: str | None
    public: str | None = None

    def __post_init__(self) -> None:
        self.private = redact_urls(self.private) if self.private else self.private
        self.public = self.private  # collection errors are composed by partnerdata and redacted

    def add(self, private: str, public: str | None = None) -> None:
        private = redact_urls(private)
        public = redact_urls(public or private)
        self.private = f"{self.private}; {private}" if self.private else private
        self.public = f"{self.public}; {public}" if self.public else public


@dataclass(frozen=True)
class Refusal:
    """Why the thresholds refuse a snapshot: for the maintainer (what to do in sources.yaml, or
    ``partnerdata accept``), and for the partner's letter (what is wrong with the file)."""

    reason: str
    for_partner: str
    kind: str = "threshold"  # or "drift"


def threshold_refusal(
    raw_dir: Path, source: Source, snapshot: Snapshot | None, prepared: PreparedSource
) -> Refusal | None:
    """Why the thresholds refuse this snapshot, or None: a collapse is not published. ``snapshot`` None:
    a file that is not a snapshot yet (``partnerdata validate``), judged against the last good one."""
    if prepared.rows_read == 0:
        return Refusal(f"{_called(snapshot)} has no rows", "the file has no rows")
    drift = drift_refusal(raw_dir, source, snapshot, prepared)
    if drift is not None:
        return drift
    rejected = prepared.rows_read - prepared.rows_accepted
    if rejected / prepared.rows_read > source.max_rejected_share:
        return Refusal(
            f"{_called(snapshot)} refused: {rejected} of {prepared.rows_read} rows rejected, more than "
            f"max_rejected_share ({source.max_rejected_share:.0%}); see the private report",
            f"{rejected} of its {prepared.rows_read} rows have problems, more than the "
            f"{source.max_rejected_share:.0%} we accept in one delivery; the rows and their problems are listed below",
        )
    before = _previous_verdict(raw_dir, source, snapshot)
    rows_before = before.get("rows_read") or 0
    if rows_before and prepared.rows_read < rows_before * (1 - source.max_row_drop_share):
        return Refusal(
            f"{_called(snapshot)} refused: its row count fell from {rows_before} to {prepared.rows_read}, by more "
            f"than max_row_drop_share ({source.max_row_drop_share:.0%}); if the drop is real, "
            f"run `partnerdata accept {source.source_id}`",
            f"it has {prepared.rows_read} rows where your previous delivery had {rows_before}; if you removed "
            "those records on purpose, tell us and we will use the file; if not, please send the complete file",
        )
    return None


def _called(snapshot: Snapshot | None) -> str:
    return f"snapshot {snapshot.name}" if snapshot is not None else "the file"


def _previous_verdict(raw_dir: Path, source: Source, snapshot: Snapshot | None) -> dict[str, Any]:
    """The verdict on the source's last good snapshot before this one (before none: the newest; {} when
    there is none)."""
    previous = last_good(raw_dir, source.source_id, before=snapshot)
    if previous is None:
        return {}
    verdict = load_history(raw_dir, source.source_id).verdict(previous) or {}
    return {**verdict, "name": previous.name, "delivered": previous.fetched_at.date().isoformat()}


# A field counts as mostly filled when at least this share of a resource's rows fill it, in a snapshot
# of at least MIN_ROWS_FILLED rows of it; as mostly empty when fewer than MOSTLY_EMPTY of them do.
MOSTLY_FILLED = 0.5
MOSTLY_EMPTY = 0.25
MIN_ROWS_FILLED = 5
# What the drift check calls the parts of a file that a standard format's reader maps.
COLUMN_WORD = {"iati": "element"}


def drift_refusal(raw_dir: Path, source: Source, snapshot: Snapshot | None, prepared: PreparedSource) -> Refusal | None:
    """Why the snapshot is refused as drift against the source's previous good snapshot, or None
    (README, "Drift"): a column (an element) that the previous snapshot had and the reader maps is
    missing, or a field read from the file that was mostly filled is empty in every row."""
    before = _previous_verdict(raw_dir, source, snapshot)
    if not before.get("profile"):
        return None  # no good snapshot yet, or judged before profiles were recorded: this one's becomes the first
    found: list[tuple[str, str]] = []  # (for the maintainer, for the partner)
    columns_before, columns_now = before["profile"].get("columns"), prepared.profile.get("columns")
    if columns_before and columns_now is not None:
        missing = [c for c, mapped in columns_before.items() if mapped and c not in columns_now]
        if missing:
            word = COLUMN_WORD.get(source.format, "column")
            added = [c for c in columns_now if c not in columns_before]
            new = f"(new {word}s: {_quoted(added)})" if added else f"(no new {word}s)"
            found.append((
                f"it no longer has the {word}(s) {_quoted(missing)} that the reader maps {new}",
                f"the {word}(s) {_quoted(missing)} that we read are missing {new}",
            ))  # fmt: skip
    for resource, name, was, count, rows in _fill_changes(before["profile"], prepared.profile):
        if count == 0 and was >= MOSTLY_FILLED * rows[0]:
            found.append((
                f"field '{name}' of {resource} is empty in every row (it was filled in {was} of {rows[0]} rows)",
                f"{_their_column(source, name)} is empty in every row (your previous delivery filled it in {was} of "
                f"{rows[0]} rows)",
            ))  # fmt: skip
    if not found:
        return None
    return Refusal(
        f"{_called(snapshot)} refused as drift since snapshot {before['name']}, the last good one: "
        f"{'; '.join(f for f, _ in found)}; if the change is real, adjust the entry of {source.source_id} in "
        f"sources.yaml (columns, values) or run `partnerdata accept {source.source_id}`",
        f"it differs from your delivery of {before['delivered']} in a way that would lose data: "
        f"{'; '.join(f for _, f in found)}. If the change is on purpose, tell us, so that we read the file as it "
        "is now; if not, please send the file as it was",
        kind="drift",
    )


def _fill_changes(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, str, int, int, tuple[int, int]]]:
    """(resource, field, rows filled before, rows filled now, (rows before, rows now)) for each field read
    from the file, of a resource with rows in both snapshots and MIN_ROWS_FILLED rows before."""
    changes = []
    for resource, was in before.get("resources", {}).items():
        is_now = now.get("resources", {}).get(resource)
        if not is_now or not is_now["rows"] or was["rows"] < MIN_ROWS_FILLED:
            continue
        for name, count in was["filled"].items():
            if name in is_now["filled"]:
                changes.append((resource, name, count, is_now["filled"][name], (was["rows"], is_now["rows"])))
    return changes


LABEL_SHOWN = 60  # characters of an unknown label a warning quotes


def delivery_warnings(
    raw_dir: Path, source: Source, snapshot: Snapshot | None, prepared: PreparedSource, compare: bool
) -> list[DeliveryWarning]:
    """What a person should know of a delivery that is used (README, "Warnings"): rows held back by a
    label that is not a code, and (``compare``: not for a snapshot a maintainer accepted) a row count
    that moved by more than warn_row_change_share, a field that became mostly empty."""
    warnings: list[DeliveryWarning] = []
    unknown: dict[str, Counter[str]] = {}
    with open(prepared.findings, encoding="utf-8") as lines:  # a line at a time: a file may hold millions
        for line in lines:
            if '"enum"' in line and (finding := json.loads(line))["rule"] == "enum":
                unknown.setdefault(finding["field"], Counter())[str(finding["value"])[:LABEL_SHOWN]] += 1
    for name, labels in sorted(unknown.items()):
        held, column = sum(labels.values()), _their_column(source, name)
        shown = ", ".join(f"{label!r} ({count})" for label, count in labels.most_common(5))
        more = f" and {len(labels) - 5} more" if len(labels) > 5 else ""
        warnings.append(warning(
            source, "unknown-label",
            f"{held} row(s) held back, their {name} not a code of the vocabulary: {shown}{more}; if a label "
            f"means an allowed code, add it under values.{name} in the entry in sources.yaml",
            f"{held} row(s) were left out because their {column} is not one we know: {shown}{more}; use one of the "
            "allowed codes (listed with the problem above), or tell us which code your label means",
        ))  # fmt: skip
    before = _previous_verdict(raw_dir, source, snapshot) if compare else {}
    rows_before, rows_now, share = before.get("rows_read") or 0, prepared.rows_read, source.warn_row_change_share
    if rows_before and share and abs(rows_now - rows_before) > share * rows_before:
        change = "fell" if rows_now < rows_before else "grew"
        warnings.append(warning(
            source, "row-change",
            f"its row count {change} from {rows_before} to {rows_now} since snapshot {before['name']}, by more than "
            f"warn_row_change_share ({share:.0%}); published, as it is within the thresholds",
            f"your delivery has {rows_now} rows where the previous one had {rows_before}; if records are missing "
            "by mistake, please send them again",
        ))  # fmt: skip
    for resource, name, was, count, rows in _fill_changes(before.get("profile") or {}, prepared.profile):
        if was >= MOSTLY_FILLED * rows[0] and 0 < count < MOSTLY_EMPTY * rows[1]:
            warnings.append(warning(
                source, "mostly-empty",
                f"field '{name}' of {resource} is filled in {count} of {rows[1]} rows, where snapshot "
                f"{before['name']} filled it in {was} of {rows[0]}",
                f"{_their_column(source, name)} is filled in only {count} of {rows[1]} rows, where your previous "
                "delivery filled it in "
                f"{was} of {rows[0]}: please check that the column is complete",
            ))  # fmt: skip
    return warnings


def _their_column(source: Source, name: str) -> str:
    """A field as the partner knows it: the column of its file that the entry maps to it."""
    column = source.columns.get(name)
    return f"'{column}'" if column else name


def warning(source: Source, kind: str, message: str, for_partner: str) -> DeliveryWarning:
    """One warning: its kind, the maintainer's text and the partner's."""
    return {"source_id": source.source_id, "kind": kind, "message": message, "for_partner": for_partner}


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def refuse_losses_to_defects(published_dir: Path, validated: Sequence[Validated]) -> None:
    """A defect of partnerdata or a changed configuration must not take a partner's records out of the
    release: when one left a source that the current release has data from without any readable
    snapshot, nothing is published."""
    current = current_release(published_dir)
    if current is None:
        return
    try:
        contributed = {s["source_id"] for s in read_package(published_dir, current["version"]).get("sources", [])
                       if s.get("snapshot_sha256")}  # fmt: skip
    except (OSError, ValueError):
        contributed = set()
    lost = [v for v in validated if v.defect and v.prepared is None and v.source_id in contributed]
    if lost:
        names = "; ".join(f"{v.source_id} ({v.defect})" for v in lost)
        raise NoTrustworthyRelease(
            f"no snapshot of {names} could be read, for a reason that is not the partner's: nothing was published, so "
            f"that a defect of partnerdata or a changed configuration does not remove their records from release "
            f"{current['version']}; published/ was not changed"
        )


def record_good_verdicts(raw_dir: Path, validated: Sequence[Validated], now: dt.datetime) -> None:
    """The verdict "good" on every snapshot the release current now was built from."""
    for v in validated:
        if v.verdict is not None:
            snapshot = snapshot_at(Path(v.verdict.snapshot))
            record_good(raw_dir, snapshot, now, v.verdict.rows_read, v.verdict.rows_accepted, v.verdict.profile)


def record_missing_verdicts(raw_dir: Path, published_dir: Path, now: dt.datetime) -> None:
    """A run killed after its release was out, before it recorded its verdicts, left the snapshots of
    the current release unjudged (the next run finds nothing changed and judges nothing): their
    verdict "good" is recorded now, with the counts the release's validation.json gives."""
    current = current_release(published_dir)
    if current is None:
        return
    folder = layout.release_dir(published_dir, current["version"])
    try:
        package = read_package(published_dir, current["version"])
        counts = {
            s["source_id"]: s
            for s in json.loads((folder / layout.VALIDATION_JSON).read_text(encoding="utf-8"))["sources"]
        }
    except (OSError, ValueError, KeyError):
        return
    for used in package.get("provenance", {}).get("snapshots", []):
        source_id = used.get("source_id", "")
        if not SOURCE_ID_PATTERN.match(source_id) or source_id not in counts:
            continue
        history = load_history(raw_dir, source_id)
        for snapshot in list_snapshots(raw_dir, source_id):
            if snapshot.sha256 == used.get("sha256") and history.verdict(snapshot) is None:
                rows = counts[source_id]
                record_good(raw_dir, snapshot, now, rows.get("rows_read", 0), rows.get("rows_accepted", 0))
