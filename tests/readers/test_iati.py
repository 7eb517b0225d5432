"""IATI activity XML: own fixtures for each mapping rule, the codelists, and the real files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import frictionless
import pytest

from partnerdata import cli
from partnerdata.config.sources import load_config
from partnerdata.errors import PartnerFileError
from partnerdata.readers import iati_reader
from partnerdata.readers.iati_reader import CODELISTS
from partnerdata.validate.source import prepare_source, read_findings, read_staged
from tests.conftest import Project, dump_yaml

ACTIVITY = """
  <iati-activity xml:lang="en" default-currency="EUR">
    <iati-identifier>BE-BCE_KBO-0999999999-EDU-001</iati-identifier>
    <reporting-org ref="BE-BCE_KBO-0999999999" type="22"><narrative>Vredesschool vzw</narrative></reporting-org>
    <title><narrative>Teachers for peace</narrative><narrative xml:lang="nl">Leraren voor vrede</narrative></title>
    <description type="1"><narrative xml:lang="nl">Vorming van leraren in Bukavu.</narrative></description>
    <activity-status code="2"/>
    <activity-date type="1" iso-date="2019-01-01"/><activity-date type="2" iso-date="2019-02-01"/>
    <activity-date type="3" iso-date="2021-12-31"/>
    <contact-info type="1"><person-name><narrative>Els De Vos</narrative></person-name>
      <email>els.devos@vredesschool.example</email><telephone>+32 9 000 11 22</telephone></contact-info>
    <participating-org ref="XM-DAC-2-10" type="10" role="1"><narrative>Belgian development cooperation</narrative></participating-org>
    <participating-org ref="BE-BCE_KBO-0999999999" type="22" role="2"><narrative>Vredesschool vzw</narrative></participating-org>
    <participating-org type="24" role="4"><narrative>Ecole normale de Bukavu</narrative></participating-org>
    <recipient-country code="CD" percentage="70"/><recipient-country code="RW" percentage="30"/>
    <sector vocabulary="1" code="11322"/><sector vocabulary="1" code="11130"/><sector vocabulary="2" code="111"/>
    <budget type="1"><period-start iso-date="2019-01-01"/><period-end iso-date="2019-12-31"/><value currency="EUR" value-date="2019-01-01">100000</value></budget>
    <budget type="1"><period-start iso-date="2020-01-01"/><period-end iso-date="2020-12-31"/><value value-date="2020-01-01">50000.50</value></budget>
    <transaction><transaction-type code="2"/><value value-date="2019-01-10">150000</value></transaction>
    <transaction><transaction-type code="3"/><value value-date="2019-03-01">60000</value></transaction>
    <transaction><transaction-type code="3"/><value value-date="2020-03-01">40000</value></transaction>
    <transaction><transaction-type code="4"/><value currency="EUR" value-date="2020-06-01">95000.25</value></transaction>
  </iati-activity>"""
BROKEN = """
  <iati-activity default-currency="EUR">
    <iati-identifier>BE-BCE_KBO-0999999999-EDU-002</iati-identifier>
    <reporting-org ref="BE-BCE_KBO-0999999999" type="22"><narrative>Vredesschool vzw</narrative></reporting-org>
    <activity-status code="9"/>
  </iati-activity>"""


def _prepare(schemas, tmp_path: Path, xml: str, **options):
    (tmp_path / "activities.xml").write_text(
        f'<?xml version="1.0"?>\n<iati-activities version="2.03">{xml}\n</iati-activities>\n'
    )
    entry = {
        "source_id": "vredesschool", "organisation": {"id": "BE-BCE_KBO-0999999999", "name": "Vredesschool vzw", "country": "BE"},
        "url": "activities.xml", "format": "iati", **({"iati": options} if options else {}),
    }  # fmt: skip
    (tmp_path / "sources.yaml").write_text(dump_yaml({"sources": [entry]}))
    source = load_config(tmp_path / "sources.yaml", schemas, environ={}).source("vredesschool")
    prepared = prepare_source(source, [tmp_path / "activities.xml"], schemas, tmp_path / "work")
    tables = {name: read_staged(path).to_pylist() for name, path in prepared.staged.items()}
    return tables, read_findings(prepared.findings), prepared


def test_each_mapping_rule_of_an_activity(schemas, tmp_path):
    tables, findings, prepared = _prepare(schemas, tmp_path, ACTIVITY)
    assert findings == []
    (project,) = tables["projects"]
    assert project == project | {
        "project_id": "BE-BCE_KBO-0999999999-EDU-001", "programme": "other",
        "title": "Leraren voor vrede", "summary": "Vorming van leraren in Bukavu.", "text_language": "nl",
        "status": "ongoing", "start_date": __import__("datetime").date(2019, 2, 1),  # actual start before planned
        "end_date": __import__("datetime").date(2021, 12, 31),  # planned end, as there is no actual end
        "recipient_countries": ["CD:70", "RW:30"], "participating_countries": ["CD", "RW"],
        "dac_sectors": ["11322", "11130", "111"], "sector": "higher_education",  # 11322 is withdrawn: 11130 decides
        "currency": "EUR", "budget": 150000.5, "commitments": 150000.0, "disbursements": 100000.0, "expenditures": 95000.25,
        "coordinator_id": "BE-BCE_KBO-0999999999",
    }  # fmt: skip
    assert prepared.detected["withdrawn_codes"] == ["11322"] and prepared.detected["iati_version"] == "2.03"
    organisations = {o["name"]: o for o in tables["organisations"]}
    assert organisations["Belgian development cooperation"]["country"] == "BE"  # the reporting org's country
    assert organisations["Ecole normale de Bukavu"]["organisation_id"].startswith("IATI-CD-")  # no ref: derived id
    assert organisations["Ecole normale de Bukavu"]["organisation_type"] == "ngo"
    roles = {(p["organisation_id"][:10], p["role"]) for p in tables["project_partners"]}
    assert roles == {
        ("XM-DAC-2-1", "funder"),
        ("BE-BCE_KBO", "coordinator"),
        ("IATI-CD-" + organisations["Ecole normale de Bukavu"]["organisation_id"][8:10], "implementer"),
    }
    assert "els.devos" not in json.dumps(tables, default=str) and "Els De Vos" not in json.dumps(tables, default=str)


def test_the_language_preference_is_configurable(schemas, tmp_path):
    tables, _, _ = _prepare(schemas, tmp_path, ACTIVITY, languages=["en"])
    assert tables["projects"][0]["title"] == "Teachers for peace" and tables["projects"][0]["text_language"] == "en"


def test_an_unknown_status_code_and_a_missing_title_are_rejected_by_name(schemas, tmp_path):
    _, findings, _ = _prepare(schemas, tmp_path, ACTIVITY + BROKEN)
    assert {(f.position, f.field, f.value, f.rule) for f in findings} == {
        ("iati-activity BE-BCE_KBO-0999999999-EDU-002", "title", "", "required"),
        ("iati-activity BE-BCE_KBO-0999999999-EDU-002", "status", "9", "enum"),
    }


def test_malformed_xml_is_a_clear_error(schemas, tmp_path):
    with pytest.raises(PartnerFileError, match="not well-formed XML"):
        _prepare(schemas, tmp_path, "<iati-activity><iati-identifier>x</iati-activity>")


def _assert_no_contact_data_published(project: Project, inputs: list[Path]) -> None:
    """No e-mail address, and no contact-info telephone, of the inputs is in any published file."""
    import re
    from xml.etree.ElementTree import parse

    personal = set()
    for path in inputs:
        personal |= set(re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", path.read_text(encoding="utf-8")))
        personal |= {(e.text or "").strip() for e in parse(path).iter("telephone") if (e.text or "").strip()}
    assert personal, "the inputs should hold contact data for this test to mean something"
    published = "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in project.published.rglob("*") if p.is_file()
    )
    assert not {value for value in personal if value in published}


@pytest.mark.conformance
def test_the_codelists_match_the_published_standard(reference):
    """Every code the reader knows exists in the full codelist with the same name and status."""
    for path in sorted(CODELISTS.glob("*.csv")):
        ours = {row["code"]: row for row in csv.DictReader(open(path, encoding="utf-8"))}
        official = reference / "iati" / "codelists" / path.name
        if path.name == "OrganisationType.csv" and not official.exists():
            continue  # not among the reference codelists
        theirs = {row["code"]: row for row in csv.DictReader(open(official, encoding="utf-8"))}
        for code, row in ours.items():
            assert code in theirs, f"{path.name}: code {code} is not in the standard"
            assert row["name"] == theirs[code]["name_en"], (
                f"{path.name}: code {code} is named {theirs[code]['name_en']!r}"
            )
            assert row["status"] == theirs[code]["status"], (
                f"{path.name}: code {code} is {theirs[code]['status']} in the standard"
            )


@pytest.mark.conformance
def test_the_real_iati_files(reference, tmp_path, prefect_engine, capsys):
    root = tmp_path / "project"
    root.mkdir()
    sources = [
        {"source_id": "elf-elf-elf", "url": str(reference / "iati/11-11-11-activities.xml"),
         "organisation": {"id": "BE-BCE_KBO-0421210424", "name": "Koepel van de Vlaamse Noord-Zuidbeweging 11.11.11 VZW", "country": "BE", "type": "ngo"}},
        {"source_id": "iati-example", "url": str(reference / "iati/iati-activity-standard-example-annotated_v2.03.xml"),
         "organisation": {"id": "AA-AAA-123456789", "name": "Agency A", "country": "BE"}},
    ]  # fmt: skip
    entries = [{**s, "format": "iati", "max_rejected_share": 1.0} for s in sources]
    (root / "sources.yaml").write_text(dump_yaml({"sources": entries}))
    project = Project(root)
    assert cli.main(project.cli_args()) == 0, capsys.readouterr().err
    release = project.published / "latest"
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])[:10]
    validation = json.loads((release / "validation.json").read_text())
    counts = {s["source_id"]: (s["rows_read"], s["rows_rejected"]) for s in validation["sources"]}
    # 11.11.11: 18 activities, their organisations and roles, all accepted (Belgium's DGD, XM-DAC-2-10,
    # is placed in BE by its DAC donor code). IATI's example: its activity, organisations and roles.
    assert counts == {"elf-elf-elf": (195, 0), "iati-example": (7, 0)}
    import pandas as pd

    projects = pd.read_csv(release / "projects.csv", dtype=str)
    assert len(projects) == 19
    _assert_no_contact_data_published(project, [Path(s["url"]) for s in sources])
    elf = projects[projects["source_id"] == "elf-elf-elf"]
    assert set(elf["text_language"]) <= {"nl", "en", "fr", "es"} and elf["title"].notna().all()
    assert (elf["text_language"] == "nl").sum() >= 1  # Dutch first, where the activity has it


CHILD = """
  <iati-activity hierarchy="2" default-currency="EUR">
    <iati-identifier>BE-BCE_KBO-0999999999-EDU-001-W1</iati-identifier>
    <reporting-org ref="BE-BCE_KBO-0999999999" type="22"><narrative>Vredesschool vzw</narrative></reporting-org>
    <title><narrative xml:lang="nl">Leerweek vredeseducatie in Bukavu</narrative></title>
    <activity-status code="4"/>
    <activity-date type="2" iso-date="2019-05-06"/><activity-date type="4" iso-date="2019-05-10"/>
    <recipient-country code="CD" percentage="100"/>
    <related-activity ref="BE-BCE_KBO-0999999999-EDU-001" type="1"/>
  </iati-activity>"""


def test_sub_activities_become_activities_when_the_entry_says_so(schemas, tmp_path):
    tables, _, _ = _prepare(schemas, tmp_path, ACTIVITY + CHILD)
    assert [p["project_id"] for p in tables["projects"]] == [
        "BE-BCE_KBO-0999999999-EDU-001",
        "BE-BCE_KBO-0999999999-EDU-001-W1",
    ]
    assert tables["activities"] == []
    tables, findings, _ = _prepare(schemas, tmp_path, ACTIVITY + CHILD, sub_activities="activities")
    assert [p["project_id"] for p in tables["projects"]] == ["BE-BCE_KBO-0999999999-EDU-001"]
    # Without constants.activity_type the event cannot be typed: it is rejected, and says so.
    assert {(f.resource, f.field, f.rule) for f in findings} == {("activities", "activity_type", "required")}


def test_a_sub_activity_with_a_typed_entry_is_published_as_an_activity(schemas, tmp_path):
    (tmp_path / "activities.xml").write_text(
        f'<?xml version="1.0"?>\n<iati-activities version="2.03">{ACTIVITY}{CHILD}\n</iati-activities>\n'
    )
    entry = {
        "source_id": "vredesschool", "organisation": {"id": "BE-BCE_KBO-0999999999", "name": "Vredesschool vzw", "country": "BE"},
        "url": "activities.xml", "format": "iati", "iati": {"sub_activities": "activities"},
        "constants": {"activity_type": "learning_week"},
    }  # fmt: skip
    (tmp_path / "sources.yaml").write_text(dump_yaml({"sources": [entry]}))
    source = load_config(tmp_path / "sources.yaml", schemas, environ={}).source("vredesschool")
    prepared = prepare_source(source, [tmp_path / "activities.xml"], schemas, tmp_path / "work")
    (event,) = read_staged(prepared.staged["activities"]).to_pylist()
    assert event == event | {
        "activity_id": "BE-BCE_KBO-0999999999-EDU-001-W1", "activity_type": "learning_week", "country": "CD",
        "project_id": "BE-BCE_KBO-0999999999-EDU-001", "organiser_id": "BE-BCE_KBO-0999999999",
        "title": "Leerweek vredeseducatie in Bukavu",
    }  # fmt: skip


def test_revised_budgets_odd_languages_currencies_and_numbers(schemas, tmp_path):
    odd = (
        ACTIVITY.replace("EDU-001", "EDU-003")
        .replace('xml:lang="nl">Leraren', 'xml:lang="NL-be">Leraren')
        .replace('<budget type="1"><period-start iso-date="2020-01-01"/>', '<budget type="2"><period-start iso-date="2019-01-01"/>')
        .replace('<period-end iso-date="2020-12-31"/><value value-date="2020-01-01">50000.50', '<period-end iso-date="2019-12-31"/><value value-date="2020-01-01">120000')
    )  # fmt: skip
    mixed = ACTIVITY.replace("EDU-001", "EDU-004").replace(
        '<value currency="EUR" value-date="2020-06-01">', '<value currency="USD" value-date="2020-06-01">'
    )
    unreadable = ACTIVITY.replace("EDU-001", "EDU-005").replace(">60000<", ">60.000,00<")
    tables, findings, _ = _prepare(schemas, tmp_path, odd + mixed + unreadable)
    projects = {p["project_id"][-3:]: p for p in tables["projects"]}
    assert projects["003"]["budget"] == 120000.0  # the revised budget of 2019 replaces the original
    assert projects["003"]["text_language"] == "nl" and projects["003"]["title"] == "Leraren voor vrede"
    assert projects["004"]["currency"] is None and projects["004"]["expenditures"] is None  # EUR and USD: no sums
    assert {(f.position, f.field, f.value, f.rule) for f in findings} == {
        ("iati-activity BE-BCE_KBO-0999999999-EDU-005", "disbursements", "60.000,00", "type")
    }


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_an_entity_declaration_is_refused_in_any_encoding(tmp_path, encoding):
    """A byte search for <!DOCTYPE misses it in UTF-16; the parser itself refuses it."""
    laughs = "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 8))
    document = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
        f'<!DOCTYPE iati-activities [<!ENTITY e0 "lol">{laughs}]><iati-activities version="2.03">'
        "<iati-activity><iati-identifier>XM-1</iati-identifier><title><narrative>&e7;</narrative></title>"
        "</iati-activity></iati-activities>"
    )
    path = tmp_path / "laughs.xml"
    path.write_bytes(document.encode(encoding))
    with pytest.raises(PartnerFileError, match="declares a DOCTYPE"):
        iati_reader.read([path], iati_reader.parse_options({}, "test"), ";")


def test_a_tag_of_a_million_attributes_is_refused_before_it_is_built(tmp_path):
    attributes = " ".join(f'a{n}=""' for n in range(1_000_000))
    path = tmp_path / "attributes.xml"
    path.write_text(
        f'<iati-activities version="2.03"><iati-activity {attributes}><iati-identifier>XM-1</iati-identifier>'
        "</iati-activity></iati-activities>",
        encoding="utf-8",
    )
    with pytest.raises(PartnerFileError, match="holds a tag or comment of more than 4,194,304 bytes"):
        iati_reader.read([path], iati_reader.parse_options({}, "test"), ";")
