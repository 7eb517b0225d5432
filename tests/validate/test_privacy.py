"""No personal data reaches a release: personal fields are never written, free text is scrubbed."""

from __future__ import annotations

import json
import shutil

import frictionless
import pandas as pd
import pytest

from partnerdata import cli
from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.validate.privacy import scrub_text
from tests.conftest import Project, dump_yaml


@pytest.mark.parametrize(
    ("text", "removed"),
    [
        ("Mail an.peeters@school.example for the programme.", [("email", "an.peeters@school.example")]),
        ("Bel +32 9 000 12 34 of 09 000 12 34.", [("phone", "+32 9 000 12 34"), ("phone", "09 000 12 34")]),
        ("GSM 0470 00 12 34, tel. 09/233.45.67", [("phone", "0470 00 12 34"), ("phone", "09/233.45.67")]),
        ("Dutch office +31 20 000 0000", [("phone", "+31 20 000 0000")]),
        ("KBO 0421.210.424, ondernemingsnummer BE 0456.789.123", []),  # enterprise numbers are not phones
        ("Project 2018-1-BE02-KA101-046789 ran 2019-2021 with 1234567 euro", []),
        ("Bel 0478\u00a012\u00a034\u00a056", [("phone", "0478\u00a012\u00a034\u00a056")]),  # French Excel spaces
        ("Bel ons op 0478.123.456", [("phone", "0478.123.456")]),  # dots, but not an enterprise number
        ("an.peeters [at] school.example", [("email", "an.peeters [at] school.example")]),
        ("jan (AT) vredesschool (dot) be", [("email", "jan (AT) vredesschool (dot) be")]),
        ("Nairobi office 0712 345 678", [("phone", "0712 345 678")]),  # valid in Kenya, a country of the row
    ],
)
def test_scrub_text_finds_emails_and_phone_numbers_but_not_identifiers(text, removed):
    cleaned, found = scrub_text(text, "BE", "KE")
    assert found == removed
    for _, value in removed:
        assert value not in cleaned


@pytest.mark.usefixtures("prefect_engine")
def test_free_text_is_scrubbed_and_reported_privately(demo_project, capsys):
    partner_file = demo_project.root / "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"
    with open(partner_file, "a", encoding="utf-8") as out:
        out.write(
            'BTC-GL-2024-09,webinar,Webinar: call 0470 00 12 34,"Questions? Mail jan.smet@college.example or '
            'phone +32 9 000 55 66. Company number 0421.210.424.",,2024-05-02,2024-05-02,Brussels,BE,teachers,,40,0,1.5,\n'
        )
    assert cli.main(demo_project.cli_args()) == 0
    capsys.readouterr()
    published = "\n".join(p.read_text(errors="replace") for p in demo_project.published.rglob("*") if p.is_file())
    for value in ("0470 00 12 34", "jan.smet@college.example", "+32 9 000 55 66"):
        assert value not in published
    activities = pd.read_csv(demo_project.published / "latest" / "activities.csv", dtype=str).set_index("activity_id")
    assert activities.loc["BTC-GL-2024-09", "title"] == "Webinar: call [phone number removed]"
    assert "0421.210.424" in activities.loc["BTC-GL-2024-09", "description"]
    report = pd.read_csv(demo_project.reports / "latest" / "btc-guest-lectures" / "personal_data.csv", dtype=str)
    assert set(zip(report["record"], report["field"], report["kind"], report["value"], strict=True)) == {
        ("BTC-GL-2024-09", "title", "phone", "0470 00 12 34"),
        ("BTC-GL-2024-09", "description", "email", "jan.smet@college.example"),
        ("BTC-GL-2024-09", "description", "phone", "'+32 9 000 55 66"),  # a spreadsheet must not run it
    }
    validation = json.loads((demo_project.published / "latest" / "validation.json").read_text())
    btc = next(s for s in validation["sources"] if s["source_id"] == "btc-guest-lectures")
    assert btc["personal_data_removed"] == {"email": 1, "phone": 2}


@pytest.mark.usefixtures("prefect_engine")
def test_a_field_marked_personal_is_never_published(tmp_path, capsys):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, schemas)
    descriptor = json.loads((schemas / "organisations.schema.json").read_text())
    descriptor["fields"].append({
        "name": "contact_email", "type": "string", "personal": True, "title": "Contact e-mail",
        "description": "Who to ask at the organisation; used for feedback, never published.",
    })  # fmt: skip
    (schemas / "organisations.schema.json").write_text(json.dumps(descriptor))
    root = tmp_path / "project"
    root.mkdir()
    (root / "orgs.csv").write_text("id,name,country,email\nORG-2,Second college,NL,els.devos@college.example\n")
    entry = {
        "source_id": "orgs", "organisation": {"id": "ORG-1", "name": "First college", "country": "BE"}, "url": "orgs.csv",
        "format": "csv", "resource": "organisations",
        "columns": {"organisation_id": "id", "name": "name", "country": "country", "contact_email": "email"},
    }  # fmt: skip
    (root / "sources.yaml").write_text(dump_yaml({"sources": [entry]}))
    project = Project(root)
    assert cli.main([*project.cli_args(), "--schemas", str(schemas)]) == 0, capsys.readouterr().err
    latest = project.published / "latest"
    assert "contact_email" not in pd.read_csv(latest / "organisations.csv").columns
    published = "\n".join(p.read_text(errors="replace") for p in project.published.rglob("*") if p.is_file())
    assert "els.devos" not in published and "contact_email" not in published
    assert frictionless.validate(str(latest / "datapackage.json")).valid
