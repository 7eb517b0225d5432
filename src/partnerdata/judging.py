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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnerdata import __version__, paths
from partnerdata.config import SOURCE_ID_PATTERN, Source
from partnerdata.errors import LimitExceeded, NoTrustworthyRelease, PartnerFileError
from partnerdata.history import candidates, last_good, load_history, record_verdict
from partnerdata.mapping import SchemaDrift
from partnerdata.prepare import PreparedSource, prepare_source
from partnerdata.redaction import redact_urls
from partnerdata.release import current_release
from partnerdata.schemas import Schemas
from partnerdata.snapshots import Snapshot, iso_timestamp, list_snapshots, record_event, snapshot_at

LOG = logging.getLogger("partnerdata")


def judge_source(
    source: Source, schemas: Schemas, raw_dir: Path, collected: dict[str, Any], work_dir: Path, record: bool
) -> dict[str, Any]:
    """Read and check the snapshot collection found, and judge it; on a refusal (or a failure that is
    not the partner's) the older snapshots in turn. Returns ``collected`` with what became of it:
    status, snapshot, error and public_error, prepared (the staged rows), the verdict "good" to record
    once a release uses it, and the defect, if one kept a snapshot from being read."""
    errors = Errors(collected["error"])
    if collected["snapshot"] is None:
        return {**collected, **errors.as_dict(), "prepared": None, "verdict": None, "defect": None}
    now = dt.datetime.fromisoformat(collected["checked_at"])
    status = collected["status"]
    history = load_history(raw_dir, source.source_id)
    basis = judgement_basis(source, schemas)
    defect = None
    for snapshot in candidates(raw_dir, source.source_id, snapshot_at(Path(collected["snapshot"])), basis):
        if status in ("fallback", "reused"):  # data this run did not find current itself
            age = (now - history.last_confirmed(snapshot)).total_seconds() / 86400
            if age > source.max_fallback_age_days:
                errors.add(
                    f"its last good snapshot ({snapshot.name}) was last confirmed {age:.1f} days ago, more than "
                    f"max_fallback_age_days ({source.max_fallback_age_days:g}), so its rows are left out"
                )
                break
        try:
            prepared = prepare_source(source, list(snapshot.bodies), schemas, work_dir)
        except PartnerFileError as problem:
            if history.was_good(snapshot):  # the same bytes passed before: what changed is not the file
                defect = _no_longer_read(raw_dir, source, snapshot, problem, now, errors, record)
            else:  # the partner's: the snapshot is refused, for as long as the entry and the code stay the same
                refusal = f"snapshot {snapshot.name} refused: {problem}{_limit_hint(problem, source)}"
                errors.add(
                    refusal, f"snapshot {snapshot.name} refused: {_public_reason(problem)}; see the private report"
                )
                if record:
                    record_verdict(raw_dir, snapshot, now, False, 0, 0, refusal, basis)
        except Exception as problem:  # noqa: BLE001 (not the partner's fault: see _not_the_partners)
            defect = _not_the_partners(raw_dir, source, snapshot, problem, now, errors, record)
        else:
            refusal = None if history.accepted(snapshot) else threshold_refusal(raw_dir, source, snapshot, prepared)
            if refusal is None:  # the verdict "good" is recorded once the release that uses it is out
                verdict = {"snapshot": str(snapshot.folder), "rows_read": prepared.rows_read,
                           "rows_accepted": prepared.rows_accepted, "profile": prepared.profile}  # fmt: skip
                return {
                    **collected,
                    **errors.as_dict(),
                    "status": status,
                    "snapshot": str(snapshot.folder),
                    "prepared": prepared.as_dict(),
                    "verdict": verdict,
                    "defect": defect,
                }
            if record:
                record_verdict(
                    raw_dir, snapshot, now, False, prepared.rows_read, prepared.rows_accepted, refusal, basis
                )
            errors.add(refusal)
        status = "fallback"
    return {**collected, **errors.as_dict(), "status": "failed", "snapshot": None, "prepared": None,
            "verdict": None, "defect": defect}  # fmt: skip


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
    package = Path(__file__).parent
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
    what = f"{problem}{_limit_hint(problem, source)}"
    if record:
        record_event(raw_dir, source.source_id, {"event": "defect", "at": iso_timestamp(now), "snapshot": snapshot.name,
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
        record_event(raw_dir, source.source_id, {"event": "defect", "at": iso_timestamp(now),
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
    """file:line of the innermost frame in partnerdata's own code (else the innermost frame)."""
    frames = traceback.extract_tb(problem.__traceback__)
    own = [f for f in frames if f"{os.sep}partnerdata{os.sep}" in f.filename] or frames
    if not own:
        return "unknown"
    frame = own[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"


def _limit_hint(problem: PartnerFileError, source: Source) -> str:
    if isinstance(problem, LimitExceeded):
        return f"; if the file is genuine, raise {problem.limit} in the entry of {source.source_id} in sources.yaml"
    return ""


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

    def as_dict(self) -> dict[str, str | None]:
        return {"error": self.private, "public_error": self.public}


def threshold_refusal(raw_dir: Path, source: Source, snapshot: Snapshot, prepared: PreparedSource) -> str | None:
    """Why the thresholds refuse this snapshot, or None: a collapse is not published."""
    if prepared.rows_read == 0:
        return f"snapshot {snapshot.name} has no rows"
    drift = drift_refusal(raw_dir, source, snapshot, prepared)
    if drift is not None:
        return drift
    rejected = prepared.rows_read - prepared.rows_accepted
    if rejected / prepared.rows_read > source.max_rejected_share:
        return (
            f"snapshot {snapshot.name} refused: {rejected} of {prepared.rows_read} rows rejected, more than "
            f"max_rejected_share ({source.max_rejected_share:.0%}); see the private report"
        )
    previous = last_good(raw_dir, source.source_id, before=snapshot)
    if previous is not None:
        before = load_history(raw_dir, source.source_id).verdict(previous) or {}
        rows_before = before.get("rows_read") or 0
        if rows_before and prepared.rows_read < rows_before * (1 - source.max_row_drop_share):
            return (
                f"snapshot {snapshot.name} refused: its row count fell from {rows_before} to {prepared.rows_read}, by more "
                f"than max_row_drop_share ({source.max_row_drop_share:.0%}); if the drop is real, "
                f"run `partnerdata accept {source.source_id}`"
            )
    return None


# A field counts as mostly filled when at least this share of a resource's rows fill it, in a snapshot
# of at least MIN_ROWS_FILLED rows of it.
MOSTLY_FILLED = 0.5
MIN_ROWS_FILLED = 5
# What the drift check calls the parts of a file that a standard format's reader maps.
COLUMN_WORD = {"iati": "element"}


def drift_refusal(raw_dir: Path, source: Source, snapshot: Snapshot, prepared: PreparedSource) -> str | None:
    """Why the snapshot is refused as drift against the source's previous good snapshot, or None
    (README, "Drift"): a column (an element) that the previous snapshot had and the reader maps is
    missing, or a field read from the file that was mostly filled is empty in every row."""
    previous = last_good(raw_dir, source.source_id, before=snapshot)
    if previous is None:
        return None
    before = (load_history(raw_dir, source.source_id).verdict(previous) or {}).get("profile")
    if not before:
        return None  # judged before profiles were recorded: this snapshot's becomes the first
    now = prepared.profile
    problems = []
    columns_before, columns_now = before.get("columns"), now.get("columns")
    if columns_before and columns_now is not None:
        missing = [c for c, mapped in columns_before.items() if mapped and c not in columns_now]
        if missing:
            word = COLUMN_WORD.get(source.format, "column")
            added = [c for c in columns_now if c not in columns_before]
            problems.append(
                f"it no longer has the {word}(s) {_quoted(missing)} that the reader maps "
                + (f"(new {word}s: {_quoted(added)})" if added else f"(no new {word}s)")
            )
    for resource, was in before.get("resources", {}).items():
        is_now = now.get("resources", {}).get(resource)
        if not is_now or not is_now["rows"] or was["rows"] < MIN_ROWS_FILLED:
            continue
        for name, count in was["filled"].items():
            if count >= MOSTLY_FILLED * was["rows"] and is_now["filled"].get(name) == 0:
                problems.append(
                    f"field '{name}' of {resource} is empty in every row (it was filled in {count} of "
                    f"{was['rows']} rows)"
                )
    if not problems:
        return None
    return (
        f"snapshot {snapshot.name} refused as drift since snapshot {previous.name}, the last good one: "
        f"{'; '.join(problems)}; if the change is real, adjust the entry of {source.source_id} in sources.yaml "
        f"(columns, values) or run `partnerdata accept {source.source_id}`"
    )


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def refuse_losses_to_defects(published_dir: Path, validated: list[dict[str, Any]]) -> None:
    """A defect of partnerdata or a changed configuration must not take a partner's records out of the
    release: when one left a source that the current release has data from without any readable
    snapshot, nothing is published."""
    current = current_release(published_dir)
    if current is None:
        return
    package = paths.release_dir(published_dir, current["version"]) / "datapackage.json"
    try:
        contributed = {s["source_id"] for s in json.loads(package.read_text(encoding="utf-8")).get("sources", [])
                       if s.get("snapshot_sha256")}  # fmt: skip
    except (OSError, ValueError):
        contributed = set()
    lost = [v for v in validated if v.get("defect") and v["prepared"] is None and v["source_id"] in contributed]
    if lost:
        names = "; ".join(f"{v['source_id']} ({v['defect']})" for v in lost)
        raise NoTrustworthyRelease(
            f"no snapshot of {names} could be read, for a reason that is not the partner's: nothing was published, so "
            f"that a defect of partnerdata or a changed configuration does not remove their records from release "
            f"{current['version']}; published/ was not changed"
        )


def record_good_verdicts(raw_dir: Path, validated: list[dict[str, Any]], now: dt.datetime) -> None:
    """The verdict "good" on every snapshot the release current now was built from."""
    for v in validated:
        verdict = v.get("verdict")
        if verdict:
            snapshot = snapshot_at(Path(verdict["snapshot"]))
            record_verdict(raw_dir, snapshot, now, True, verdict["rows_read"], verdict["rows_accepted"], None,
                           profile=verdict.get("profile"))  # fmt: skip


def record_missing_verdicts(raw_dir: Path, published_dir: Path, now: dt.datetime) -> None:
    """A run killed after its release was out, before it recorded its verdicts, left the snapshots of
    the current release unjudged (the next run finds nothing changed and judges nothing): their
    verdict "good" is recorded now, with the counts the release's validation.json gives."""
    current = current_release(published_dir)
    if current is None:
        return
    folder = paths.release_dir(published_dir, current["version"])
    try:
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        counts = {
            s["source_id"]: s for s in json.loads((folder / "validation.json").read_text(encoding="utf-8"))["sources"]
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
                record_verdict(
                    raw_dir, snapshot, now, True, rows.get("rows_read", 0), rows.get("rows_accepted", 0), None
                )
