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

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.schemas import Schemas

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A cheap first pass in Arrow: only texts with an @ or seven digits in a phone-like run go to Python.
CANDIDATE = r"@|\+?[0-9][0-9 ()./-]{5,}[0-9]"
ENTERPRISE_NUMBER = re.compile(r"^(BE ?)?[01][0-9]{3}\.[0-9]{3}\.[0-9]{3}$")
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
    """Replace e-mail addresses and phone numbers in every freeText field; ``regions`` maps a
    source_id to the ISO country whose phone numbering applies to its rows."""
    cleaned, removals = {}, []
    for name, table in tables.items():
        key = schemas.primary_key(name)
        for spec in schemas.fields(name):
            if not spec.get("freeText") or spec["name"] not in table.column_names:
                continue
            column = table.column(spec["name"]).combine_chunks()
            candidates = pc.indices_nonzero(
                pc.fill_null(pc.match_substring_regex(column, CANDIDATE), False)
            ).to_pylist()
            if not candidates:
                continue
            values = column.to_pylist()
            for row in candidates:
                source_id = table.column("source_id")[row].as_py()
                record = ", ".join(str(table.column(k)[row].as_py()) for k in key)
                text, found = scrub_text(values[row], regions.get(source_id, "BE"))
                values[row] = text
                removals += [Removal(source_id, name, record, spec["name"], kind, value) for kind, value in found]
            index = table.column_names.index(spec["name"])
            table = table.set_column(index, table.schema.field(index), pa.array(values, column.type))
        cleaned[name] = table
    return cleaned, removals


def scrub_text(text: str, region: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with e-mail addresses and phone numbers replaced, and what was replaced."""
    found: list[tuple[str, str]] = []

    def remove_email(match: re.Match[str]) -> str:
        found.append(("email", match.group(0)))
        return MARKS["email"]

    text = EMAIL.sub(remove_email, text)
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        if ENTERPRISE_NUMBER.match(match.raw_string.strip()):
            continue
        found.append(("phone", match.raw_string))
        pieces += [text[last : match.start], MARKS["phone"]]
        last = match.end
    return "".join(pieces) + text[last:], found


def count_by_source(removals: list[Removal]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for removal in removals:
        entry = counts.setdefault(removal.source_id, {"email": 0, "phone": 0})
        entry[removal.kind] += 1
    return counts
