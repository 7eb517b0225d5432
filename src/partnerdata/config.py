"""Load and check sources.yaml, the partner source registry.

Every mistake is reported with the entry and the key at fault, before anything is
fetched, so a maintainer can fix the file without reading code. Environment
variables referenced as ``${VAR}`` in URLs and header values are expanded here;
the unexpanded text is kept as well, because that is the only form of a URL or a
header that may be written to a log, a snapshot's metadata or a release.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pyarrow as pa
import yaml

from partnerdata.coercion import Dialect, coerce_table
from partnerdata.errors import ConfigError
from partnerdata.readers import READERS
from partnerdata.readers.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_COLUMNS,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_READ_SECONDS,
    Limits,
)
from partnerdata.schemas import RESOURCE_NAMES, Schemas
from partnerdata.validation import check_fields

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10 times faster

SOURCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# ${VAR} names an environment variable; ${secret:NAME} a Prefect Secret block, resolved by the flow.
REFERENCE = re.compile(r"\$\{(?:(secret):)?([A-Za-z_][A-Za-z0-9_.-]*)\}")
UNRESOLVED_SECRET = "<secret resolved by the flow>"

# Settings a source entry may override for itself.
THRESHOLD_KEYS = {
    "max_fallback_age_days": (int, float),
    "max_rejected_share": (int, float),
    "max_row_drop_share": (int, float),
    "retention_snapshots": int,
}
# HTTP behaviour of a source: key -> (type, minimum)
HTTP_KEYS = {
    "timeout_seconds": ((int, float), 0.001),
    "max_bytes": (int, 1),
    "retries": (int, 0),
    "backoff_seconds": ((int, float), 0),
    "max_total_seconds": ((int, float), 0.001),
    # How much a reader takes from one snapshot (partnerdata.readers.limits): every reader is bounded.
    "max_columns": (int, 1),
    "max_cells": (int, 1),
    "max_depth": (int, 1),
    "max_read_seconds": ((int, float), 0.001),
}

SETTINGS_KEYS = {
    "publisher": dict,
    "contact_point": dict,
    "base_url": str,
    "licence": str,
    **THRESHOLD_KEYS,
    "lock_timeout_seconds": (int, float),
    "retention_releases": int,
    "notify_url": str,
}
SOURCE_KEYS = {
    "source_id",
    "title",
    "enabled",
    "organisation",
    "url",
    "format",
    "resource",
    "columns",
    "values",
    "constants",
    "date_format",
    "list_separator",
    "headers",
    *HTTP_KEYS,
    *THRESHOLD_KEYS,
    *READERS,
}
# organisation block key -> field of the organisations resource
ORGANISATION_KEYS = {
    "id": "organisation_id",
    "name": "name",
    "type": "organisation_type",
    "city": "city",
    "region": "region",
    "country": "country",
}


@dataclass(frozen=True)
class Settings:
    """Global settings of the publisher; see the ``settings:`` section of sources.yaml."""

    publisher: Mapping[str, str] = field(default_factory=dict)
    contact_point: Mapping[str, str] = field(default_factory=dict)
    base_url: str = ""
    licence: str = "CC-BY-4.0"
    max_fallback_age_days: float = 7
    max_rejected_share: float = 0.2
    max_row_drop_share: float = 0.5
    retention_snapshots: int = 10
    lock_timeout_seconds: float = 60
    retention_releases: int | None = None  # None: keep every release
    notify_url: str = ""  # expanded (${VAR}, ${secret:NAME}): never log it
    notify_url_template: str = ""  # as written: safe to show


@dataclass(frozen=True)
class Organisation:
    """The partner organisation that delivers a source; it lands in ``organisations``."""

    id: str
    name: str
    country: str
    type: str | None = None
    city: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Source:
    """One entry of the ``sources:`` list, checked and with ``${VAR}`` expanded."""

    source_id: str
    title: str
    organisation: Organisation
    url: str  # expanded: may hold a secret, never log it
    url_template: str  # as written in sources.yaml: safe to record
    format: str
    resource: str
    columns: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    list_separator: str = ";"
    headers: Mapping[str, str] = field(default_factory=dict)  # expanded: may hold secrets, never log them
    timeout_seconds: float = 30  # connect and read timeout of each request
    max_bytes: int = DEFAULT_MAX_BYTES  # of the decoded body (of each page), and of what a reader unpacks from it
    retries: int = 3  # extra attempts after a connection error, a timeout, a 429 or a 5xx
    backoff_seconds: float = 1.0  # first wait before a retry; doubled each time, with jitter
    max_total_seconds: float = 300  # all attempts and pages of the source together, a wall-clock deadline
    max_columns: int = DEFAULT_MAX_COLUMNS  # columns of a partner's table
    max_cells: int = DEFAULT_MAX_CELLS  # cells of a table, values of a JSON page, XML elements held at once
    max_depth: int = DEFAULT_MAX_DEPTH  # nesting of XML elements and JSON objects and arrays
    max_read_seconds: float = DEFAULT_MAX_READ_SECONDS  # reading one snapshot
    format_options: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    # Thresholds: the settings' values unless the entry overrides them.
    max_fallback_age_days: float = 7
    max_rejected_share: float = 0.2
    max_row_drop_share: float = 0.5
    retention_snapshots: int = 10
    secrets: tuple[str, ...] = ()  # every value a reference expanded to, for redaction
    secret_blocks: tuple[str, ...] = ()  # names of the Prefect Secret blocks the entry uses

    def redact(self, text: str) -> str:
        """Replace every secret value in text, as written or URL-encoded, by a mark."""
        forms = {
            form for secret in self.secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "<redacted>")
        return text

    def limits(self) -> Limits:
        """What a reader may take from one of this source's snapshots; the clock starts now."""
        return Limits(self.max_bytes, self.max_columns, self.max_cells, self.max_depth, self.max_read_seconds).start()

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    sources: tuple[Source, ...]

    @property
    def enabled_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)

    def source(self, source_id: str) -> Source:
        for candidate in self.sources:
            if candidate.source_id == source_id:
                return candidate
        known = ", ".join(s.source_id for s in self.sources)
        raise ConfigError(f"{self.path}: no source '{source_id}' (known sources: {known})")


def load_config(
    path: Path | str,
    schemas: Schemas,
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Config:
    """Read sources.yaml, check every entry against the schemas, expand ``${VAR}`` and ``${secret:NAME}``.

    ``secrets`` maps Prefect Secret block names to their values (the flow loads them). When it
    is None, secret references are checked for form only and left unresolved: enough to report
    configuration errors before Prefect starts.
    """
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (pass --sources FILE, or run from the project folder)") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with 'settings:' and 'sources:' at the top")
    _reject_unknown(document, {"settings", "sources"}, f"{path}")
    settings = _load_settings(document.get("settings") or {}, f"{path}: settings")
    if settings.notify_url:
        url = _expand(settings.notify_url, environ, secrets, {}, f"{path}: settings: key 'notify_url'")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{path}: settings: key 'notify_url': expected an http(s) URL, got {settings.notify_url!r}"
            )
        settings = dataclasses.replace(settings, notify_url=url, notify_url_template=settings.notify_url)
    entries = document.get("sources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: 'sources:' must be a non-empty list of source entries")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        source = _load_source(entry, index, path, schemas, environ, secrets, settings)
        if source.source_id in seen:
            raise ConfigError(
                f"{path}: sources[{index}]: source_id '{source.source_id}' is used twice; each must be unique"
            )
        seen.add(source.source_id)
        sources.append(source)
    return Config(path=path, settings=settings, sources=tuple(sources))


def _load_settings(raw: Any, where: str) -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    _reject_unknown(raw, set(SETTINGS_KEYS), where)
    for key, expected in SETTINGS_KEYS.items():
        if key in raw and (not isinstance(raw[key], expected) or isinstance(raw[key], bool)):
            raise ConfigError(f"{where}: key '{key}': expected {_type_name(expected)}, got {raw[key]!r}")
    _check_thresholds(raw, where)
    if raw.get("retention_releases", 1) < 1:
        raise ConfigError(
            f"{where}: key 'retention_releases': expected at least 1 (or leave it out to keep every release)"
        )
    return Settings(**raw)


def _check_thresholds(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key, expected in THRESHOLD_KEYS.items():
        if key in raw and (not isinstance(raw[key], expected) or isinstance(raw[key], bool) or raw[key] < 0):
            raise ConfigError(f"{where}: key '{key}': expected {_type_name(expected)} of at least 0, got {raw[key]!r}")
    for key in ("max_rejected_share", "max_row_drop_share"):
        if key in raw and not 0 <= raw[key] <= 1:
            raise ConfigError(f"{where}: key '{key}': expected a share between 0 and 1, got {raw[key]!r}")
    return dict(raw)


def _load_source(
    entry: Any,
    index: int,
    path: Path,
    schemas: Schemas,
    environ: Mapping[str, str],
    secrets: Mapping[str, str] | None,
    settings: Settings,
) -> Source:
    where = f"{path}: sources[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with source_id, url, format, resource and columns")
    source_id = entry.get("source_id")
    if not isinstance(source_id, str) or not SOURCE_ID_PATTERN.match(source_id):
        raise ConfigError(
            f"{where}: key 'source_id': {source_id!r} must match ^[a-z0-9][a-z0-9-]{{0,62}}$ "
            "(lower-case letters, digits and hyphens; it becomes a folder name)"
        )
    where = f"{path}: sources[{index}] ({source_id})"
    _reject_unknown(entry, SOURCE_KEYS, where)
    for key in ("url", "format", "organisation"):
        if key not in entry:
            raise ConfigError(f"{where}: key '{key}' is missing")

    fmt = entry["format"]
    if fmt not in READERS:
        raise ConfigError(f"{where}: key 'format': {fmt!r} is not one of {', '.join(sorted(READERS))}")
    for other in set(READERS) - {fmt}:
        if other in entry:
            raise ConfigError(f"{where}: key '{other}': options for format {other} on a source of format {fmt}")
    format_options = READERS[fmt].parse_options(entry.get(fmt) or {}, f"{where}: key '{fmt}'")

    standard = READERS[fmt].RESOURCES  # a standard format maps its own columns to these resources
    if standard:
        for key in ("resource", "columns"):
            if key in entry:
                raise ConfigError(
                    f"{where}: key '{key}': format {fmt} fills {', '.join(standard)} with its own mapping; remove '{key}'"
                )
        resources = list(standard)
        columns: dict[str, str] = {}
    else:
        for key in ("resource", "columns"):
            if key not in entry:
                raise ConfigError(f"{where}: key '{key}' is missing")
        if entry["resource"] not in RESOURCE_NAMES:
            raise ConfigError(
                f"{where}: key 'resource': {entry['resource']!r} is not one of {', '.join(RESOURCE_NAMES)}"
            )
        resources = [entry["resource"]]
        columns = _string_mapping(entry["columns"], f"{where}: key 'columns'")
    resource = resources[0]
    field_names = list(dict.fromkeys(n for r in resources for n in schemas.field_names(r) if n != "source_id"))
    described = " and ".join(resources)

    values = entry.get("values") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: key 'values': expected a mapping of field: {{partner label: code}}")
    values = {name: _string_mapping(labels, f"{where}: key 'values.{name}'") for name, labels in values.items()}
    constants = _string_mapping(entry.get("constants") or {}, f"{where}: key 'constants'")
    for key, names in (("columns", columns), ("values", values), ("constants", constants)):
        for name in names:
            if name not in field_names:
                raise ConfigError(
                    f"{where}: key '{key}.{name}': {described} has no field '{name}'"
                    f"{_suggestion(name, field_names)}; its fields are {', '.join(field_names)}"
                )
    for name in set(columns) & set(constants):
        raise ConfigError(f"{where}: field '{name}' is both in 'columns' and in 'constants'; keep one")

    organisation = _load_organisation(entry["organisation"], f"{where}: key 'organisation'", schemas)
    url_template = entry["url"]
    if not isinstance(url_template, str) or not url_template.strip():
        raise ConfigError(f"{where}: key 'url': expected a URL or a path")
    expanded: dict[str, str] = {}  # reference -> value, for redaction
    url = _expand(url_template, environ, secrets, expanded, f"{where}: key 'url'")
    if not url.startswith(("http://", "https://")):
        if "://" in url:
            raise ConfigError(
                f"{where}: key 'url': only http, https and local paths are supported, got {url_template!r}"
            )
        # A missing file is the source's failure at collection (it falls back), not the whole run's.
        url = str((path.parent / url).resolve())
    headers = _string_mapping(entry.get("headers") or {}, f"{where}: key 'headers'")
    headers = {
        name: _expand(value, environ, secrets, expanded, f"{where}: key 'headers.{name}'")
        for name, value in headers.items()
    }

    options: dict[str, Any] = {}
    for key, (kind, minimum) in HTTP_KEYS.items():
        if key in entry:
            if not isinstance(entry[key], kind) or isinstance(entry[key], bool) or entry[key] < minimum:
                raise ConfigError(f"{where}: key '{key}': expected a number of at least {minimum}, got {entry[key]!r}")
            options[key] = entry[key]
    thresholds = {key: getattr(settings, key) for key in THRESHOLD_KEYS}
    thresholds.update(_check_thresholds({k: v for k, v in entry.items() if k in THRESHOLD_KEYS}, where))
    for key in ("title", "date_format", "list_separator"):
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key]:
                raise ConfigError(f"{where}: key '{key}': expected a non-empty text, got {entry[key]!r}")
            options[key] = entry[key]
    if "%" in options.get("list_separator", ""):
        raise ConfigError(f"{where}: key 'list_separator': {options['list_separator']!r} is not a separator")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: key 'enabled': expected true or false, got {enabled!r}")

    return Source(
        source_id=source_id,
        title=options.pop("title", source_id),
        organisation=organisation,
        url=url,
        url_template=url_template,
        format=fmt,
        resource=resource,
        columns=columns,
        values=values,
        constants=constants,
        headers=headers,
        format_options=format_options,
        enabled=enabled,
        secrets=tuple(v for k, v in expanded.items() if v != UNRESOLVED_SECRET),
        secret_blocks=tuple(sorted({k.split(":", 1)[1] for k in expanded if k.startswith("secret:")})),
        **thresholds,
        **options,
    )


def _load_organisation(raw: Any, where: str, schemas: Schemas) -> Organisation:
    """The block becomes a row of organisations, so it must pass that schema's checks."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with id, name, type and country")
    _reject_unknown(raw, set(ORGANISATION_KEYS), where)
    for key in ("id", "name", "country"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: key '{key}' is missing or empty")
    organisation = Organisation(**{k: str(v) for k, v in raw.items()})
    row = {field: getattr(organisation, key) or "" for key, field in ORGANISATION_KEYS.items()}
    row["source_id"] = "x"
    fields = schemas.fields("organisations")
    text = pa.table({spec["name"]: pa.array([row.get(spec["name"], "")], pa.string()) for spec in fields})
    coerced = coerce_table(text, fields, [""], Dialect())
    for problem in check_fields(coerced, fields, Dialect()):
        key = next(k for k, f in ORGANISATION_KEYS.items() if f == problem.field)
        raise ConfigError(f"{where}: key '{key}': {row[problem.field]!r}: {problem.message}")
    return organisation


def _expand(
    text: str, environ: Mapping[str, str], secrets: Mapping[str, str] | None, expanded: dict[str, str], where: str
) -> str:
    """Replace ``${VAR}`` by the environment variable and ``${secret:NAME}`` by the Secret block's value."""

    def value_of(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "secret":
            if secrets is None:
                value = UNRESOLVED_SECRET
            elif name not in secrets:
                raise ConfigError(
                    f"{where}: Prefect Secret block '{name}' does not exist (create it in the Prefect UI or API)"
                )
            else:
                value = secrets[name]
            expanded[f"secret:{name}"] = value
            return value
        if name not in environ:
            raise ConfigError(
                f"{where}: environment variable {name} is not set (set it, or store it in a Prefect Secret block "
                f"and write ${{secret:block-name}})"
            )
        expanded[name] = environ[name]
        return environ[name]

    return REFERENCE.sub(value_of, text)


def secret_block_names(path: Path | str) -> list[str]:
    """The Prefect Secret blocks that sources.yaml refers to, for the flow to load."""
    text = Path(path).read_text(encoding="utf-8")
    return sorted({name for kind, name in REFERENCE.findall(text) if kind == "secret"})


def _string_mapping(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    result = {}
    for key, value in raw.items():
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise ConfigError(f"{where}: '{key}' must map to a text, got {value!r} (quote it in YAML)")
        result[str(key)] = str(value)
    return result


def _reject_unknown(raw: dict, allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}'{_suggestion(str(key), allowed)}")


def _suggestion(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(expected: Any) -> str:
    names = {dict: "a mapping", str: "a text", int: "a whole number", float: "a number"}
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names[k] for k in kinds)
