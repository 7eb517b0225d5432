"""IATI activity XML (versions 2.01 to 2.03): what Belgian and Flemish NGOs publish.

One ``iati-activity`` becomes one project; its reporting organisation and its
participating organisations become organisations (an organisation's country is the
prefix of its ref when that is a country code, else the reporting organisation's for
funders and the main recipient country for implementers), and the participating ones
project partner rows (role 1 funding -> funder, 2 accountable -> coordinator,
3 extending -> partner, 4 implementing -> implementer). The file is parsed
incrementally (iterparse, each activity freed once read), so memory stays flat
however large the file.

Texts come from ``narrative`` elements: the first language of the source's
``languages`` preference that has one (the file's ``xml:lang`` default counts for
narratives without their own), else the first narrative. The language chosen is kept
in ``text_language``. Codes are checked against the codelists in iati_codelists/: an
unknown code passes through unchanged, so validation rejects it by name, and a
withdrawn sector code is left out of ``sector`` (it stays in ``dac_sectors``, where
the ``withdrawn-code`` note in detected names it). Contact blocks (``contact-info``)
are never read: they hold personal data.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, iterparse

import pyarrow as pa
import pycountry

from partnerdata.errors import ConfigError
from partnerdata.readers import ReadResult
from partnerdata.readers.options import check_options

RESOURCES = ("projects", "organisations", "project_partners", "activities")
OPTIONS = {
    "languages": (list, ["nl", "en", "fr"]),
    # "activities": an iati-activity below another one (hierarchy 2 or more, with a related-activity
    # of type 1 naming its parent) describes an event of the parent project: it becomes an activity.
    "sub_activities": (str, "projects"),
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CODELISTS = Path(__file__).with_name("iati_codelists")
COUNTRIES = {c.alpha_2 for c in pycountry.countries}


def _codelist(name: str) -> dict[str, dict[str, str]]:
    with open(CODELISTS / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


STATUS = _codelist("ActivityStatus")
ROLES = _codelist("OrganisationRole")
ORGANISATION_TYPES = _codelist("OrganisationType")
TRANSACTIONS = _codelist("TransactionType")
SECTORS = _codelist("Sector")
SECTOR_CATEGORIES = _codelist("SectorCategory")


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    if not all(isinstance(code, str) and len(code) == 2 for code in options["languages"]):
        raise ConfigError(
            f"{where}: option 'languages': expected two-letter language codes, got {options['languages']!r}"
        )
    if options["sub_activities"] not in ("projects", "activities"):
        raise ConfigError(
            f"{where}: option 'sub_activities': 'projects' or 'activities', got {options['sub_activities']!r}"
        )
    return options


def read(bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str) -> list[ReadResult]:
    (body,) = bodies
    projects: list[dict[str, str]] = []
    organisations: dict[str, dict[str, str]] = {}
    organisation_positions: dict[str, str] = {}
    partners: list[dict[str, str]] = []
    events: list[dict[str, str]] = []
    project_positions, partner_positions, event_positions = [], [], []
    withdrawn: set[str] = set()
    version = ""
    root: Element | None = None
    try:
        for event, element in iterparse(body, events=("start", "end")):
            if event == "start" and element.tag == "iati-activities":
                version = element.get("version", "")
                root = element
            if event != "end" or element.tag != "iati-activity":
                continue
            position = f"iati-activity {_text(element, 'iati-identifier') or len(projects) + 1}"
            project, orgs, roles = _activity(element, options["languages"], withdrawn)
            parent = _parent(element)
            if options["sub_activities"] == "activities" and parent:
                events.append(_event(project, parent, _main_recipient(element)))
                event_positions.append(position)
                roles = []  # its organisations are not partners of a project of its own
            else:
                projects.append(project)
                project_positions.append(position)
            for organisation in orgs:
                if organisation["organisation_id"] not in organisations:
                    organisations[organisation["organisation_id"]] = organisation
                    organisation_positions[organisation["organisation_id"]] = position
            for role in roles:
                partners.append(role)
                partner_positions.append(f"{position} participating-org {role['organisation_id']}")
            element.clear()  # constant memory: the activity is no longer needed,
            if root is not None:
                root.clear()  # and the root keeps no reference to it either
    except SyntaxError as error:  # ElementTree's ParseError
        raise ValueError(f"not well-formed XML: {error}") from None
    detected: dict[str, Any] = {"iati_version": version}
    if withdrawn:
        detected["withdrawn_codes"] = sorted(withdrawn)
    return [
        ReadResult(
            table=_table(projects),
            positions=project_positions,
            resource="projects",
            list_separator=";",
            detected=detected,
        ),
        ReadResult(
            table=_table(list(organisations.values())),
            positions=list(organisation_positions.values()),
            resource="organisations",
        ),
        ReadResult(table=_table(partners), positions=partner_positions, resource="project_partners"),
        ReadResult(table=_table(events), positions=event_positions, resource="activities"),
    ]


def _parent(activity: Element) -> str:
    """The parent's identifier of an activity below another one (hierarchy 2 or more), else ''."""
    if int(activity.get("hierarchy", "1") or 1) < 2:
        return ""
    related = next((r for r in activity.findall("related-activity") if r.get("type") == "1"), None)
    return (related.get("ref") or "").strip() if related is not None else ""


def _event(project: dict[str, str], parent: str, country: str) -> dict[str, str]:
    """A sub-activity as an activity of its parent project; activity_type comes from the entry's constants."""
    return {
        "activity_id": project["project_id"],
        "programme": project["programme"],
        "title": project["title"],
        "description": project["summary"],
        "start_date": project["start_date"],
        "end_date": project["end_date"],
        "country": country,
        "organiser_id": project["coordinator_id"],
        "project_id": parent,
    }


def _activity(
    activity: Element, languages: list[str], withdrawn: set[str]
) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    default_lang = activity.get(XML_LANG, "")
    project_id = _text(activity, "iati-identifier")
    title, title_lang = _narrative(activity.find("title"), languages, default_lang)
    description_element = next(
        (d for d in activity.findall("description") if d.get("type", "1") == "1"), activity.find("description")
    )
    summary, summary_lang = _narrative(description_element, languages, default_lang)
    status_code = (
        activity.find("activity-status").get("code", "") if activity.find("activity-status") is not None else ""
    )
    dates = {d.get("type"): d.get("iso-date", "") for d in activity.findall("activity-date")}
    countries = [
        f"{c.get('code', '').upper()}:{c.get('percentage', '')}".rstrip(":")
        for c in activity.findall("recipient-country")
    ]
    dac, sector = _sectors(activity, withdrawn)
    currency = activity.get("default-currency", "")
    totals, currencies = defaultdict(float), set()
    for transaction in activity.findall("transaction"):
        kind = transaction.find("transaction-type")
        value = transaction.find("value")
        field = TRANSACTIONS.get(kind.get("code", "") if kind is not None else "", {}).get("partnerdata_field")
        if field and value is not None and (value.text or "").strip():
            totals[field] += float(value.text)
            currencies.add(value.get("currency") or currency)
    budget = sum(
        float(b.findtext("value") or 0) for b in activity.findall("budget") if (b.findtext("value") or "").strip()
    )
    currencies |= {
        b.find("value").get("currency") or currency for b in activity.findall("budget") if b.find("value") is not None
    }
    reporting = activity.find("reporting-org")
    organisations, roles = [], []
    reporting_org = _organisation(reporting, languages, default_lang, None) if reporting is not None else None
    if reporting_org:
        organisations.append(reporting_org)
    main_recipient = _main_recipient(activity)
    coordinator = ""
    for participant in activity.findall("participating-org"):
        role = ROLES.get(participant.get("role", ""), {}).get("partnerdata_role", participant.get("role", ""))
        fallback_country = main_recipient if role == "implementer" else (reporting_org or {}).get("country", "")
        organisation = _organisation(participant, languages, default_lang, fallback_country)
        if organisation is None:
            continue
        organisations.append(organisation)
        roles.append({"project_id": project_id, "organisation_id": organisation["organisation_id"], "role": role})
        if role == "coordinator" and not coordinator:
            coordinator = organisation["organisation_id"]
    project = {
        "project_id": project_id,
        "programme": "other",
        "title": title,
        "summary": summary,
        "text_language": title_lang or summary_lang,
        "status": STATUS.get(status_code, {}).get("partnerdata_status", status_code),
        "start_date": dates.get("2") or dates.get("1", ""),
        "end_date": dates.get("4") or dates.get("3", ""),
        "sector": sector,
        "dac_sectors": ";".join(dac),
        "recipient_countries": ";".join(countries),
        "participating_countries": ";".join(dict.fromkeys(c.split(":")[0] for c in countries)),
        "coordinator_id": coordinator or (reporting_org or {}).get("organisation_id", ""),
        "currency": currencies.pop() if len(currencies) == 1 else ("mixed" if currencies else ""),
        "budget": _amount(budget) if activity.findall("budget") else "",
        **{field: _amount(total) for field, total in totals.items()},
    }
    return project, organisations, roles


def _main_recipient(activity: Element) -> str:
    """The recipient country with the largest share (the first one on a tie): where an
    implementing partner without an identifier most likely is."""
    best, share = "", -1.0
    for country in activity.findall("recipient-country"):
        try:
            percentage = float(country.get("percentage") or 100)
        except ValueError:
            percentage = 0.0
        if percentage > share:
            best, share = country.get("code", "").upper(), percentage
    return best


def _sectors(activity: Element, withdrawn: set[str]) -> tuple[list[str], str]:
    """DAC codes of vocabulary 1 (5 digits) and 2 (3 digits); the first education one gives the sector."""
    codes, sector = [], ""
    for element in activity.findall("sector"):
        vocabulary, code = element.get("vocabulary", "1"), element.get("code", "")
        if vocabulary not in ("1", "2") or not code:
            continue
        codes.append(code)
        entry = (SECTORS if vocabulary == "1" else SECTOR_CATEGORIES).get(code)
        if entry is None:
            continue
        if entry["status"] == "withdrawn":
            withdrawn.add(code)
            continue
        sector = sector or entry["partnerdata_sector"]
    return codes, sector


def _organisation(
    element: Element, languages: list[str], default_lang: str, fallback_country: str | None
) -> dict[str, str] | None:
    name, _ = _narrative(element, languages, default_lang)
    ref = (element.get("ref") or "").strip()
    if not name and not ref:
        return None
    prefix = ref.split("-", 1)[0].upper()
    country = prefix if prefix in COUNTRIES else (fallback_country or "")
    identifier = ref or f"IATI-{country or 'XX'}-{hashlib.sha256(name.strip().lower().encode()).hexdigest()[:10]}"
    return {
        "organisation_id": identifier,
        "name": name or ref,
        "organisation_type": ORGANISATION_TYPES.get(element.get("type", ""), {}).get("partnerdata_type", ""),
        "country": country,
    }


def _narrative(element: Element | None, languages: list[str], default_lang: str) -> tuple[str, str]:
    """The narrative in the first preferred language, else the first one; and its language."""
    if element is None:
        return "", ""
    narratives = [
        (n.get(XML_LANG, default_lang), " ".join((n.text or "").split())) for n in element.findall("narrative")
    ]
    narratives = [(lang, text) for lang, text in narratives if text]
    for language in languages:
        for lang, text in narratives:
            if lang == language:
                return text, lang
    return (narratives[0][1], narratives[0][0]) if narratives else ("", "")


def _text(element: Element, tag: str) -> str:
    return " ".join((element.findtext(tag) or "").split())


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(value, 2))


def _table(rows: list[dict[str, str]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table({name: pa.array([row.get(name, "") or "" for row in rows], pa.string()) for name in names})
