"""The "Projects Overview" export of the Erasmus+ Project Results Platform (CSV or XLSX).

One row is one project: its coordinator and up to 100 partners sit in column groups
(``Coordinating organisation name``, ``Partner 1 name``, ... ``Partner 100 website``).
Older programme exports (Lifelong Learning, Youth in Action, Tempus, Erasmus Mundus)
have ``Programme Funding`` (a path such as ``Youth\\Youth in action (2007-2013)\\...``)
where Erasmus+ exports have ``Programme``, and no call year.

The export has no organisation identifiers. An organisation's id is derived from its
name and country, so that the same organisation in two projects is one row:
``EPRP-<country>-<first 10 hex digits of sha256(normalised name)>``, where the name is
normalised by Unicode NFKD, dropping accents, lower-casing and collapsing everything
that is not a letter or digit to one space. Addresses are not published (a street
address can be a person's home); the city is taken from the address's last part.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from partnerdata.errors import ConfigError, PartnerFileError
from partnerdata.readers import csv_reader, xlsx_reader
from partnerdata.readers.base import ReadResult, looks_like, position_list, text_table
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import check_encoding, check_options

RESOURCES = ("projects", "organisations", "project_partners")
OPTIONS = {
    "sheet": (str, None),  # for an XLSX export: the sheet (default: the first)
    "header_row": (int, 1),
    "delimiter": (str, ","),  # for a CSV export
    "encoding": (str, "utf-8"),
}
MAX_PARTNERS = 100
XLSX_MAGIC = b"PK\x03\x04"

# The platform's labels -> the schemas' codes. Labels not listed pass through
# unchanged, so an unknown one is rejected by name (a `values:` entry can map it).
PROGRAMMES = {
    "erasmus+": "erasmus_plus",
    "life long learning": "lifelong_learning",
    "lifelong learning": "lifelong_learning",
    "youth in action": "youth_in_action",
    "tempus": "tempus",
    "erasmus mundus": "erasmus_mundus",
}
IDENTIFIER_KEY_ACTION = re.compile(r"-KA([123])[0-9]{2}-")
IDENTIFIER_FIELD = re.compile(r"-KA[0-9]{3}-(SCH|VET|HED|ADU|YOU)-")
IDENTIFIER_ACTION = re.compile(r"-KA[12]0([1-5])-")
FIELDS = {"SCH": "school_education", "VET": "vocational_education_and_training", "HED": "higher_education",
          "ADU": "adult_education", "YOU": "youth"}  # fmt: skip
ACTION_FIELDS = {"1": "school_education", "2": "vocational_education_and_training", "3": "higher_education",
                 "4": "adult_education", "5": "youth"}  # fmt: skip
KEY_ACTIONS = {
    "learning mobility of individuals": "ka1",
    "mobility projects": "ka1",
    "cooperation for innovation and the exchange of good practices": "ka2",
    "cooperation partnerships": "ka2",
    "partnerships for cooperation": "ka2",
    "support for policy reform": "ka3",
    "support for policy development and cooperation": "ka3",
    "jean monnet activities": "jean_monnet",
    "jean monnet": "jean_monnet",
    "sport": "sport",
}
# Action type (or, failing that, key action or programme path) words -> sector; first match wins.
SECTORS = (
    ("school", "school_education"),
    ("comenius", "school_education"),
    ("vocational", "vocational_education_and_training"),
    ("vet ", "vocational_education_and_training"),
    ("leonardo", "vocational_education_and_training"),
    ("higher education", "higher_education"),
    ("erasmus mundus", "higher_education"),
    ("tempus", "higher_education"),
    ("jean monnet", "higher_education"),
    ("adult", "adult_education"),
    ("grundtvig", "adult_education"),
    ("youth", "youth"),
    ("sport", "sport"),
)
STATUSES = {
    "finalized": "completed",
    "finalised": "completed",
    "completed": "completed",
    "closed": "completed",
    "ongoing": "ongoing",
}
ORGANISATION_TYPES = (
    ("higher education institution", "university"),
    ("school/institute/educational centre", "school"),
    ("non-governmental organisation", "ngo"),
    ("national agency", "national_agency"),
    ("public body", "public_authority"),
    ("research institute", "research_institute"),
    ("enterprise", "company"),
)
# The columns read, as the drift check names them: a partner group's number is "N", and the grant
# column by the start of its long name (its explanation in brackets has changed before).
GRANT_COLUMN = "EU Grant award in euros"
PARTNER_COLUMN = re.compile(r"^Partner [0-9]+ ")
MAPPED_COLUMNS = frozenset(
    ["Project Identifier", "Programme", "Programme Funding", "Key Action", "Action Type", "Call year",
     "Project Title", "Project Summary", "Project Status", GRANT_COLUMN, "Participating countries",
     "Results Platform Project Card", "Project Website", "Topics", "Is Good Practice", "Is Success Story",
     "Results Available", "Coordinating organisation name", "Coordinating organisation type",
     "Coordinator's organisation type", "Coordinator's address", "Coordinator's region", "Coordinator's country"]
    + [f"Partner N {detail}" for detail in ("name", "type", "organisation type", "address", "region", "country")]
)  # fmt: skip
YES_NO = {"yes": "true", "no": "false"}
# The EU writes EL for Greece and UK for the United Kingdom; ISO 3166-1 says GR and GB.
EU_COUNTRY_CODES = {"EL": "GR", "UK": "GB"}
POSTCODE = re.compile(r"(^|\s|-)[0-9]{4,5}(\s|$)")


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The export is read by the xlsx or the csv reader (with their checks; the CSV quote is '"',
    and an encoding or a delimiter may be auto)."""
    options = xlsx_reader.check_sheet_options(check_options(block, OPTIONS, where), where)
    csv_reader.check_delimiter(options, where)
    if options["delimiter"] == '"':
        raise ConfigError(f"{where}: option 'delimiter': '\"' quotes the cells of the export; it cannot separate them")
    check_encoding(options, where, auto=True)
    return options


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    (body,) = bodies
    _refuse_json_or_xml(Path(body))
    raw = _raw_rows(Path(body), options, limits)
    header = raw.table.column_names
    grant_column = next((c for c in header if c.startswith(GRANT_COLUMN)), None)
    if "Project Identifier" not in header:
        raise PartnerFileError(
            f"not a Projects Overview export: no 'Project Identifier' column (columns: {', '.join(header[:8])}, ...)"
        )
    projects, organisations, partners = [], [], []
    project_positions, organisation_positions, partner_positions = [], [], []
    seen_organisations: set[str] = set()
    columns = raw.table.to_pydict()  # a list per column: 622 columns as one dict per row would take 10 times the memory
    for index, position in enumerate(position_list(raw)):
        if index % 1000 == 0:
            limits.check_time("the export")
        row = _Row(columns, index)
        project_id = row["Project Identifier"].strip()
        group_members = [("Coordinating organisation", "Coordinator's", "coordinator", "coordinator")]
        group_members += [
            (f"Partner {n}", f"Partner {n}", "partner", f"Partner {n}") for n in range(1, MAX_PARTNERS + 1)
        ]
        coordinator_id = ""
        for name_prefix, detail_prefix, role, label in group_members:
            organisation = _organisation(row, name_prefix, detail_prefix)
            if organisation is None:
                continue
            if role == "coordinator":
                coordinator_id = organisation["organisation_id"]
            if organisation["organisation_id"] not in seen_organisations:
                seen_organisations.add(organisation["organisation_id"])
                organisations.append(organisation)
                organisation_positions.append(f"{position} ({label})")
            partners.append(
                {"project_id": project_id, "organisation_id": organisation["organisation_id"], "role": role}
            )
            partner_positions.append(f"{position} ({label})")
        projects.append(_project(row, project_id, grant_column, coordinator_id))
        project_positions.append(position)
    return [
        ReadResult(
            table=text_table(projects),
            positions=project_positions,
            resource="projects",
            list_separator=";",
            detected=raw.detected,
            source_columns=source_columns(header),
        ),
        ReadResult(table=text_table(organisations), positions=organisation_positions, resource="organisations"),
        ReadResult(table=text_table(partners), positions=partner_positions, resource="project_partners"),
    ]


def _refuse_json_or_xml(body: Path) -> None:
    """A JSON or XML file given to an erasmus_plus source is told so (CSV and XLSX are read)."""
    kind = looks_like(body)
    if kind in ("JSON", "XML"):
        raise PartnerFileError(
            f"the file is {kind}, not a Projects Overview export of the Erasmus+ Project Results Platform (CSV or "
            "XLSX)",
            "check the source's url and format",
        )


def _project(row: Mapping[str, str], project_id: str, grant_column: str | None, coordinator_id: str) -> dict[str, str]:
    """The projects row of one export row, its coordinator's id found already."""
    programme_text = row.get("Programme") or row.get("Programme Funding") or ""
    action_type = row.get("Action Type", "")
    return {
        "project_id": project_id,
        "programme": _programme(programme_text),
        "key_action": _key_action(row.get("Key Action", ""), project_id),
        "action_type": action_type or programme_text.rsplit("\\", 1)[-1],
        "sector": _sector_from_identifier(project_id)
        or _sector(" ".join([action_type, row.get("Key Action", ""), programme_text]).lower() + " "),
        "call_year": row.get("Call year", ""),
        "title": row.get("Project Title", ""),
        "summary": row.get("Project Summary", ""),
        "status": _label(row.get("Project Status", ""), STATUSES),
        "eu_grant_eur": row.get(grant_column, "") if grant_column else "",
        "coordinator_id": coordinator_id,
        "participating_countries": ";".join(
            _country(c) for c in row.get("Participating countries", "").split(",") if c.strip()
        ),
        "results_url": row.get("Results Platform Project Card", ""),
        "website": row.get("Project Website", ""),
        "topics": ";".join(t.strip() for t in row.get("Topics", "").split(";") if t.strip()),
        "is_good_practice": _label(row.get("Is Good Practice", ""), YES_NO),
        "is_success_story": _label(row.get("Is Success Story", ""), YES_NO),
        "has_results": _label(row.get("Results Available", ""), YES_NO),
    }


def source_columns(header: Sequence[str]) -> dict[str, bool]:
    """The export's columns as the drift check compares them (see MAPPED_COLUMNS), each with whether
    the reader reads it."""
    names = [GRANT_COLUMN if c.startswith(GRANT_COLUMN) else PARTNER_COLUMN.sub("Partner N ", c) for c in header]
    return {name: name in MAPPED_COLUMNS for name in names}


class _Row(Mapping[str, str]):
    """One row of the export, read from its column lists."""

    def __init__(self, columns: dict[str, list[str]], index: int) -> None:
        self._columns, self._index = columns, index

    def __getitem__(self, name: str) -> str:
        return self._columns[name][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def organisation_id(name: str, country: str) -> str:
    """The stable id of an organisation the export names without an id (see the module docstring)."""
    normalised = unicodedata.normalize("NFKD", name)
    normalised = "".join(c for c in normalised if not unicodedata.combining(c)).lower()
    normalised = re.sub(r"[^0-9a-z]+", " ", normalised).strip()
    digest = hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:10]
    return f"EPRP-{country.strip().upper() or 'XX'}-{digest}"


def _organisation(row: Mapping[str, str], name_prefix: str, detail_prefix: str) -> dict[str, str] | None:
    name = (row.get(f"{name_prefix} name") or "").strip()
    if not name:
        return None
    country = _country(row.get(f"{detail_prefix} country") or "")
    address = (row.get(f"{detail_prefix} address") or "").strip()
    return {
        "organisation_id": organisation_id(name, country),
        "name": name,
        "organisation_type": _organisation_type(
            row.get(f"{name_prefix} type") or row.get(f"{detail_prefix} organisation type") or ""
        ),
        "city": _city(address),
        "region": (row.get(f"{detail_prefix} region") or "").strip(),
        "country": country,
    }


def _country(code: str) -> str:
    code = code.strip().upper()
    return EU_COUNTRY_CODES.get(code, code)


def _city(address: str) -> str:
    """The town of an address: the letters of the part that holds the postcode ('Vocarska 17\n32000
    Vukovar' -> 'Vukovar'), or of the part right after a part that is only a postcode ('..., 06050,
    ANKARA' -> 'Ankara'). An address without a postcode gives no city rather than a guess, which
    could be a person's name ('t.a.v. Jan Peeters') or a country."""
    parts = [p.strip() for p in re.split(r"[,\n]", address) if p.strip()]
    for index, part in enumerate(parts):
        words = [w for w in part.split() if not any(ch.isdigit() for ch in w)]
        has_postcode = bool(POSTCODE.search(part))
        only_postcode = has_postcode and not words
        if only_postcode and index + 1 < len(parts):
            words = [w for w in parts[index + 1].split() if not any(ch.isdigit() for ch in w)]
            return _town(words)
        if has_postcode and words and (index == len(parts) - 1 or POSTCODE.match(part)):
            return _town(words)
    return ""


def _town(words: list[str]) -> str:
    town = " ".join(words)
    return town.title() if town.isupper() else town


def _organisation_type(label: str) -> str:
    lowered = label.strip().lower()
    if not lowered:
        return ""
    return next((code for words, code in ORGANISATION_TYPES if words in lowered), "other")


def _programme(text: str) -> str:
    lowered = text.lower()
    for words, code in PROGRAMMES.items():
        if words in lowered:
            return code
    return text.strip()


def _key_action(label: str, project_id: str) -> str:
    """The key action by its label (a known one, or one starting like it: the platform's wording
    changes between programme generations), else from the identifier (2022-1-BE02-KA220-...)."""
    lowered = " ".join(label.lower().split())
    for known, code in KEY_ACTIONS.items():
        if lowered == known or lowered.startswith(known.split(" and ")[0]):
            return code
    match = IDENTIFIER_KEY_ACTION.search(project_id)
    if match:
        return f"ka{match.group(1)}"
    return label.strip()


def _sector_from_identifier(project_id: str) -> str:
    """2021-2027 identifiers name the field (-SCH-, -VET-, -HED-, -ADU-, -YOU-); 2014-2020 ones
    the action (KA101 school, KA102 VET, KA103 higher education, KA104 adult, KA105 youth)."""
    match = IDENTIFIER_FIELD.search(project_id)
    if match:
        return FIELDS[match.group(1)]
    match = IDENTIFIER_ACTION.search(project_id)
    return ACTION_FIELDS.get(match.group(1), "") if match else ""


def _sector(text: str) -> str:
    return next((code for words, code in SECTORS if words in text), "")


def _label(text: str, labels: Mapping[str, str]) -> str:
    return labels.get(text.strip().lower(), text.strip())


def _raw_rows(body: Path, options: Mapping[str, Any], limits: Limits) -> ReadResult:
    with open(body, "rb") as handle:
        is_xlsx = handle.read(4) == XLSX_MAGIC
    if is_xlsx:
        (raw,) = xlsx_reader.read([body], {"sheet": options["sheet"], "header_row": options["header_row"]}, ";", limits)
    else:
        csv_options = {
            "delimiter": options["delimiter"],
            "encoding": options["encoding"],
            "decimal": ".",
            "thousands": None,
            "quote_char": '"',
            "encoding_key": "erasmus_plus.encoding",  # what the csv reader's messages name
        }
        (raw,) = csv_reader.read([body], csv_options, ";", limits)
    return raw
