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
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import Element

import pycountry

from partnerdata.errors import ConfigError, PartnerFileError
from partnerdata.readers.base import ReadResult, looks_like, text_table
from partnerdata.readers.expat_feed import elements
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import check_options

RESOURCES = ("projects", "organisations", "project_partners", "activities")
OPTIONS = {
    "languages": (list, ["nl", "en", "fr"]),
    # "activities": an iati-activity below another one (hierarchy 2 or more, with a related-activity
    # of type 1 naming its parent) describes an event of the parent project: it becomes an activity.
    "sub_activities": (str, "projects"),
}
# The elements of an iati-activity the reader maps (its direct children), for the drift check.
MAPPED_ELEMENTS = frozenset(
    ["iati-identifier", "title", "description", "activity-status", "activity-date", "recipient-country",
     "reporting-org", "participating-org", "budget", "transaction", "sector", "related-activity"]
)  # fmt: skip
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
CODELISTS = Path(__file__).with_name("iati_codelists")
COUNTRIES = {c.alpha_2 for c in pycountry.countries} | {"XK"}
# Bilateral donors' DAC identifiers: XM-DAC-<donor code>[-<agency>] (XM-DAC-2-10 is Belgium's DGD).
DAC_DONOR_REF = re.compile(r"^XM-DAC-([0-9]{1,3})(-|$)")
DAC_DONORS = {
    "1": "AT", "2": "BE", "3": "DK", "4": "FR", "5": "DE", "6": "IT", "7": "NL", "8": "NO", "9": "PT", "10": "SE",
    "11": "CH", "12": "GB", "18": "FI", "21": "IE", "22": "LU", "40": "GR", "50": "ES", "301": "CA", "302": "US",
    "701": "JP", "742": "KR", "801": "AU", "820": "NZ",
}  # fmt: skip


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
    # Compared with the file's xml:lang codes, which are lower-cased first ('NL-be' is 'nl').
    if not all(isinstance(code, str) and LANGUAGE_CODE.fullmatch(code) for code in options["languages"]):
        raise ConfigError(
            f"{where}: option 'languages': expected two-letter language codes in lower case (nl, en, fr), "
            f"got {options['languages']!r}"
        )
    if options["sub_activities"] not in ("projects", "activities"):
        raise ConfigError(
            f"{where}: option 'sub_activities': 'projects' or 'activities', got {options['sub_activities']!r}"
        )
    return options


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    (body,) = bodies
    _check_file(Path(body), limits)
    projects: list[dict[str, str]] = []
    organisations: dict[str, dict[str, str]] = {}
    organisation_positions: dict[str, str] = {}
    partners: list[dict[str, str]] = []
    events: list[dict[str, str]] = []
    project_positions, partner_positions, event_positions = [], [], []
    withdrawn: set[str] = set()
    version = ""
    file_lang = ""
    seen: set[str] = set()  # the elements found directly under an iati-activity (extensions aside)
    for element in _root_and_activities(Path(body), limits):
        if element.tag == "iati-activities":  # the root, at its start
            version = element.get("version", "")
            file_lang = _language(element.get(XML_LANG, ""))
            continue
        seen.update(child.tag for child in element if isinstance(child.tag, str) and "{" not in child.tag)
        position = f"iati-activity {_text(element, 'iati-identifier') or len(projects) + 1}"
        project, orgs, roles = _activity(element, options["languages"], withdrawn, file_lang)
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
        for number, role in enumerate(roles, start=1):
            partners.append(role)
            partner_positions.append(f"{position} participating-org {number}")
    detected: dict[str, Any] = {"iati_version": version}
    if withdrawn:
        detected["withdrawn_codes"] = sorted(withdrawn)
    return [
        ReadResult(
            table=text_table(projects),
            positions=project_positions,
            resource="projects",
            list_separator=";",
            detected=detected,
            source_columns={tag: tag in MAPPED_ELEMENTS for tag in sorted(seen)},
        ),
        ReadResult(
            table=text_table(list(organisations.values())),
            positions=list(organisation_positions.values()),
            resource="organisations",
        ),
        ReadResult(table=text_table(partners), positions=partner_positions, resource="project_partners"),
        ReadResult(table=text_table(events), positions=event_positions, resource="activities"),
    ]


def _check_file(body: Path, limits: Limits) -> None:
    """Within max_bytes, and XML at all (a CSV or JSON file given to an iati source is told so)."""
    limits.check_bytes(body.stat().st_size, "the file")
    kind = looks_like(body)
    if kind != "XML":
        what = "it does not start with '<'" if kind == "other" else f"it is {kind}"
        raise PartnerFileError(f"the file is not IATI activity XML ({what})", "check the source's url and format")


def _root_and_activities(body: Path, limits: Limits) -> Iterator[Element]:
    """The iati-activities root at its start, then each iati-activity once parsed, freed when the caller has read it."""
    root: Element | None = None
    depth = held = 0  # how deep the parser is, and how many elements it holds in memory
    for event, element in elements(body, limits):
        if event == "start":
            depth += 1
            held += 1
            if held % 10_000 == 0:
                limits.check_cells(held, "the XML elements held at once (one iati-activity, or what lies between two)")
            if element.tag == "iati-activities" and depth == 1:
                root = element
                yield element  # the caller reads its version and xml:lang
            continue
        depth -= 1
        if element.tag == "iati-activity":
            yield element  # the caller maps it
            element.clear()  # constant memory: the activity is no longer needed
        if depth <= 1 and root is not None:  # an activity, or anything else directly under the root, is done:
            root.clear()  # the root keeps no reference to it either
            held = 1


def _parent(activity: Element) -> str:
    """The parent's identifier of an activity below another one (hierarchy 2 or more), else ''."""
    hierarchy = (activity.get("hierarchy") or "1").strip()
    if not hierarchy.isdigit() or int(hierarchy) < 2:
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
    activity: Element, languages: list[str], withdrawn: set[str], file_lang: str = ""
) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    default_lang = _language(activity.get(XML_LANG, "")) or file_lang
    project_id = _text(activity, "iati-identifier")
    title, title_lang = _narrative(activity.find("title"), languages, default_lang)
    description_element = next(
        (d for d in activity.findall("description") if d.get("type", "1") == "1"), activity.find("description")
    )
    summary, summary_lang = _narrative(description_element, languages, default_lang)
    status_code = (
        # cast: this find returns the element the condition below found (not None)
        cast(Element, activity.find("activity-status")).get("code", "")
        if activity.find("activity-status") is not None
        else ""
    )
    dates = {d.get("type"): d.get("iso-date", "") for d in activity.findall("activity-date")}
    countries = [
        f"{c.get('code', '').upper()}:{c.get('percentage', '')}".rstrip(":")
        for c in activity.findall("recipient-country")
    ]
    dac, sector = _sectors(activity, withdrawn)
    amounts = _amounts(activity)
    reporting = activity.find("reporting-org")
    organisations, roles = [], []
    reporting_org = _organisation(reporting, languages, default_lang, None) if reporting is not None else None
    if reporting_org:
        organisations.append(reporting_org)
    main_recipient = _main_recipient(activity)
    coordinator = ""
    for participant in activity.findall("participating-org"):
        role = ROLES.get(participant.get("role", ""), {}).get("partnerdata_role", participant.get("role", ""))
        organisation = _organisation(
            participant, languages, default_lang, main_recipient if role == "implementer" else None
        )
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
        **amounts,
    }
    return project, organisations, roles


def _amounts(activity: Element) -> dict[str, str]:
    """Budget (per period the revised budget where there is one, else the original) and the
    transaction totals, in one currency. Amounts in several currencies are not added up: then
    they are left empty. A value that is not a number is passed on as written, so that the
    project is rejected for it by name instead of the whole file failing."""
    default = activity.get("default-currency", "")
    currencies: set[str] = set()
    totals: dict[str, float] = defaultdict(float)
    unreadable: dict[str, str] = {}
    budgets: dict[tuple[str, str], tuple[int, float]] = {}
    for budget in activity.findall("budget"):
        value = budget.find("value")
        if value is None or not (value.text or "").strip():
            continue
        assert value.text is not None  # not empty: checked just above
        amount = _number(value.text)
        if amount is None:
            unreadable["budget"] = value.text.strip()
            continue
        currencies.add(value.get("currency") or default)
        period = (_date_of(budget, "period-start"), _date_of(budget, "period-end"))
        revised = 1 if budget.get("type") == "2" else 0
        if period not in budgets or revised >= budgets[period][0]:
            budgets[period] = (revised, amount)
    for transaction in activity.findall("transaction"):
        kind, value = transaction.find("transaction-type"), transaction.find("value")
        field = TRANSACTIONS.get(kind.get("code", "") if kind is not None else "", {}).get("partnerdata_field")
        if not field or value is None or not (value.text or "").strip():
            continue
        assert value.text is not None  # not empty: checked just above
        amount = _number(value.text)
        if amount is None:
            unreadable[field] = value.text.strip()
            continue
        currencies.add(value.get("currency") or default)
        totals[field] += amount
    if budgets:
        totals["budget"] = sum(amount for _, amount in budgets.values())
    if len(currencies - {""}) > 1 or "" in currencies and totals:
        return {**unreadable}  # several currencies, or none known: no sums and no currency
    return {"currency": next(iter(currencies), ""), **{k: _amount(v) for k, v in totals.items()}, **unreadable}


def _date_of(element: Element, tag: str) -> str:
    child = element.find(tag)
    return child.get("iso-date", "") if child is not None else ""


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _language(code: str) -> str:
    """'nl-BE' and 'NL' are both 'nl'."""
    return code.split("-")[0].strip().lower()


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
    # A registration agency of a country (BE-BCE_KBO-...) names it; XM-DAC-<n> a DAC donor country
    # for the bilateral ones. Multilaterals (XM-DAC-41114 UNDP) have none; an implementer without
    # an identifier is taken to be in the activity's main recipient country.
    donor = DAC_DONOR_REF.match(ref.upper())
    country = prefix if prefix in COUNTRIES else DAC_DONORS.get(donor.group(1) if donor else "", fallback_country or "")
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
        (_language(n.get(XML_LANG, "")) or default_lang, " ".join((n.text or "").split()))
        for n in element.findall("narrative")
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
