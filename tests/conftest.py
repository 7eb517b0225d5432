"""Shared fixtures: a copy of the demo project, a loopback partner server, the Prefect engine.

Prefect is configured before anything imports it: its own PREFECT_HOME in a
temporary folder (never ~/.prefect), no telemetry, and a start-up timeout long
enough for a fresh database on a 2-core machine.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="partnerdata-test-prefect-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"

from partnerdata.config.layout import PROJECT_ROOT, SCHEMAS_DIR  # noqa: E402
from partnerdata.validate.configuration import load_schemas  # noqa: E402
from tests.support.partner_server import PartnerServer  # noqa: E402


class _NoAliases(yaml.SafeDumper):
    """sources.yaml refuses YAML aliases; PyYAML writes one wherever a document repeats an object."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump_yaml(document: object, **options: object) -> str:
    """YAML as a maintainer writes sources.yaml: every block written out, no aliases."""
    return yaml.dump(document, Dumper=_NoAliases, **options)


@dataclass
class Project:
    """A throw-away copy of the project's sources.yaml and demo partners, with its own output folders."""

    root: Path

    @property
    def sources(self) -> Path:
        return self.root / "sources.yaml"

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def cli_args(self, *extra: str) -> list[str]:
        return [
            "run", "--sources", str(self.sources), "--raw", str(self.raw),
            "--published", str(self.published), "--reports", str(self.reports), *extra,
        ]  # fmt: skip


def remote_and_local_project(tmp_path: Path, server, settings: dict | None = None, **remote) -> Project:
    """Two activity sources: 'remote', served by the loopback server at /export.csv (keys in
    ``remote`` override its entry), and 'local', a one-row file beside sources.yaml."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "local.csv").write_text("id,title,start\nL-1,Local seminar,2021-05-01\n", encoding="utf-8")
    columns = {"activity_id": "id", "title": "title", "start_date": "start"}
    constants = {"programme": "enspired", "activity_type": "seminar", "country": "BE"}
    entry = {
        "source_id": "remote", "organisation": {"id": "ORG-R", "name": "Remote college", "country": "NL"},
        "url": server.base_url + "/export.csv", "format": "csv", "resource": "activities",
        "columns": columns, "constants": constants, "timeout_seconds": 5, "retries": 0, **remote,
    }  # fmt: skip
    local = {
        "source_id": "local", "organisation": {"id": "ORG-L", "name": "Local college", "country": "BE"},
        "url": "local.csv", "format": "csv", "resource": "activities", "columns": columns, "constants": constants,
    }  # fmt: skip
    document = {"settings": settings or {}, "sources": [entry, local]}
    (root / "sources.yaml").write_text(dump_yaml(document), encoding="utf-8")
    return Project(root)


@pytest.fixture
def demo_project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "sources.yaml", root / "sources.yaml")
    shutil.copytree(PROJECT_ROOT / "demo", root / "demo")
    return Project(root)


@pytest.fixture(scope="session")
def schemas():
    return load_schemas(SCHEMAS_DIR)


@pytest.fixture(scope="session")
def prefect_engine():
    """One Prefect test server for the whole session (the real engine, a temporary database)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
        # At shutdown Prefect logs to a stream pytest has already closed; don't print that as an error.
        logging.raiseExceptions = False


class _CurrentStderr:
    """sys.stderr as it is when written to: pytest's capture of the test running now."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


@pytest.fixture(autouse=True)
def _console_follows_capture() -> None:
    """Prefect's console handler keeps the sys.stderr of the moment it was made, which is the capture
    of one test; once that test ends, a warning logged by a later test's run lands in a closed stream
    and Python prints a "Logging error" traceback into that test's output. Pointed at whatever
    sys.stderr is when a record is written, each test's output holds its own run's log."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *[logging.getLogger(n) for n in logging.root.manager.loggerDict]]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.stream = handler.console.file = _CurrentStderr()


@pytest.fixture
def partner_server():
    """A real HTTP server on 127.0.0.1 (port 0) that serves partner files and injects faults."""
    server = PartnerServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference (real files published by others), reached through PARTNERDATA_REFERENCE.

    .ci/run sets it; without it the conformance tests skip, so a fresh clone still passes."""
    folder = os.environ.get("PARTNERDATA_REFERENCE")
    if not folder:
        pytest.skip("PARTNERDATA_REFERENCE is not set (.ci/run sets it to ../shared/reference)")
    if not Path(folder).is_dir():
        pytest.skip(
            f"PARTNERDATA_REFERENCE names {folder}, which is not a folder (.ci/run sets it to ../shared/reference)"
        )
    return Path(folder)
