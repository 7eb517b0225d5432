"""A crash at any point of publishing leaves `latest` on a complete release, never a half-written one.

The publish step runs in a subprocess (tests/support/crash_publish.py) that SIGKILLs itself just before
its Nth file-system operation, for every N from the first to the last; after each crash the
invariant is checked, then a normal publish recovers. Also: two builds from the same inputs give
byte-identical files, and a second writer waits for the lock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partnerdata import cli
from partnerdata.collect.lock import folder_lock
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.release.publish import publish_release
from partnerdata.release.store import verify_checksums
from tests.support.release_data import demo_tables


def _publish(schemas, tables, folder):
    return publish_release(
        tables, schemas, folder, dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC), "fingerprint", {}, [], {}, {}
    )


def _changed(tables):
    projects = tables["projects"]
    index = projects.schema.get_field_index("title")
    titles = [f"{t} (corrected)" for t in projects.column("title").to_pylist()]
    return {**tables, "projects": projects.set_column(index, projects.schema.field(index), pa.array(titles))}


def _crash(published: Path, tables_dir: Path, at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.crash_publish", str(published), str(tables_dir), str(at)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_invariant(published: Path, allowed: set[str]) -> str:
    """latest, latest.json and v1 name complete, verified releases; every visible release verifies."""
    target = os.readlink(published / "latest")
    version = Path(target).name
    assert version in allowed, version
    assert json.loads((published / "latest.json").read_text())["version"] in allowed
    assert Path(os.readlink(published / "v1")).name in allowed
    for folder in (published / "releases").iterdir():
        if re.fullmatch(r"\d+\.\d+\.\d+", folder.name):
            verify_checksums(folder)  # no half-written release is ever visible
    return version


@pytest.mark.slow
def test_sigkill_at_every_step_of_publishing_leaves_latest_on_a_complete_release(schemas, tmp_path):
    base = tmp_path / "base"
    tables = demo_tables(schemas, tmp_path / "work")
    assert _publish(schemas, tables, base).version == "1.0.0"
    new_tables = _changed(tables)
    tables_dir = tmp_path / "tables"
    tables_dir.mkdir()
    for name, table in new_tables.items():
        pq.write_table(table, tables_dir / f"{name}.parquet")

    dry = tmp_path / "dry"
    shutil.copytree(base, dry, symlinks=True)
    result = _crash(dry, tables_dir, 0)
    assert result.returncode == 0, result.stderr
    steps, version = result.stdout.split()
    assert version == "1.0.1" and int(steps) > 20

    outcomes = {"1.0.0": 0, "1.0.1": 0}
    for at in range(1, int(steps) + 1):
        published = tmp_path / f"crash-{at}"
        shutil.copytree(base, published, symlinks=True)
        result = _crash(published, tables_dir, at)
        assert result.returncode == -signal.SIGKILL, (at, result.stdout, result.stderr)
        outcomes[_check_invariant(published, {"1.0.0", "1.0.1"})] += 1
        # The next run cleans up the staging leftover, finishes an interrupted switch, and never
        # publishes the same content twice.
        recovered = _publish(schemas, new_tables, published)
        assert recovered.current_version == "1.0.1", at
        assert _check_invariant(published, {"1.0.1"}) == "1.0.1"
        assert sorted(p.name for p in (published / "releases").iterdir()) == ["1.0.0", "1.0.1"], at
        shutil.rmtree(published)
    print(
        f"{steps} crash points: latest stayed on 1.0.0 after {outcomes['1.0.0']}, moved to 1.0.1 after {outcomes['1.0.1']}"
    )
    assert outcomes["1.0.0"] > 0 and outcomes["1.0.1"] > 0  # crashes before and after the switch


def test_two_builds_from_the_same_inputs_give_byte_identical_files(schemas, tmp_path):
    tables = demo_tables(schemas, tmp_path / "work")
    first = _publish(schemas, tables, tmp_path / "a").path
    second = _publish(schemas, demo_tables(schemas, tmp_path / "work2"), tmp_path / "b").path
    data = sorted(p.name for p in first.iterdir() if p.suffix in (".csv", ".parquet"))
    assert len(data) == 8
    for name in data:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "SHA256SUMS").read_text() == (second / "SHA256SUMS").read_text()


def test_a_second_writer_waits_for_the_lock_and_then_goes_on(schemas, tmp_path, capsys):
    """A withdraw started while a run holds the publish lock waits for it (within the timeout)."""
    published = tmp_path / "published"
    tables = demo_tables(schemas, tmp_path / "work")
    _publish(schemas, tables, published)
    _publish(schemas, _changed(tables), published)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from partnerdata.collect.lock import folder_lock\n"
         "with folder_lock(__import__('pathlib').Path(sys.argv[1]), 5):\n    print('held', flush=True); time.sleep(2)",
         str(published)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    status = cli.main(["release", "withdraw", "1.0.1", "--reason", "test", "--published", str(published)])
    waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert status == 0 and waited >= 1.0
    assert os.readlink(published / "latest") == "releases/1.0.0"
    with folder_lock(published, 1):  # the lock is free again
        pass


def test_temporary_files_a_crash_left_are_removed_and_nothing_else(schemas, tmp_path):
    from partnerdata.release.publish import remove_temporary_files

    published = tmp_path / "published"
    _publish(schemas, demo_tables(schemas, tmp_path / "work"), published)
    release = published / "releases" / "1.0.0"
    left = [published / ".withdrawn.json.1a2b3c4d", release / ".CHANGES.md.0f9e8d7c"]
    for path in left:
        path.write_text("half")
    os.symlink("releases/1.0.0", published / ".latest.9f8e7d6c")
    kept = [published / ".purge-pending.json", published / "notes.txt", release / "CHANGES.md"]
    for path in kept[:2]:
        path.write_text("{}")
    assert sorted(remove_temporary_files(published)) == sorted([*left, published / ".latest.9f8e7d6c"])
    assert all(path.exists() for path in kept) and not any(path.exists() for path in left)
    verify_checksums(release)
