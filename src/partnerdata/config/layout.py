"""The layout of raw/ and published/: the folders, and the files more than one stage reads.

Files that one stage alone writes and reads are named beside their code (release.store:
withdrawn.json, log.jsonl, TOMBSTONE.json, changes.json; validate.reports: reports/).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
WEB_PACKAGES = PROJECT_ROOT / "web" / "node_modules"  # the front-end packages `make setup` unpacks (web/fetch.py)

SNAPSHOT_META = "meta.json"
CHECKS_LOG = "checks.jsonl"  # per source, append-only: checks, verdicts, acceptances
LATEST = "latest"
LATEST_JSON = "latest.json"
RELEASES = "releases"
STAGING_PREFIX = ".staging-"
# A source's status in a run and in a release (datapackage.json and validation.json: sources[].status).
# fetched: a new snapshot; unchanged: the file is the newest snapshot's; reused: not fetched, by choice;
# fallback: the new file could not be fetched or used, an older snapshot is; failed: no snapshot is usable.
Status = Literal["fetched", "unchanged", "reused", "fallback", "failed"]
DEGRADED: tuple[Status, ...] = ("fallback", "failed")  # the source's data is not its partner's newest

DATAPACKAGE_JSON = "datapackage.json"  # in a release: the Frictionless Data Package descriptor
VALIDATION_JSON = "validation.json"  # in a release: what was checked, per source


def timestamp_folder_name(moment: dt.datetime) -> str:
    """A UTC timestamp that sorts as text and is safe as a folder name: 20261125T021500.123456Z."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def source_raw_dir(raw_dir: Path, source_id: str) -> Path:
    return raw_dir / source_id


def snapshot_dir(raw_dir: Path, source_id: str, fetched_at: dt.datetime) -> Path:
    return source_raw_dir(raw_dir, source_id) / timestamp_folder_name(fetched_at)


def releases_dir(published_dir: Path) -> Path:
    return published_dir / RELEASES


def release_dir(published_dir: Path, version: str) -> Path:
    return releases_dir(published_dir) / version


def staging_dir(published_dir: Path, version: str, token: str) -> Path:
    """Hidden beside the releases, on the same file system, so the final move is one rename."""
    return releases_dir(published_dir) / f"{STAGING_PREFIX}{version}-{token}"


def latest_link(published_dir: Path) -> Path:
    return published_dir / LATEST


def latest_json(published_dir: Path) -> Path:
    return published_dir / LATEST_JSON


def major_link(published_dir: Path, major: int) -> Path:
    return published_dir / f"v{major}"


def run_reports_dir(reports_dir: Path, run_started: dt.datetime) -> Path:
    return reports_dir / timestamp_folder_name(run_started)


def source_report_dir(reports_dir: Path, run_started: dt.datetime, source_id: str) -> Path:
    return run_reports_dir(reports_dir, run_started) / source_id
