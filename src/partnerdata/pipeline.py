"""The steps of a run, as plain functions the flow calls one task at a time.

Every function takes and returns small JSON-able values (paths, ids, counts), so a
Prefect task can wrap it without pickling tables. None of them imports Prefect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from partnerdata import __version__, paths
from partnerdata.assemble import assemble
from partnerdata.config import Config, load_config
from partnerdata.errors import ConfigError, NoTrustworthyRelease, SourceError
from partnerdata.prepare import PreparedSource, prepare_source, read_findings
from partnerdata.release import current_release, publish_release
from partnerdata.reports import SourceOutcome, iso_utc, validation_summary, write_private_reports
from partnerdata.schemas import RESOURCE_NAMES, Schemas, load_schemas
from partnerdata.snapshots import latest_snapshot, snapshot_at, take_snapshot

EXIT_OK, EXIT_NO_RELEASE, EXIT_CONFIG, EXIT_DEGRADED, EXIT_LOCKED = 0, 1, 2, 3, 4
READ_ERRORS = (ValueError, OSError, pa.ArrowInvalid, KeyError)


@dataclass(frozen=True)
class RunPaths:
    sources_file: str
    raw_dir: str
    published_dir: str
    reports_dir: str
    schemas_dir: str = str(paths.SCHEMAS_DIR)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load(run: RunPaths) -> tuple[Config, Schemas]:
    schemas = load_schemas(run.schemas_dir)
    return load_config(run.sources_file, schemas), schemas


def plan_sources(config: Config, only: list[str] | None) -> list[dict[str, Any]]:
    """Which enabled sources this run fetches; with --only, the others reuse their last snapshot."""
    enabled = [s.source_id for s in config.enabled_sources]
    for source_id in only or []:
        source = config.source(source_id)
        if not source.enabled:
            raise ConfigError(
                f"{config.path}: source '{source_id}' is disabled (enabled: false); enable it to fetch it"
            )
    return [{"source_id": s, "refetch": not only or s in only} for s in enabled]


def collect_source(run: RunPaths, source_id: str, refetch: bool, now_iso: str) -> dict[str, Any]:
    """Snapshot one source. On failure fall back to its last snapshot, if it has one."""
    config, _ = load(run)
    source = config.source(source_id)
    raw_dir = Path(run.raw_dir)
    previous = latest_snapshot(raw_dir, source_id)
    if not refetch and previous is not None:
        return {
            "source_id": source_id,
            "status": "reused",
            "snapshot": str(previous.folder),
            "error": None,
            "checked_at": now_iso,
        }
    try:
        snapshot, is_new = take_snapshot(source, raw_dir, utc_now())
    except (SourceError, OSError) as error:
        message = str(error).removeprefix(f"source {source_id}: ")
        if previous is None:
            return {
                "source_id": source_id,
                "status": "failed",
                "snapshot": None,
                "error": message,
                "checked_at": now_iso,
            }
        return {
            "source_id": source_id,
            "status": "fallback",
            "snapshot": str(previous.folder),
            "error": message,
            "checked_at": now_iso,
        }
    status = "fetched" if is_new else "unchanged"
    return {
        "source_id": source_id,
        "status": status,
        "snapshot": str(snapshot.folder),
        "error": None,
        "checked_at": now_iso,
    }


def validate_source(run: RunPaths, collected: dict[str, Any], work_dir: str) -> dict[str, Any]:
    """Read and check one source's snapshot, and refuse it if it cannot be read or too many of
    its rows are rejected: then the newest older snapshot that passes is used (a fallback)."""
    if collected["snapshot"] is None:
        return {**collected, "prepared": None}
    config, schemas = load(run)
    source = config.source(collected["source_id"])
    settings = config.settings
    now = dt.datetime.fromisoformat(collected["checked_at"])
    candidates = [Path(collected["snapshot"])] + _snapshots_before(
        Path(run.raw_dir), source.source_id, Path(collected["snapshot"])
    )
    status, error = collected["status"], collected["error"]
    for folder in candidates:
        snapshot = snapshot_at(folder)
        if status == "fallback" and snapshot.age_days(now) > settings.max_fallback_age_days:
            error = f"{error}; its last good snapshot ({folder.name}) is older than max_fallback_age_days ({settings.max_fallback_age_days:g}), so its rows are left out"
            break
        try:
            prepared = prepare_source(source, snapshot.body, schemas, Path(work_dir))
        except READ_ERRORS as problem:
            refusal = f"cannot read snapshot {folder.name}: {problem}"
        else:
            rejected = prepared.rows_read - prepared.rows_accepted
            if prepared.rows_read == 0:
                refusal = f"snapshot {folder.name} has no rows"
            elif rejected / prepared.rows_read <= settings.max_rejected_share:
                return {
                    **collected,
                    "status": status,
                    "error": error,
                    "snapshot": str(folder),
                    "prepared": prepared.as_dict(),
                }
            else:
                refusal = (
                    f"snapshot {folder.name} refused: {rejected} of {prepared.rows_read} rows rejected, more than "
                    f"max_rejected_share ({settings.max_rejected_share:.0%}); see the private report"
                )
        error = f"{error}; {refusal}" if error else refusal
        status = "fallback"
    return {**collected, "status": "failed", "error": error, "snapshot": None, "prepared": None}


def input_fingerprint(run: RunPaths, collected: list[dict[str, Any]]) -> str:
    """sha256 of everything a release is built from: snapshots, schemas, sources.yaml, code version."""
    _, schemas = load(run)
    basis = {
        "snapshots": {c["source_id"]: snapshot_at(Path(c["snapshot"])).sha256 for c in collected if c["snapshot"]},
        "schemas": schemas.digest(),
        "sources_yaml": hashlib.sha256(Path(run.sources_file).read_bytes()).hexdigest(),
        "code_version": __version__,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def unchanged_since_latest(run: RunPaths, fingerprint: str) -> str | None:
    """The current version if it was built from exactly these inputs, else None."""
    current = current_release(Path(run.published_dir))
    return current["version"] if current and current.get("fingerprint") == fingerprint else None


def publish(run: RunPaths, validated: list[dict[str, Any]], fingerprint: str, started_iso: str) -> dict[str, Any]:
    """Check across sources, write the private reports, publish a release if anything changed."""
    config, schemas = load(run)
    started = dt.datetime.fromisoformat(started_iso)
    prepared = [PreparedSource(**v["prepared"]) for v in validated if v["prepared"]]
    if not prepared:
        raise NoTrustworthyRelease(
            "no source could be read: nothing to publish (see the errors above); published/ was not changed"
        )
    assembly = assemble(config, schemas, prepared)
    outcomes = _outcomes(config, validated, assembly.findings)
    write_private_reports(outcomes, assembly.conflicts, Path(run.reports_dir), started)
    sources = [_package_source(o) for o in outcomes if o.snapshot_sha256]
    provenance = {
        "snapshots": [
            {"source_id": o.source.source_id, "sha256": o.snapshot_sha256, "fetched_at": iso_utc(o.snapshot_fetched_at)}
            for o in outcomes
            if o.snapshot_sha256
        ],
        "schema_sha256": schemas.digest(),
        "sources_yaml_sha256": hashlib.sha256(Path(run.sources_file).read_bytes()).hexdigest(),
        "code_version": __version__,
    }
    outcome = publish_release(
        assembly.tables,
        schemas,
        Path(run.published_dir),
        utc_now(),
        fingerprint,
        provenance,
        sources,
        validation_summary(outcomes, assembly.conflicts, started),
    )
    return {
        "version": outcome.version,
        "current_version": outcome.current_version,
        "release_path": str(outcome.path) if outcome.path else None,
        "message": outcome.message,
        "rows": {name: assembly.tables[name].num_rows for name in RESOURCE_NAMES},
        "sources": [_source_line(o) for o in outcomes],
        "reports": str(Path(run.reports_dir) / "latest"),
    }


def exit_status(validated: list[dict[str, Any]]) -> int:
    """0 when every source is fresh, 3 when some fell back or failed (but a release is current)."""
    return EXIT_DEGRADED if any(v["status"] in ("fallback", "failed") for v in validated) else EXIT_OK


def make_work_dir() -> str:
    return tempfile.mkdtemp(prefix="partnerdata-run-")


def remove_work_dir(work_dir: str) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)


def _outcomes(config: Config, validated: list[dict[str, Any]], cross_findings: list) -> list[SourceOutcome]:
    outcomes = []
    for v in validated:
        source = config.source(v["source_id"])
        prepared = v["prepared"]
        findings = read_findings(prepared["findings"]) if prepared else []
        findings += [f for f in cross_findings if f.source_id == source.source_id]
        snapshot = snapshot_at(Path(v["snapshot"])) if v["snapshot"] else None
        outcomes.append(
            SourceOutcome(
                source=source,
                status=v["status"],
                error=v["error"],
                snapshot_sha256=snapshot.sha256 if snapshot else None,
                snapshot_fetched_at=snapshot.fetched_at if snapshot else None,
                rows_read=prepared["rows_read"] if prepared else 0,
                findings=sorted(findings, key=lambda f: f.row),
                detected=prepared["detected"] if prepared else {},
            )
        )
    return outcomes


def _package_source(outcome: SourceOutcome) -> dict[str, Any]:
    """A datapackage.json `sources` entry; the URL as written in sources.yaml, never expanded."""
    entry = {
        "title": outcome.source.title,
        "source_id": outcome.source.source_id,
        "organisation": outcome.source.organisation.name,
        "status": outcome.status,
        "snapshot_fetched_at": iso_utc(outcome.snapshot_fetched_at),
        "snapshot_sha256": outcome.snapshot_sha256,
    }
    if outcome.source.url_template.startswith(("http://", "https://")):
        entry["path"] = outcome.source.url_template
    return entry


def _source_line(outcome: SourceOutcome) -> dict[str, Any]:
    return {
        "source_id": outcome.source.source_id,
        "status": outcome.status,
        "error": outcome.error,
        "rows_read": outcome.rows_read,
        "rows_accepted": outcome.rows_accepted,
        "rows_rejected": outcome.rows_rejected,
    }


def _snapshots_before(raw_dir: Path, source_id: str, folder: Path) -> list[Path]:
    """The source's complete snapshots older than folder, newest first."""
    return sorted(
        (
            p
            for p in paths.source_raw_dir(raw_dir, source_id).iterdir()
            if p.is_dir()
            and not p.name.startswith(".")
            and p.name < folder.name
            and (p / paths.SNAPSHOT_META).is_file()
        ),
        reverse=True,
    )
