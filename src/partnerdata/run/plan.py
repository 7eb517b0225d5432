"""What a run works on, and which sources it takes.

``RunPaths`` names the folders a run was given (nothing outside them is touched); ``load`` reads
sources.yaml and the schemas, checked (``validate.configuration``), once per process while they stay
the same; ``plan_sources`` says which sources are fetched and which reuse their newest snapshot.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from partnerdata.config import layout
from partnerdata.config.schemas import Schemas, digest_files
from partnerdata.config.sources import Config
from partnerdata.errors import ConfigError
from partnerdata.run.summary import (
    PlannedSource,
)
from partnerdata.util.files import sha256_file
from partnerdata.validate.configuration import load_config, load_schemas

DEFAULT_SCHEMAS = str(layout.SCHEMAS_DIR)


@dataclass(frozen=True)
class RunPaths:
    sources_file: str
    raw_dir: str
    published_dir: str
    reports_dir: str
    schemas_dir: str = DEFAULT_SCHEMAS


def load(run: RunPaths, secrets: dict[str, str] | None = None) -> tuple[Config, Schemas]:
    """The configuration and schemas; ``secrets`` holds the Prefect Secret blocks' values when fetching.

    Every task of a run loads them again (a task may run in another process); within a process,
    the result is reused for as long as sources.yaml, the schemas and the environment are the same.
    Loaded once: the tasks that start together wait for the first one's (each loading them too only
    multiplied the work, the threads taking turns for Python's lock)."""
    key = _load_key(run, secrets)
    with _LOADED_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        loading = _LOADING.setdefault(key, threading.Lock())
    try:
        with loading:
            with _LOADED_LOCK:
                if key in _LOADED:  # loaded while this thread waited
                    return _LOADED[key]
            schemas = load_schemas(run.schemas_dir)
            loaded = load_config(run.sources_file, schemas, secrets=secrets), schemas
            with _LOADED_LOCK:
                if len(_LOADED) >= 8:
                    _LOADED.clear()
                _LOADED[key] = loaded
            return loaded
    finally:
        with _LOADED_LOCK:  # a waiter that then finds nothing (the load failed) loads, and reports, itself
            if _LOADING.get(key) is loading:
                del _LOADING[key]


_LOADED: dict[tuple, tuple[Config, Schemas]] = {}
_LOADING: dict[tuple, threading.Lock] = {}  # the key being loaded, and the lock its waiters wait on
_LOADED_LOCK = threading.Lock()


def _load_key(run: RunPaths, secrets: dict[str, str] | None) -> tuple:
    """What a loaded configuration depends on: the files' bytes, the environment (``${VAR}``), the secrets."""
    try:
        sources = sha256_file(Path(run.sources_file))
        schemas = digest_files(sorted(p for p in Path(run.schemas_dir).iterdir() if p.is_file()))
    except OSError:
        return (object(),)  # unreadable: never cached; load_config and load_schemas report it
    return (
        str(Path(run.sources_file).resolve()),
        sources,
        str(run.schemas_dir),
        schemas,
        tuple(sorted(os.environ.items())),
        tuple(sorted(secrets.items())) if secrets is not None else None,
    )


def plan_sources(config: Config, only: list[str] | None, fetch: bool = True) -> list[PlannedSource]:
    """Which enabled sources this run fetches; with --only, the others reuse their last snapshot;
    without fetch (a republish after a schema or mapping fix), every source reuses its last good one."""
    enabled = [s.source_id for s in config.enabled_sources]
    for source_id in only or []:
        source = config.source(source_id)
        if not source.enabled:
            raise ConfigError(
                f"{config.path}: source '{source_id}' is disabled (enabled: false); enable it to fetch it"
            )
    return [PlannedSource(s, refetch=fetch and (not only or s in only), may_fetch=fetch) for s in enabled]
