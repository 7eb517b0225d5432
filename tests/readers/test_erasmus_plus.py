"""The Erasmus+ Project Results Platform export: own fixtures for each mapping rule, and the real files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import frictionless
import pandas as pd
import pytest

from partnerdata import cli
from partnerdata.config.sources import load_config
from partnerdata.errors import PartnerFileError
from partnerdata.readers.erasmus_plus_reader import organisation_id
from partnerdata.validate.source import prepare_source, read_findings, read_staged
from tests.conftest import Project, dump_yaml

GRANT = (
    "EU Grant award in euros (This amount represents the grant awarded after the selection stage and is indicative. "
    "Please note that any changes made during or after the project's lifetime will not be reflected here.)"
)
HEADER = [
    "Programme", "Key Action", "Action Type", "Call year", "Project Identifier", "Project Title", "Topics",
    "Project Summary", "Project Status", GRANT, "Is Good Practice", "Is Success Story", "Project Website",
    "Results Available", "Results Platform Project Card", "Participating countries", "Coordinating organisation name",
    "Coordinating organisation type", "Coordinator's address", "Coordinator's region", "Coordinator's country",
    "Coordinator's website",
] + [f"Partner {n} {part}" for n in range(1, 4) for part in ("name", "organisation type", "address", "region", "country", "website")]  # fmt: skip
ORGANISATION = {"id": "EC-EAC", "name": "European Commission", "country": "BE", "type": "public_authority"}


def _row(**cells: str) -> list[str]:
    return [cells.get(name, "") for name in HEADER]


def _export(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def _prepare(schemas, tmp_path: Path, content: bytes):
    (tmp_path / "export.csv").write_bytes(content)
    entry = {"source_id": "eprp", "organisation": ORGANISATION, "url": "export.csv", "format": "erasmus_plus"}
    (tmp_path / "sources.yaml").write_text(dump_yaml({"sources": [entry]}))
    source = load_config(tmp_path / "sources.yaml", schemas, environ={}).source("eprp")
    prepared = prepare_source(source, [tmp_path / "export.csv"], schemas, tmp_path / "work")
    tables = {name: read_staged(path).to_pylist() for name, path in prepared.staged.items()}
    return tables, read_findings(prepared.findings)


def test_each_mapping_rule_of_the_export(schemas, tmp_path):
    ka1 = _row(**{
        "Programme": "Erasmus+", "Key Action": "Learning Mobility of Individuals", "Action Type": "School education staff mobility",
        "Call year": "2018", "Project Identifier": "2018-1-BE02-KA101-046789", "Project Title": "Learning from Finland",
        "Topics": "Teaching and learning of foreign languages; Inclusion - equity", "Project Status": "finalized",
        GRANT: "23450.50", "Is Good Practice": "Yes", "Is Success Story": "No", "Results Available": "No",
        "Results Platform Project Card": "https://erasmus-plus.ec.europa.eu/projects/search/details/2018-1-BE02-KA101-046789",
        "Participating countries": "BE,FI,EL", "Coordinating organisation name": "Basisschool De Regenboog",
        "Coordinating organisation type": "School/Institute/Educational centre – General education (primary level)",
        "Coordinator's address": "Kerkstraat 1, 2000, ANTWERPEN", "Coordinator's region": "Prov. Antwerpen",
        "Coordinator's country": "BE", "Partner 1 name": "Université de Liège", "Partner 1 organisation type":
        "Higher education institution (tertiary level)", "Partner 1 country": "BE", "Partner 2 name": "Dimotiko Scholeio Athinon",
        "Partner 2 organisation type": "School/Institute/Educational centre – General education (primary level)", "Partner 2 country": "EL",
    })  # fmt: skip
    jean_monnet = _row(**{
        "Programme": "Erasmus+", "Key Action": "Jean Monnet Activities", "Action Type": "Jean Monnet Chairs", "Call year": "2014",
        "Project Identifier": "553065-EPP-1-2014-1-TR-EPPJMO-CHAIR", "Project Title": "European studies chair",
        "Project Status": "ongoing", "Participating countries": "BE", "Coordinating organisation name": "UNIVERSITE DE LIEGE",
        "Coordinating organisation type": "Higher education institution (tertiary level)", "Coordinator's country": "BE",
    })  # fmt: skip
    tables, findings = _prepare(schemas, tmp_path, _export([ka1, jean_monnet]))
    assert findings == []
    first, second = tables["projects"]
    assert first == first | {
        "project_id": "2018-1-BE02-KA101-046789", "programme": "erasmus_plus", "key_action": "ka1",
        "action_type": "School education staff mobility", "sector": "school_education", "call_year": 2018,
        "status": "completed", "eu_grant_eur": 23450.5, "is_good_practice": True, "is_success_story": False,
        "has_results": False, "participating_countries": ["BE", "FI", "GR"],  # EL is Greece's EU code; ISO says GR
        "topics": ["Teaching and learning of foreign languages", "Inclusion - equity"],
        "coordinator_id": organisation_id("Basisschool De Regenboog", "BE"),
    }  # fmt: skip
    assert second == second | {"key_action": "jean_monnet", "sector": "higher_education", "status": "ongoing"}
    organisations = {o["name"]: o for o in tables["organisations"]}
    assert len(organisations) == 3  # "UNIVERSITE DE LIEGE" and "Université de Liège" are one organisation
    assert organisation_id("UNIVERSITE DE LIEGE", "BE") == organisation_id("Université de Liège", "BE")
    coordinator = organisations["Basisschool De Regenboog"]
    assert coordinator == coordinator | {
        "organisation_type": "school",
        "city": "Antwerpen",
        "region": "Prov. Antwerpen",
        "country": "BE",
    }
    assert organisations["Dimotiko Scholeio Athinon"]["country"] == "GR"
    roles = {(p["project_id"][:4], p["organisation_id"], p["role"]) for p in tables["project_partners"]}
    liege = organisation_id("Université de Liège", "BE")
    assert ("2018", coordinator["organisation_id"], "coordinator") in roles
    assert ("2018", liege, "partner") in roles and ("5530", liege, "coordinator") in roles
    assert "Kerkstraat" not in json.dumps(tables, default=str)  # addresses are not published


def test_organisation_ids_are_stable_and_documented():
    assert organisation_id("Youth Peace Group Danube", "HR") == organisation_id("  youth peace group  DANUBE ", "hr")
    assert organisation_id("Youth Peace Group Danube", "HR").startswith("EPRP-HR-")
    assert organisation_id("Youth Peace Group Danube", "HR") != organisation_id("Youth Peace Group Danube", "RS")


def test_a_file_that_is_not_an_export_is_named(schemas, tmp_path):
    with pytest.raises(PartnerFileError, match="not a Projects Overview export: no 'Project Identifier' column"):
        _prepare(schemas, tmp_path, b"id,title\n1,x\n")


@pytest.mark.conformance
def test_the_real_exports_of_every_programme(reference, tmp_path, prefect_engine, capsys):
    """The nine Erasmus+ rows, and one row of each older programme (turned back into the CSV the platform exports)."""
    root = tmp_path / "project"
    root.mkdir()
    entries = [{"source_id": "eprp-erasmus-plus", "url": str(reference / "erasmus-plus/eprp-projects-sample.csv")}]
    for path in sorted((reference / "erasmus-plus/other-programmes").glob("*.json")):
        row = json.loads(path.read_text(encoding="utf-8"))
        target = root / f"{path.stem}.csv"
        with open(target, "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows([list(row), list(row.values())])
        entries.append({"source_id": "eprp-" + path.stem.split("_")[0].lower(), "url": target.name})
    sources = [
        {**entry, "organisation": ORGANISATION, "format": "erasmus_plus", "max_rejected_share": 1.0}
        for entry in entries
    ]  # nine rows are too few for a percentage threshold
    (root / "sources.yaml").write_text(dump_yaml({"sources": sources}))
    project = Project(root)
    status = cli.main(project.cli_args())
    assert status == 0, capsys.readouterr().err
    release = project.published / "latest"
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])[:10]
    validation = json.loads((release / "validation.json").read_text())
    counts = {s["source_id"]: (s["rows_read"], s["rows_rejected"]) for s in validation["sources"]}
    assert counts == {
        "eprp-erasmus-plus": (58, 0),  # 9 projects, their organisations and partner roles
        "eprp-erasmusmundus": (7, 0),
        "eprp-lifelonglearning": (15, 0),
        "eprp-tempus": (29, 0),
        # Youth in Action: one partner has no country; it is published without one.
        "eprp-youthinaction": (5, 0),
    }
    projects = pd.read_csv(release / "projects.csv", dtype=str)
    assert len(projects) == 13
    assert set(projects["programme"]) == {
        "erasmus_plus",
        "lifelong_learning",
        "youth_in_action",
        "tempus",
        "erasmus_mundus",
    }
    assert "553065-EPP-1-2014-1-TR-EPPJMO-CHAIR" in set(projects["project_id"])
    assert "2018-1-LI01-KA101-000090" in set(projects["project_id"])
    organisations = pd.read_csv(release / "organisations.csv", dtype=str, keep_default_na=False)
    assert organisations.set_index("name").loc["Regionalne Centrum Wolontariatu", "country"] == ""
