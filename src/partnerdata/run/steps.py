"""The steps of a run, as plain functions the flow calls one task at a time.

Every function takes and returns small JSON-able values (paths, ids, counts), so a
Prefect task can wrap it without pickling tables. None of them imports Prefect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

from partnerdata import __version__
from partnerdata.catalogue import refresh_catalogue
from partnerdata.catalogue.charts import Chart, charts_of_release
from partnerdata.collect.history import accept_snapshot, load_history, prune, usable
from partnerdata.collect.snapshots import (
    latest_snapshot,
    remove_incoming_leftovers,
    snapshot_at,
    take_snapshot,
)
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import Config
from partnerdata.errors import NoTrustworthyRelease, SourceError
from partnerdata.readers import READERS
from partnerdata.release.pointers import finish_interrupted_switch
from partnerdata.release.publish import publish_release, remove_staging_leftovers, remove_temporary_files
from partnerdata.release.purge import purge_release, resume_purge
from partnerdata.release.retention import prune_releases
from partnerdata.release.store import current_release, release_snapshot_hashes
from partnerdata.release.withdraw import withdraw_release
from partnerdata.run import places, remote
from partnerdata.run.judge import (
    judge_source,
    judgement_basis,
    record_good_verdicts,
    record_missing_verdicts,
    refuse_losses_to_defects,
    warning,
)
from partnerdata.run.plan import DEFAULT_SCHEMAS, RunPaths, load
from partnerdata.run.summary import (
    Collected,
    RunSummary,
    SourceLine,
    Validated,
    changes_summary,
)
from partnerdata.storage.bucket import is_url
from partnerdata.util.clock import utc_now
from partnerdata.util.cores import CORES
from partnerdata.util.files import sha256_file
from partnerdata.util.timing import Stopwatch
from partnerdata.validate.across import Assembled, assemble
from partnerdata.validate.configuration import load_schemas
from partnerdata.validate.findings import DeliveryWarning, Finding
from partnerdata.validate.privacy import FreeTextScrubber, Removal
from partnerdata.validate.reports import (
    RefusedDelivery,
    SourceOutcome,
    iso_utc,
    validation_summary,
    write_private_reports,
)
from partnerdata.validate.source import read_findings

LOG = logging.getLogger("partnerdata")


def collect_source(
    run: RunPaths,
    source_id: str,
    refetch: bool,
    now_iso: str,
    secrets: dict[str, str] | None = None,
    may_fetch: bool = True,
) -> Collected:
    """Snapshot one source. When the fetch fails, its last good snapshot is proposed as fallback.
    With raw/ in a bucket, on this process's mirror of the source's folder (run/remote.py)."""
    run = remote.local_inputs(run)
    with remote.raw_mirrored(run, [source_id]) as local:
        collected = _collect_source(local, source_id, refetch, now_iso, secrets, may_fetch)
    return remote.portable(collected, local.raw_dir) if is_url(run.raw_dir) else collected


def _collect_source(
    run: RunPaths, source_id: str, refetch: bool, now_iso: str, secrets: dict[str, str] | None, may_fetch: bool
) -> Collected:
    config, schemas = load(run, secrets)
    source = config.source(source_id)
    raw_dir = Path(run.raw_dir)
    basis = judgement_basis(source, schemas)
    for leftover in remove_incoming_leftovers(raw_dir, source_id):
        LOG.info("%s: removed %s, a download a crashed run left unfinished", source_id, leftover)
    if source.is_inbox:
        return _delivered(raw_dir, source_id, now_iso)
    if not refetch and latest_snapshot(raw_dir, source_id) is not None:
        reused = usable(raw_dir, source_id, basis)
        if reused is None:
            return Collected(source_id, now_iso, "failed", None, EVERY_SNAPSHOT_REFUSED)
        return Collected(source_id, now_iso, "reused", str(reused.folder))
    if not may_fetch:
        return Collected(source_id, now_iso, "failed", None, "no snapshot yet, and this run does not fetch")
    try:
        snapshot, outcome = take_snapshot(source, raw_dir, utc_now())
    except SourceError as error:
        message = source.redact(str(error).removeprefix(f"source {source_id}: "))
        fallback = usable(raw_dir, source_id, basis)
        if fallback is None:
            return Collected(source_id, now_iso, "failed", None, message)
        return Collected(source_id, now_iso, "fallback", str(fallback.folder), message)
    return Collected(source_id, now_iso, "fetched" if outcome == "new-snapshot" else "unchanged", str(snapshot.folder))


def _delivered(raw_dir: Path, source_id: str, now_iso: str) -> Collected:
    """A source whose partner delivers through the inbox: its newest delivery, "fetched" until a run has
    judged it, then "unchanged", as the same bytes fetched again would be (a refused one falls back)."""
    newest = latest_snapshot(raw_dir, source_id)
    if newest is None:
        return Collected(source_id, now_iso, "failed", None, "no delivery yet: the partner delivers through the inbox")
    judged = load_history(raw_dir, source_id).verdict(newest) is not None
    return Collected(source_id, now_iso, "unchanged" if judged else "fetched", str(newest.folder))


EVERY_SNAPSHOT_REFUSED = (
    "every snapshot of it was refused (the reasons are in raw/<source_id>/checks.jsonl); it needs a new file "
    "from the partner, or a fix of its entry in sources.yaml (a refusal is judged again once the entry changes)"
)


def validate_source(run: RunPaths, collected: Collected, work_dir: str, record: bool = True) -> Validated:
    """Read and check one source's snapshot, and judge it: a snapshot that cannot be read, has too
    many rejected rows, or lost too many rows since the last good one is refused, and the newest
    older snapshot that passes is used instead (a fallback). Refusals go to the source's checks log
    (unless ``record`` is False: a dry run judges and records nothing); the verdict "good" is
    recorded by publish, once a release uses the snapshot.

    Two texts say what went wrong: ``error`` for the maintainer (it may quote the partner's file)
    and ``public_error`` for validation.json and datapackage.json (it never does)."""
    with VALIDATION_SLOTS:  # validating is CPU-bound: more at once than cores only costs memory
        run = remote.local_inputs(run)
        config, schemas = load(run)
        source = config.source(collected.source_id)
        if not is_url(run.raw_dir):
            return judge_source(source, schemas, Path(run.raw_dir), collected, Path(work_dir), record)
        with remote.raw_mirrored(run, [source.source_id]) as local:  # which snapshots it may read: their bodies
            bodies = remote.reading_bodies(local, collected, judgement_basis(source, schemas))
        with remote.raw_mirrored(run, [source.source_id], bodies) as local, _scratch(work_dir) as scratch:
            judged = judge_source(
                source, schemas, Path(local.raw_dir), remote.localised(collected, local.raw_dir), scratch, record
            )
            validated = remote.portable(judged, local.raw_dir)
            return remote.hand_over(validated, scratch, work_dir) if is_url(work_dir) else validated


@contextmanager
def _scratch(work_dir: str) -> Iterator[Path]:
    """Where validation stages its rows: the run's work folder, or a local one handed over to the bucket."""
    if not is_url(work_dir):
        yield Path(work_dir)
        return
    with tempfile.TemporaryDirectory(prefix="partnerdata-validate-") as scratch:
        yield Path(scratch)


# How many sources are read and checked at once in a process; each uses every core already.
VALIDATION_SLOTS = threading.BoundedSemaphore(max(1, CORES))


def warm_up() -> None:
    """Import what a run's tasks import when they first need it, and read the project's schemas once:
    a worker process that starts does this before its first task."""
    for name in READERS:
        READERS[name]
    load_schemas(DEFAULT_SCHEMAS)


def accept(run: RunPaths, source_id: str, snapshot_name: str | None, by: str) -> str:
    """A maintainer accepts a snapshot the thresholds refused; the next run publishes it."""
    config, _ = load(run)
    config.source(source_id)
    with places.raw_held(run.raw_dir, config.settings.lock_timeout_seconds):  # not while a run judges snapshots
        with remote.raw_mirrored(run, [source_id]) as local:
            chosen = accept_snapshot(Path(local.raw_dir), source_id, snapshot_name, by, utc_now())
    return chosen.name


def input_fingerprint(run: RunPaths, collected: Sequence[Collected | Validated]) -> str:
    """sha256 of everything a release is built from: snapshots, schemas, sources.yaml, code version.

    A release records the fingerprint of the snapshots it *used*; a run compares it with the
    fingerprint of the snapshots it *collected*. So a source that fell back (its newest snapshot
    was refused) never looks unchanged: the next run validates again, reports the fallback,
    checks its age, and publishes the snapshot once a maintainer accepts it."""
    _, schemas = load(run)
    with remote.raw_mirrored(run, sorted({c.source_id for c in collected if c.snapshot})) as local:
        if is_url(run.raw_dir):
            collected = [remote.localised(c, local.raw_dir) for c in collected]
        snapshots = {c.source_id: snapshot_at(Path(c.snapshot)).sha256 for c in collected if c.snapshot}
    basis = {
        "snapshots": snapshots,
        "schemas": schemas.digest(),
        "sources_yaml": sha256_file(Path(run.sources_file)),
        "code_version": __version__,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def tidy_published(run: RunPaths) -> str | None:
    """Before anything else: clean a crashed run's staging folder, finish a pointer switch it
    left undone and bring the catalogue up to date. Returns the version latest was moved to, if any."""
    published = Path(run.published_dir)
    remove_staging_leftovers(published)
    remove_temporary_files(published)
    moved = finish_interrupted_switch(published)
    resume_purge(published)
    config, _ = load(run)
    _refresh_catalogue(published, config)  # only when a crash or a withdrawal left it behind
    with remote.raw_mirrored(run, [s.source_id for s in config.sources]) as local:
        record_missing_verdicts(Path(local.raw_dir), published, utc_now())
    return moved


def unchanged_since_latest(run: RunPaths, fingerprint: str) -> str | None:
    """The current version if it was built from exactly these inputs, else None."""
    current = current_release(Path(run.published_dir))
    return current["version"] if current and current.get("fingerprint") == fingerprint else None


def publish(
    run: RunPaths, validated: list[Validated], started_iso: str, dry_run: bool = False, work_dir: str | None = None
) -> RunSummary:
    """Check across sources, write the private reports, publish a release if anything changed
    (with dry_run, everything but the release). With raw/ or reports/ in a bucket, on this process's
    mirror of raw/ and a local folder of reports pushed when done; with the staged rows in the bucket
    (``work_dir`` a location: the tasks shared no disk), on a local copy of them."""
    config, _ = load(run)
    with ExitStack() as held:
        local = held.enter_context(remote.raw_mirrored(run, [s.source_id for s in config.sources]))
        local = dataclasses.replace(local, reports_dir=str(held.enter_context(places.reports_held(run.reports_dir))))
        if is_url(run.raw_dir):
            validated = [remote.localised(v, local.raw_dir) for v in validated]
        if work_dir is not None and is_url(work_dir):
            copied = Path(held.enter_context(tempfile.TemporaryDirectory(prefix="partnerdata-staged-")))
            validated = remote.take_over(validated, work_dir, copied)
        summary = _publish(local, validated, started_iso, dry_run)
    if is_url(run.reports_dir):
        summary["reports"] = f"{run.reports_dir.rstrip('/')}/latest"
    return summary


def _publish(run: RunPaths, validated: list[Validated], started_iso: str, dry_run: bool) -> RunSummary:
    config, schemas = load(run)
    stopwatch = Stopwatch()
    fingerprint = input_fingerprint(run, validated)
    started = dt.datetime.fromisoformat(started_iso)
    prepared = [v.prepared for v in validated if v.prepared is not None]
    if not prepared:
        _nothing_readable(run, config, validated, started)
    if not dry_run:
        refuse_losses_to_defects(Path(run.published_dir), validated)
    scrubber = FreeTextScrubber(schemas, {s.source_id: s.organisation.country for s in config.sources})
    assembly = assemble(config, schemas, prepared, scrubber)  # each source scrubbed as it is sorted
    tables, removals = assembly.resources, scrubber.removals()
    stopwatch.lap("assemble")
    warnings = run_warnings(config, Path(run.raw_dir), validated, started)
    outcomes = _outcomes(config, Path(run.raw_dir), validated, assembly.findings, removals, warnings)
    write_private_reports(outcomes, assembly.conflicts, Path(run.reports_dir), started)
    stopwatch.lap("reports")
    sources = [_package_source(o, started) for o in outcomes if o.snapshot_sha256]
    if dry_run:
        return _dry_run_summary(run, tables, outcomes, started, stopwatch.parts, warnings)
    provenance = _provenance(run, schemas, outcomes)
    with ThreadPoolExecutor(1) as drawing:
        outcome = publish_release(
            tables,
            schemas,
            Path(run.published_dir),
            utc_now(),
            fingerprint,
            provenance,
            sources,
            validation_summary(outcomes, assembly.conflicts, started),
            package_metadata(config, schemas),
            stopwatch,
        )
        # the catalogue's charts of a new release are drawn (from its files) while older ones are pruned
        charts = drawing.submit(charts_of_release, outcome.path) if outcome.version and outcome.path else None
        if outcome.holds_content:  # the snapshots are used now: their verdicts say so, and never before
            record_good_verdicts(Path(run.raw_dir), validated, utc_now())
        releases_removed = prune_releases(Path(run.published_dir), config.settings.retention_releases, utc_now())
        drawn = (outcome.version, _drawn(charts)) if outcome.version and charts else None  # of a new release only
    catalogue_error = _refresh_catalogue(Path(run.published_dir), config, drawn)
    stopwatch.lap("catalogue")
    removed = apply_retention(run, config, [o.snapshot_sha256 for o in outcomes if o.snapshot_sha256])
    return {
        "version": outcome.version,
        "current_version": outcome.current_version,
        "release_path": str(outcome.path) if outcome.path else None,
        "message": outcome.message,
        "rows": {name: tables[name].num_rows for name in RESOURCE_NAMES},
        "sources": [_source_line(o, started) for o in outcomes],
        "reports": str(Path(run.reports_dir) / "latest"),
        "snapshots_removed": removed,
        "releases_removed": releases_removed,
        "changes": changes_summary(outcome.path),
        "base_url": config.settings.base_url,
        "publish_parts": stopwatch.parts,
        "catalogue_error": catalogue_error,
        "warnings": warnings,
    }


def _nothing_readable(run: RunPaths, config: Config, validated: list[Validated], started: dt.datetime) -> NoReturn:
    """No source has rows to publish: the letters still go out (a refused first delivery is told what
    to correct), and the run ends with why, per source."""
    outcomes = _outcomes(config, Path(run.raw_dir), validated, [], [], [])
    write_private_reports(outcomes, [], Path(run.reports_dir), started)
    causes = "; ".join(f"{v.source_id} ({v.error or 'no readable snapshot'})" for v in validated)
    raise NoTrustworthyRelease(
        f"no source could be read, so nothing was published and published/ was not changed: {causes}"
    )


def _dry_run_summary(
    run: RunPaths,
    tables: dict[str, Assembled],
    outcomes: list[SourceOutcome],
    started: dt.datetime,
    parts: dict[str, float],
    warnings: list[DeliveryWarning],
) -> RunSummary:
    """A dry run's result: what would be published, and the reports it wrote."""
    current = current_release(Path(run.published_dir))
    return {
        "version": None,
        "current_version": current["version"] if current else None,
        "release_path": None,
        "message": "dry run: collected, validated and reported; nothing published",
        "rows": {name: tables[name].num_rows for name in RESOURCE_NAMES},
        "sources": [_source_line(o, started) for o in outcomes],
        "reports": str(Path(run.reports_dir) / "latest"),
        "snapshots_removed": 0,
        "releases_removed": [],
        "changes": None,
        "publish_parts": parts,
        "warnings": warnings,
    }


def _provenance(run: RunPaths, schemas: Schemas, outcomes: list[SourceOutcome]) -> dict[str, Any]:
    """What a release was built from: each snapshot used, the schemas, sources.yaml, the code version."""
    return {
        "snapshots": [
            {"source_id": o.source.source_id, "sha256": o.snapshot_sha256, "fetched_at": iso_utc(o.snapshot_fetched_at)}
            for o in outcomes
            if o.snapshot_sha256
        ],
        "schema_sha256": schemas.digest(),
        "sources_yaml_sha256": sha256_file(Path(run.sources_file)),
        "code_version": __version__,
    }


def _drawn(charts: Future) -> dict[str, list[Chart]] | None:
    try:
        return charts.result()
    except Exception:  # noqa: BLE001 (the catalogue draws them again from the files, and reports)
        return None


def _refresh_catalogue(
    published_dir: Path, config: Config, drawn: tuple[str, dict[str, list[Chart]] | None] | None = None
) -> str | None:
    """Bring the catalogue up to date. It never fails a run: the release is out already, and the
    next run tries again (the catalogue knows when it is behind). Returns what went wrong, if anything."""
    try:
        charts = drawn[1] if drawn else None
        refresh_catalogue(
            published_dir, config.settings.base_url, drawn=(drawn[0], charts) if drawn and charts is not None else None
        )
    except Exception as error:  # noqa: BLE001 (a catalogue bug must not cost the data users their release)
        message = f"the catalogue could not be rebuilt ({type(error).__name__}: {error}); the next run tries again"
        LOG.warning("%s", message)
        return message
    return None


def package_metadata(config: Config, schemas: Schemas) -> dict[str, Any]:
    """The descriptive metadata that sources.yaml's settings give: licence, publisher, contact point.

    schemas/package.json supplies the rest (and a licence's title and URL, when it names the same one)."""
    settings = config.settings
    licences = [entry for entry in schemas.package.get("licenses", []) if entry.get("name") == settings.licence]
    contributors = list(schemas.package.get("contributors", []))
    if settings.publisher.get("name"):
        publisher = {"title": settings.publisher["name"], "role": "publisher"}
        if settings.publisher.get("url"):
            publisher["path"] = settings.publisher["url"]
        if settings.publisher.get("type"):
            publisher["type"] = settings.publisher["type"]
        contributors = [publisher] + [c for c in contributors if c.get("role") != "publisher"]
    metadata: dict[str, Any] = {"licenses": licences or [{"name": settings.licence}], "contributors": contributors}
    if settings.contact_point:
        metadata["contact_point"] = dict(settings.contact_point)
    return metadata


def apply_retention(run: RunPaths, config: Config, in_use: list[str]) -> int:
    """Keep each source's newest retention_snapshots snapshots, its last good one, the ones this
    run used and every one a kept release was built from; delete the rest."""
    protected = set(in_use) | release_snapshot_hashes(Path(run.published_dir))
    removed = 0
    for source in config.sources:
        removed += len(prune(Path(run.raw_dir), source.source_id, source.retention_snapshots, protected, utc_now()))
    return removed


def make_work_dir() -> str:
    return tempfile.mkdtemp(prefix="partnerdata-run-")


def remove_work_dir(work_dir: str) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)


def _outcomes(
    config: Config, raw_dir: Path, validated: list[Validated], cross_findings: list[Finding], removals: list[Removal],
    warnings: list[DeliveryWarning],
) -> list[SourceOutcome]:  # fmt: skip
    outcomes = []
    for v in validated:
        source = config.source(v.source_id)
        prepared, refused = v.prepared, v.refused
        findings = read_findings(prepared.findings) if prepared else []
        across = [f for f in cross_findings if f.source_id == source.source_id]
        snapshot = snapshot_at(Path(v.snapshot)) if v.snapshot else None
        outcomes.append(
            SourceOutcome(
                source=source,
                status=v.status,
                error=v.error,
                public_error=v.public_error,
                snapshot_sha256=snapshot.sha256 if snapshot else None,
                snapshot_fetched_at=snapshot.fetched_at if snapshot else None,
                snapshot_confirmed_at=load_history(raw_dir, source.source_id).last_confirmed(snapshot)
                if snapshot
                else None,
                rows_read=prepared.rows_read if prepared else 0,
                findings=sorted(findings + across, key=lambda f: f.row),
                detected=prepared.detected if prepared else {},
                removals=[r for r in removals if r.source_id == source.source_id],
                snapshot_name=snapshot.name if snapshot else None,
                refused=None
                if refused is None
                else RefusedDelivery(
                    snapshot=refused.snapshot,
                    fetched_at=dt.datetime.fromisoformat(refused.fetched_at),
                    why=refused.why,
                    rows_read=refused.rows_read,
                    findings=read_findings(refused.findings) if refused.findings else [],
                ),
                warnings=[w for w in warnings if w["source_id"] == source.source_id],
                rows_rejected_across=len({(f.resource, f.row) for f in across}),
            )
        )
    return outcomes


def unchanged_warnings(run: RunPaths, collected: Sequence[Collected]) -> list[DeliveryWarning]:
    """The warnings of a run that found nothing changed (``run_warnings``), raw/ wherever it is."""
    config, _ = load(run)
    with remote.raw_mirrored(run, sorted({c.source_id for c in collected if c.snapshot})) as local:
        if is_url(run.raw_dir):
            collected = [remote.localised(c, local.raw_dir) for c in collected]
        return run_warnings(config, Path(local.raw_dir), collected, utc_now())


def run_warnings(
    config: Config, raw_dir: Path, collected: Sequence[Collected | Validated], now: dt.datetime
) -> list[DeliveryWarning]:
    """The warnings of a run (README, "Warnings"): those validation found in each delivery, and a
    source whose file has not changed for longer than its warn_unchanged_days."""
    found = [w for c in collected if isinstance(c, Validated) for w in c.warnings]
    for c in collected:
        source = config.source(c.source_id)
        if c.status != "unchanged" or not c.snapshot or not source.warn_unchanged_days:
            continue
        snapshot = snapshot_at(Path(c.snapshot))
        days = (now - snapshot.fetched_at).total_seconds() / 86400
        if days > source.warn_unchanged_days:
            found.append(
                warning(
                    source,
                    "unchanged",
                    f"its file has not changed for {days:.1f} days (since snapshot {snapshot.name}), longer than "
                    f"warn_unchanged_days ({source.warn_unchanged_days:g}); ask the partner whether it is still kept",
                    f"we have received the same file since {snapshot.fetched_at.date().isoformat()} ({days:.1f} days); "
                    "if you have newer records, please update it",
                )
            )
    return found


def _package_source(outcome: SourceOutcome, now: dt.datetime) -> dict[str, Any]:
    """A datapackage.json `sources` entry; the URL as written in sources.yaml, never expanded."""
    entry = {
        "title": outcome.source.title,
        "source_id": outcome.source.source_id,
        "organisation": outcome.source.organisation.name,
        "status": outcome.status,
        "snapshot_fetched_at": iso_utc(outcome.snapshot_fetched_at),
        "snapshot_sha256": outcome.snapshot_sha256,
        "snapshot_age_days": outcome.age_days(now),
        "error": outcome.public_error,
    }
    entry["path"] = outcome.source.url_template  # the URL or path as written in sources.yaml, never expanded
    return entry


def withdraw(run: RunPaths, version: str, reason: str, purge: bool, by: str) -> dict[str, Any]:
    """``partnerdata release withdraw``: under the publish lock, so never during a run's publish."""
    config, _ = load(run)
    held = places.published_held(
        run.published_dir, config.settings.lock_timeout_seconds, everything=True, rewrite=purge
    )
    with held as published_dir:
        resume_purge(published_dir)  # a purge a crash interrupted is finished first
        if purge:
            entry = purge_release(published_dir, version, reason, by, utc_now())
        else:
            entry = {**withdraw_release(published_dir, version, reason, by, utc_now()), "redacted": {}}
        _refresh_catalogue(published_dir, config)
        current = current_release(published_dir)
    return {**entry, "version": version, "latest": current["version"] if current else None}


def _source_line(outcome: SourceOutcome, now: dt.datetime) -> SourceLine:
    return {
        "source_id": outcome.source.source_id,
        "status": outcome.status,
        "error": outcome.error,
        "rows_read": outcome.rows_read,
        "rows_accepted": outcome.rows_accepted,
        "rows_rejected": outcome.rows_rejected,
        "rows_rejected_across": outcome.rows_rejected_across,
        "snapshot_age_days": outcome.age_days(now),
    }
