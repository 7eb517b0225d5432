"""Keep personal data out of releases.

Two rules, both driven by the schemas:

- a field marked ``"personal": true`` is never written to a release (its column and
  its schema entry are left out); partnerdata may still read it for its own checks;
- a field marked ``"freeText": true`` (titles, descriptions, summaries) is scanned
  before every release: e-mail addresses and phone numbers found in it are replaced
  by a mark, and each one is reported privately with source, record and field.

Phone numbers are found with the phonenumbers library (libphonenumber), for the
country of the partner that delivered the row, so that a number must be a valid
phone number there, not just a run of digits. Belgian enterprise numbers written
the official way (0421.210.424, BE 0421.210.424) are never taken for phones, even
where they would be valid mobile numbers. Names of people inside free text cannot
be found this way; they are not removed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.config.schemas import Schemas

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[^\W\d_]{2,}")
# Written to fool harvesters: "an.peeters [at] school.example", "an (at) school (dot) be".
OBFUSCATED_EMAIL = re.compile(
    r"[\w.+-]+\s*[\[({]\s*at\s*[\])}]\s*[\w-]+(\s*([\[({]\s*dot\s*[\])}]|\.)\s*[\w-]+)+", re.IGNORECASE
)
# A cheap first pass in Arrow: only texts with an @, an [at], or seven digits in a phone-like run
# (spaces of any kind included: French-locale Excel writes non-breaking ones) go to Python.
CANDIDATE = "(?i)@|[\\[({] *at *[\\])}]|\\+?[0-9][0-9\\s\u00a0\u2009\u202f()./-]{5,}[0-9]"
ENTERPRISE_WORDS = (
    "kbo",
    "bce",
    "ondernemingsnummer",
    "entreprise",
    "enterprise",
    "company number",
    "btw",
    "tva",
    "vat",
)
ENTERPRISE_NUMBER = re.compile(r"^(BE ?)?([01][0-9]{3})\.([0-9]{3})\.([0-9]{3})$")
MARKS = {"email": "[e-mail address removed]", "phone": "[phone number removed]"}


@dataclass(frozen=True)
class Removal:
    """One piece of personal data taken out of a free-text field (private: holds the value)."""

    source_id: str
    resource: str
    record: str  # the row's primary key, as the partner knows it
    field: str
    kind: str  # email | phone
    value: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def scrub_free_text(
    tables: dict[str, pa.Table], schemas: Schemas, regions: dict[str, str]
) -> tuple[dict[str, pa.Table], list[Removal]]:
    """Replace e-mail addresses and phone numbers in every freeText field.

    Phone numbers are looked for in the numbering of the delivering partner's country
    (``regions``: source_id -> ISO country) and of the countries the row itself names."""
    scrubber = FreeTextScrubber(schemas, regions)
    cleaned = {name: scrubber.scrub(name, table) for name, table in tables.items()}
    return cleaned, scrubber.removals()


class FreeTextScrubber:
    """scrub_free_text a part of a resource at a time: ``scrub`` each part, saying where its rows
    stand in the whole resource (``ranks``; by default, after the rows of the parts before it), then
    ``removals()`` lists what was taken out as scrub_free_text would of the whole tables (by
    resource, then field, then row)."""

    def __init__(self, schemas: Schemas, regions: dict[str, str]) -> None:
        self.schemas, self.regions = schemas, regions
        self._found: dict[str, dict[str, list[tuple[int, Removal]]]] = {}  # resource -> field -> (rank, removal)
        self._rows: dict[str, int] = {}  # rows scrubbed so far, per resource

    def scrub(self, name: str, table: pa.Table, ranks: np.ndarray | None = None) -> pa.Table:
        key = self.schemas.primary_key(name)
        found = self._found.setdefault(name, {})
        if ranks is None:
            ranks = np.arange(table.num_rows) + self._rows.get(name, 0)
        self._rows[name] = self._rows.get(name, 0) + table.num_rows
        country_fields = [
            f for f in ("country", "participating_countries", "partner_countries") if f in table.column_names
        ]
        for spec in self.schemas.fields(name):
            if not spec.get("freeText") or spec["name"] not in table.column_names:
                continue
            column = table.column(spec["name"]).combine_chunks()
            candidates = pc.indices_nonzero(
                pc.fill_null(pc.match_substring_regex(column, CANDIDATE), False)
            ).to_pylist()
            if not candidates:
                continue
            values = {row: column[row].as_py() for row in candidates}  # only these: never a million Python strings
            limit = spec.get("constraints", {}).get("maxLength")
            removals = found.setdefault(spec["name"], [])
            for row in candidates:
                source_id = table.column("source_id")[row].as_py()
                record = ", ".join(str(table.column(k)[row].as_py()) for k in key)
                row_regions = [self.regions.get(source_id, "BE")] + _countries(table, country_fields, row)
                text, taken = scrub_text(values[row], *row_regions)
                if limit and len(text) > limit:  # a mark longer than what it replaced
                    text = text[: limit - 1] + "…"
                values[row] = text
                rank = int(ranks[row])
                removals += [
                    (rank, Removal(source_id, name, record, spec["name"], kind, value)) for kind, value in taken
                ]
            index = table.column_names.index(spec["name"])
            mask = np.zeros(len(column), dtype=bool)
            mask[candidates] = True
            replaced = pc.replace_with_mask(column, pa.array(mask), pa.array(list(values.values()), column.type))
            table = table.set_column(index, table.schema.field(index), replaced)
        return table

    def removals(self) -> list[Removal]:
        return [
            removal
            for name, by_field in self._found.items()
            for spec in self.schemas.fields(name)
            for _, removal in sorted(by_field.get(spec["name"], []), key=lambda found: found[0])
        ]


def scrub_text(text: str, *regions: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with e-mail addresses and phone numbers replaced, and what was replaced.
    A phone number counts when it is valid in one of the regions (ISO countries)."""
    found: list[tuple[str, str]] = []

    def remove_email(match: re.Match[str]) -> str:
        found.append(("email", match.group(0)))
        return MARKS["email"]

    text = OBFUSCATED_EMAIL.sub(remove_email, EMAIL.sub(remove_email, text))
    spans: list[tuple[int, int]] = []
    for region in dict.fromkeys(r for r in regions if r):
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            overlaps = any(start < match.end and match.start < end for start, end in spans)
            context = text[max(0, match.start - 40) : match.start].lower()
            if not overlaps and not _is_enterprise_number(match.raw_string.strip(), context):
                spans.append((match.start, match.end))
    pieces, last = [], 0
    for start, end in sorted(spans):
        found.append(("phone", text[start:end]))
        pieces += [text[last:start], MARKS["phone"]]
        last = end
    return "".join(pieces) + text[last:], found


def _is_enterprise_number(text: str, context: str = "") -> bool:
    """A Belgian enterprise number (KBO/BCE) written the official way (0421.210.424) that the
    text calls one ("KBO", "ondernemingsnummer", "BTW", ...) or whose mod-97 check holds. A mobile
    number written with dots and no such word fails the check, and is a phone."""
    match = ENTERPRISE_NUMBER.match(text)
    if not match:
        return False
    if any(word in context for word in ENTERPRISE_WORDS):
        return True
    digits = "".join(match.groups()[1:])
    return 97 - int(digits[:8]) % 97 == int(digits[8:])


def _countries(table: pa.Table, fields: list[str], row: int) -> list[str]:
    found: list[str] = []
    for name in fields:
        value = table.column(name)[row].as_py()
        found += value if isinstance(value, list) else [value] if value else []
    return [c for c in found if isinstance(c, str) and len(c) == 2]


def count_by_source(removals: list[Removal]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for removal in removals:
        entry = counts.setdefault(removal.source_id, {"email": 0, "phone": 0})
        entry[removal.kind] += 1
    return counts
