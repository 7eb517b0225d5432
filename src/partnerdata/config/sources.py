"""Load and check sources.yaml, the partner source registry.

Every mistake is reported with the entry and the key at fault, before anything is
fetched, so a maintainer can fix the file without reading code. Environment
variables referenced as ``${VAR}`` in URLs and header values are expanded here;
the unexpanded text is kept as well, because that is the only form of a URL or a
header that may be written to a log, a snapshot's metadata or a release.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources_yaml import brief as _brief
from partnerdata.config.sources_yaml import one_line as _one_line
from partnerdata.config.sources_yaml import read_sources_yaml
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
from partnerdata.readers.options import control_character
from partnerdata.util.redaction import redact_urls
from partnerdata.util.safe_text import mailto_link, safe_link

SOURCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# ${VAR} names an environment variable; ${secret:NAME} a Prefect Secret block, resolved by the flow.
REFERENCE = re.compile(r"\$\{(?:(secret):)?([A-Za-z_][A-Za-z0-9_.-]*)\}")
UNRESOLVED_SECRET = "<secret resolved by the flow>"

# A number in sources.yaml: key -> (type, minimum, maximum). Outside the range, not finite (.nan,
# .inf) or a boolean, it is a configuration error that gives the range; the maximum is where a
# value stops being a setting and becomes a mistake (a day of retries, a terabyte of one file).
Number = tuple[Any, float, float]
# Settings a source entry may override for itself.
THRESHOLD_KEYS: dict[str, Number] = {
    "max_fallback_age_days": ((int, float), 0, 3650),
    "max_rejected_share": ((int, float), 0, 1),
    "max_row_drop_share": ((int, float), 0, 1),
    "retention_snapshots": (int, 0, 100_000),
    # Warnings (README, "Warnings"): 0 turns one off.
    "warn_row_change_share": ((int, float), 0, 1),
    "warn_unchanged_days": ((int, float), 0, 3650),
}
SHARE_KEYS = ("max_rejected_share", "max_row_drop_share", "warn_row_change_share")
# HTTP behaviour of a source
HTTP_KEYS: dict[str, Number] = {
    "timeout_seconds": ((int, float), 0.001, 3600),
    "max_bytes": (int, 1, 64 * 1024**3),
    "retries": (int, 0, 20),
    "backoff_seconds": ((int, float), 0, 3600),
    "max_total_seconds": ((int, float), 0.001, 86_400),
    # How much a reader takes from one snapshot (partnerdata.readers.limits): every reader is bounded.
    "max_columns": (int, 1, 1_000_000),
    "max_cells": (int, 1, 1_000_000_000),
    "max_depth": (int, 1, 10_000),
    "max_read_seconds": ((int, float), 0.001, 86_400),
}
SETTINGS_NUMBERS: dict[str, Number] = {
    **THRESHOLD_KEYS,
    "lock_timeout_seconds": ((int, float), 0, 86_400),
    "retention_releases": (int, 1, 100_000),  # left out: keep every release
}
SETTINGS_KEYS = {
    "publisher": dict,
    "contact_point": dict,
    "base_url": str,
    "licence": str,
    "notify_url": str,
    **{key: kind for key, (kind, _, _) in SETTINGS_NUMBERS.items()},
}
# The blocks of settings that describe the publisher in datapackage.json and the catalogue.
PUBLISHER_KEYS = {"name", "url", "type"}
# settings.publisher.type: the ADMS publisher types (http://purl.org/adms/publishertype/...) portals filter on.
PUBLISHER_TYPES = {
    "Academia-ScientificOrganisation": "Academia/Scientific organisation",
    "Company": "Company",
    "IndustryConsortium": "Industry consortium",
    "LocalAuthority": "Local Authority",
    "NationalAuthority": "National authority",
    "NonGovernmentalOrganisation": "Non-Governmental Organisation",
    "NonProfitOrganisation": "Non-Profit Organisation",
    "PrivateIndividual(s)": "Private Individual(s)",
    "RegionalAuthority": "Regional authority",
    "StandardisationBody": "Standardisation body",
    "SupraNationalAuthority": "Supra-national authority",
}
INBOX = "inbox"  # the url of a source whose partner delivers through the inbox
CONTACT_POINT_KEYS = {"name", "email"}
LICENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,63}")  # an SPDX identifier: CC-BY-4.0, LicenseRef-x
# RFC 9110 token: what a header name may be made of.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A date written with date_format and read back must be this date again (a day above 12, a
# four-digit year): then the format names a day, a month and a year, and strptime knows it.
PROBE_DATE = dt.datetime(2031, 12, 25)
PUBLIC_URL = "an absolute http(s) URL with a host, without spaces or credentials (https://example.org/)"
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
    warn_row_change_share: float = 0.2
    warn_unchanged_days: float = 90
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
    warn_row_change_share: float = 0.2
    warn_unchanged_days: float = 90
    secrets: tuple[str, ...] = ()  # every value a reference expanded to, for redaction
    secret_blocks: tuple[str, ...] = ()  # names of the Prefect Secret blocks the entry uses

    def redact(self, text: str) -> str:
        """Replace every secret value in text, as written or URL-encoded, by a mark."""
        forms = {
            form for secret in self.secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "<redacted>")
        return redact_urls(text)  # and what no configuration names: signed URLs, passwords in URLs

    def limits(self) -> Limits:
        """What a reader may take from one of this source's snapshots; the clock starts now."""
        return Limits(self.max_bytes, self.max_columns, self.max_cells, self.max_depth, self.max_read_seconds).start()

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    @property
    def is_inbox(self) -> bool:
        """``url: inbox``: the partner delivers its files through ``partnerdata inbox``; a run never fetches it."""
        return self.url_template == INBOX


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
    document = read_sources_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with 'settings:' and 'sources:' at the top")
    _reject_unknown(document, {"settings", "sources"}, f"{path}")
    settings = _load_settings(_block(document, "settings"), f"{path}: settings")
    if settings.notify_url:
        where = f"{path}: settings: key 'notify_url'"
        url = _expand(settings.notify_url, environ, secrets, {}, where)
        _check_http_url(settings.notify_url, url, where)
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
    _check_numbers(raw, SETTINGS_NUMBERS, where)
    for key, expected in SETTINGS_KEYS.items():
        if key in raw and (not isinstance(raw[key], expected) or isinstance(raw[key], bool)):
            raise ConfigError(f"{where}: key '{key}': expected {_type_name(expected)}, got {_brief(raw[key])}")
    settings = dict(raw)
    for key, allowed in (("publisher", PUBLISHER_KEYS), ("contact_point", CONTACT_POINT_KEYS)):
        if key in settings:
            settings[key] = _text_block(settings[key], allowed, f"{where}: key '{key}'")
    kind = settings.get("publisher", {}).get("type")
    if kind is not None and kind not in PUBLISHER_TYPES:
        close = difflib.get_close_matches(kind, PUBLISHER_TYPES, 1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"{where}: key 'publisher': key 'type': expected one of the ADMS publisher types "
            f"({', '.join(PUBLISHER_TYPES)}), got {_brief(kind)}{hint}"
        )
    url = settings.get("publisher", {}).get("url")
    if url is not None and safe_link(url) is None:
        raise ConfigError(f"{where}: key 'publisher': key 'url': expected {PUBLIC_URL}, got {_brief(url)}")
    email = settings.get("contact_point", {}).get("email")
    if email is not None and mailto_link(email) is None:
        raise ConfigError(
            f"{where}: key 'contact_point': key 'email': expected an e-mail address such as "
            f"opendata@example.org, got {_brief(email)}"
        )
    if "base_url" in settings and safe_link(settings["base_url"]) is None:
        raise ConfigError(
            f"{where}: key 'base_url': expected {PUBLIC_URL} (the public address of published/), "
            f"got {_brief(settings['base_url'])}"
        )
    if "licence" in settings and not LICENCE_PATTERN.fullmatch(settings["licence"]):
        raise ConfigError(
            f"{where}: key 'licence': expected a short licence identifier such as CC-BY-4.0 (SPDX: letters, "
            f"digits, '.', '-', '+'), got {_brief(settings['licence'])}"
        )
    return Settings(**settings)


def _text_block(raw: Any, allowed: set[str], where: str) -> dict[str, str]:
    """A block of settings whose values are published texts (a name, a URL, an address)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with {' and '.join(sorted(allowed))}, got {_brief(raw)}")
    _reject_unknown(raw, allowed, where)
    return {key: _check_text(value, f"{where}: key '{key}'") for key, value in raw.items()}


def _check_numbers(raw: Mapping[str, Any], numbers: Mapping[str, Number], where: str) -> dict[str, Any]:
    """The numbers of raw that the table names, each of its type and in its range (finite, not a boolean)."""
    checked = {}
    for key, (kind, minimum, maximum) in numbers.items():
        if key not in raw:
            continue
        value = raw[key]
        finite = not isinstance(value, float) or math.isfinite(value)
        if isinstance(value, bool) or not isinstance(value, kind) or not finite or not minimum <= value <= maximum:
            raise ConfigError(
                f"{where}: key '{key}': expected {_range(key, kind, minimum, maximum)}, got {_brief(value)}"
                + (" (or leave it out to keep every release)" if key == "retention_releases" else "")
            )
        checked[key] = value
    return checked


def _range(key: str, kind: Any, minimum: float, maximum: float) -> str:
    if key in SHARE_KEYS:
        return f"a share between {minimum:g} and {maximum:g}"
    unit = " of seconds" if key.endswith("_seconds") else " of days" if key.endswith("_days") else ""
    number = "a whole number" if kind is int else "a number"
    return f"{number}{unit} from {_number(minimum)} to {_number(maximum)}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _load_source(
    entry: Any,
    index: int,
    path: Path,
    schemas: Schemas,
    environ: Mapping[str, str],
    secrets: Mapping[str, str] | None,
    settings: Settings,
) -> Source:
    """One entry of ``sources:``, checked key by key in the order a reader of the file meets them."""
    source_id, where = _source_id(entry, index, path)
    fmt, format_options, resources, columns = _format(entry, where)
    values, constants = _labels_and_constants(entry, where, schemas, resources, columns)
    organisation = _load_organisation(entry["organisation"], f"{where}: key 'organisation'")
    expanded: dict[str, str] = {}  # reference -> value, for redaction
    url_template, url, headers = _location(entry, where, path, environ, secrets, expanded)
    options, thresholds, enabled = _options(entry, where, settings)
    return Source(
        source_id=source_id,
        title=options.pop("title", source_id),
        organisation=organisation,
        url=url,
        url_template=url_template,
        format=fmt,
        resource=resources[0],
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


def _source_id(entry: Any, index: int, path: Path) -> tuple[str, str]:
    """The entry's source_id, and the text that names the entry in every message about it."""
    where = f"{path}: sources[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with source_id, url, format, resource and columns")
    source_id = entry.get("source_id")
    if not isinstance(source_id, str) or not SOURCE_ID_PATTERN.match(source_id):
        raise ConfigError(
            f"{where}: key 'source_id': {_brief(source_id)} must match ^[a-z0-9][a-z0-9-]{{0,62}}$ "
            "(lower-case letters, digits and hyphens; it becomes a folder name)"
        )
    where = f"{path}: sources[{index}] ({source_id})"
    _reject_unknown(entry, SOURCE_KEYS, where)
    for key in ("url", "format", "organisation"):
        if key not in entry:
            raise ConfigError(f"{where}: key '{key}' is missing")
    return source_id, where


def _format(entry: dict[str, Any], where: str) -> tuple[str, Mapping[str, Any], list[str], dict[str, str]]:
    """The format, its options, the resources the source fills and (a generic format) its column mapping."""
    fmt = entry["format"]
    if not isinstance(fmt, str) or fmt not in READERS:
        raise ConfigError(f"{where}: key 'format': {_brief(fmt)} is not one of {', '.join(sorted(READERS))}")
    for other in set(READERS) - {fmt}:
        if other in entry:
            raise ConfigError(f"{where}: key '{other}': options for format {other} on a source of format {fmt}")
    format_options = READERS[fmt].parse_options(_block(entry, fmt), f"{where}: key '{fmt}'")
    standard = READERS[fmt].RESOURCES  # a standard format maps its own columns to these resources
    if standard:
        for key in ("resource", "columns"):
            if key in entry:
                raise ConfigError(
                    f"{where}: key '{key}': format {fmt} fills {', '.join(standard)} with its own mapping; remove '{key}'"
                )
        return fmt, format_options, list(standard), {}
    for key in ("resource", "columns"):
        if key not in entry:
            raise ConfigError(f"{where}: key '{key}' is missing")
    if not isinstance(entry["resource"], str) or entry["resource"] not in RESOURCE_NAMES:
        raise ConfigError(
            f"{where}: key 'resource': {_brief(entry['resource'])} is not one of {', '.join(RESOURCE_NAMES)}"
        )
    return fmt, format_options, [entry["resource"]], _string_mapping(entry["columns"], f"{where}: key 'columns'")


def _labels_and_constants(
    entry: dict[str, Any], where: str, schemas: Schemas, resources: list[str], columns: dict[str, str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """``values`` (partner label -> code, per field) and ``constants``, each naming fields that exist."""
    field_names = list(dict.fromkeys(n for r in resources for n in schemas.field_names(r) if n != "source_id"))
    described = " and ".join(resources)
    raw_values = _block(entry, "values")
    if not isinstance(raw_values, dict):
        raise ConfigError(f"{where}: key 'values': expected a mapping of field: {{partner label: code}}")
    values = {name: _string_mapping(labels, f"{where}: key 'values.{name}'") for name, labels in raw_values.items()}
    constants = _string_mapping(_block(entry, "constants"), f"{where}: key 'constants'")
    named: tuple[tuple[str, Mapping[str, Any]], ...] = (
        ("columns", columns),
        ("values", values),
        ("constants", constants),
    )
    for key, names in named:
        for name in names:
            if name not in field_names:
                raise ConfigError(
                    f"{where}: key '{key}.{name}': {described} has no field '{name}'"
                    f"{_suggestion(name, field_names)}; its fields are {', '.join(field_names)}"
                )
    for name in set(columns) & set(constants):
        raise ConfigError(f"{where}: field '{name}' is both in 'columns' and in 'constants'; keep one")
    _check_codes(values, constants, [spec for r in resources for spec in schemas.fields(r)], where)
    return values, constants


def _location(
    entry: dict[str, Any],
    where: str,
    path: Path,
    environ: Mapping[str, str],
    secrets: Mapping[str, str] | None,
    expanded: dict[str, str],
) -> tuple[str, str, dict[str, str]]:
    """Where the file is: the url as written, the url expanded (a local path made absolute), the headers."""
    url_template = entry["url"]
    if not isinstance(url_template, str) or not url_template.strip():
        raise ConfigError(f"{where}: key 'url': expected a URL or a path")
    if url_template == INBOX:  # the partner delivers through `partnerdata inbox`: nothing to fetch
        return url_template, url_template, {}
    url = _expand(url_template, environ, secrets, expanded, f"{where}: key 'url'")
    if url.startswith(("http://", "https://")):
        _check_http_url(url_template, url, f"{where}: key 'url'")
    else:
        if "://" in url:
            raise ConfigError(
                f"{where}: key 'url': only http, https and local paths are supported (write the scheme in lower "
                f"case), got {_brief(url_template)}"
            )
        _check_local_path(url_template, url, f"{where}: key 'url'")
        # A missing file is the source's failure at collection (it falls back), not the whole run's.
        url = str((path.parent / url).resolve())
    header_templates = _string_mapping(_block(entry, "headers"), f"{where}: key 'headers'")
    _check_headers(header_templates, f"{where}: key 'headers'")
    headers = {
        name: _expand(value, environ, secrets, expanded, f"{where}: key 'headers.{name}'")
        for name, value in header_templates.items()
    }
    return url_template, url, headers


def _options(entry: dict[str, Any], where: str, settings: Settings) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The HTTP options and texts, the thresholds (the settings' unless the entry sets its own), enabled."""
    options: dict[str, Any] = _check_numbers(entry, HTTP_KEYS, where)
    thresholds = {key: getattr(settings, key) for key in THRESHOLD_KEYS}
    thresholds.update(_check_numbers(entry, THRESHOLD_KEYS, where))
    for key in ("title", "date_format", "list_separator"):
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key]:
                raise ConfigError(f"{where}: key '{key}': expected a non-empty text, got {_brief(entry[key])}")
            options[key] = entry[key]
    if "title" in options:
        _check_text(options["title"], f"{where}: key 'title'")
    if "date_format" in options:
        _check_date_format(options["date_format"], f"{where}: key 'date_format'")
    if "list_separator" in options:
        _check_list_separator(options["list_separator"], f"{where}: key 'list_separator'")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: key 'enabled': expected true or false, got {_brief(enabled)}")
    return options, thresholds, enabled


def _check_http_url(template: str, url: str, where: str) -> None:
    """An absolute http(s) URL with a host, written without whitespace or control characters
    (percent-encode them) and with a port that is a number. ``url`` is expanded and may hold a
    secret: only the template is ever shown. What a variable expands to is the environment's:
    a value requests cannot send fails that source's fetch, redacted (tests/collect/test_collect.py)."""
    bad = next((c for c in template if c.isspace() or control_character(c)), None)
    if bad is not None:
        raise ConfigError(
            f"{where}: {_brief(template)} holds {bad!r}; a URL has no whitespace or control characters "
            "(percent-encode them: %20 for a space)"
        )
    parts = urlsplit(url.replace(UNRESOLVED_SECRET, "secret"))  # `check` leaves secrets unresolved
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise ConfigError(f"{where}: {_brief(template)} has a port that is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an absolute http(s) URL with a host, got {_brief(template)}")


def _check_local_path(template: str, path: str, where: str) -> None:
    for text in (template, path):
        bad = control_character(text)
        if bad is not None or text != text.strip():
            what = f"the control character {bad!r}" if bad is not None else "whitespace at the start or the end"
            shown = _brief(template) + ("" if text is template else " (expanded)")
            raise ConfigError(f"{where}: the path {shown} holds {what}; remove it")


def _check_headers(templates: Mapping[str, str], where: str) -> None:
    """What requests and http.client would refuse when the source is fetched: a name that is not an
    HTTP token, a value with a line break, NUL or other control character, a leading space, or a
    character outside Latin-1. As for URLs, the values are checked as written; what a variable
    expands to fails that source's fetch, redacted."""
    seen: dict[str, str] = {}
    for name, value in templates.items():
        if not HEADER_NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: {_brief(name)} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            )
        if name.lower() in seen:
            raise ConfigError(f"{where}: headers {seen[name.lower()]!r} and {name!r} are the same header; keep one")
        seen[name.lower()] = name
        problem = None
        if control_character(value, allowed="\t"):
            problem = "a line break or another control character"
        elif value[:1].isspace():
            problem = "whitespace at the start"
        elif not value.isascii() and not _latin1(value):
            problem = "a character outside Latin-1, which HTTP headers cannot carry"
        if problem:
            raise ConfigError(f"{where}: header {name!r}: {_brief(value)} holds {problem}; remove it")


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _check_date_format(date_format: str, where: str) -> None:
    """A strptime format that reads a date written with it back as the same date: strptime knows
    every directive, and the format names a day, a month and a year (coercion would otherwise
    refuse every date of the source, or read 25/12 as 1900-12-25)."""
    try:
        written = PROBE_DATE.strftime(date_format)
        read = dt.datetime.strptime(written, date_format)
    except ValueError as error:
        raise ConfigError(
            f"{where}: {_brief(date_format)} is not a date format strptime can read ({_one_line(str(error))}); "
            "write it with %d, %m, %Y and the like (%d/%m/%Y)"
        ) from None
    if read.date() != PROBE_DATE.date():
        raise ConfigError(
            f"{where}: {_brief(date_format)} reads {written!r} (25 December 2031) back as {read.date()}: a date "
            "format needs a day, a month and a year (%d/%m/%Y)"
        )


def _check_list_separator(separator: str, where: str) -> None:
    if "%" in separator or control_character(separator, allowed="\t"):
        raise ConfigError(
            f"{where}: {_brief(separator)} is not a separator (no '%', no line break or other control character)"
        )


def _check_text(value: Any, where: str) -> str:
    """A text that is published (a title, a name): not blank, and no control character, which would
    break a CSV line, a feed or a page; a YAML block scalar (| or >) keeps its line breaks."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty text, got {_brief(value)}")
    bad = control_character(value)
    if bad is not None:
        hint = " (a YAML block scalar | or > keeps line breaks: write the text on one line)" if bad in "\n\r" else ""
        raise ConfigError(f"{where}: {_brief(value)} holds the control character {bad!r}{hint}; remove it")
    return value


def _load_organisation(raw: Any, where: str) -> Organisation:
    """The block's keys and texts; that it passes the organisations schema's field rules, as the
    row it becomes, is checked by ``validate.configuration``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with id, name, type and country")
    _reject_unknown(raw, set(ORGANISATION_KEYS), where)
    for key in ("id", "name", "country"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: key '{key}' is missing or empty")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{where}: key '{key}': expected a text, got {_brief(value)} (leave the key out if there is none)"
            )
        bad = control_character(value)
        if bad is not None:
            raise ConfigError(f"{where}: key '{key}': {_brief(value)} holds the control character {bad!r}; remove it")
    return Organisation(**raw)


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


def _block(raw: Mapping[str, Any], key: str) -> Any:
    """The value of an optional block; left out or empty (``key:`` alone) is an empty mapping."""
    value = raw.get(key)
    return {} if value is None else value


def _string_mapping(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {_brief(raw)}")
    result = {}
    for key, value in raw.items():
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise ConfigError(f"{where}: '{key}' must map to a text, got {value!r} (quote it in YAML)")
        result[str(key)] = str(value)
    return result


def _reject_unknown(raw: dict, allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            known = f" (known keys: {', '.join(sorted(allowed))})" if len(allowed) <= 8 else ""
            raise ConfigError(f"{where}: unknown key {str(key)!r}{_suggestion(str(key), allowed) or known}")


def _check_codes(
    values: Mapping[str, Mapping[str, str]], constants: Mapping[str, str], specs: list[dict[str, Any]], where: str
) -> None:
    """Every code that ``values`` maps a label to, and every constant, is one the field allows (its
    vocabulary: ``enum``, or a list's ``itemEnum``); an empty target leaves the value (or the list
    item) out. Labels match ignoring case and surrounding spaces, so two labels that differ only so
    must map to the same code."""
    for name, labels in values.items():
        seen: dict[str, tuple[str, str]] = {}
        for label, code in labels.items():
            same = seen.setdefault(label.strip().lower(), (label, code))
            if same[1] != code:
                raise ConfigError(
                    f"{where}: key 'values.{name}': the labels {same[0]!r} and {label!r} differ only in case or "
                    f"spaces, which labels ignore, but map to different codes ({same[1]!r}, {code!r}); keep one"
                )
    checks = [(f"values.{name}", name, f"label {label!r} maps to ", code)
              for name, labels in values.items() for label, code in labels.items()]  # fmt: skip
    checks += [(f"constants.{name}", name, "", value) for name, value in constants.items()]
    for key, name, what, code in checks:
        for spec in (s for s in specs if s["name"] == name):
            allowed = spec.get("itemEnum") if spec["type"] == "list" else spec.get("constraints", {}).get("enum")
            if not allowed:
                continue
            items = [i.strip() for i in code.split(spec.get("delimiter", ";"))] if spec["type"] == "list" else [code]
            for item in items:
                if item and item not in allowed:
                    listed = ", ".join(allowed[:30]) + (f", ... ({len(allowed)} codes)" if len(allowed) > 30 else "")
                    raise ConfigError(
                        f"{where}: key '{key}': {what}{item!r}, which is not a code of '{name}'"
                        f"{_suggestion(item, allowed)}; the codes are {listed}"
                    )


def _suggestion(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(expected: Any) -> str:
    names = {dict: "a mapping", str: "a text", int: "a whole number", float: "a number"}
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names[k] for k in kinds)
