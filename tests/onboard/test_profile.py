"""`partnerdata profile FILE`: a draft source entry that `partnerdata check` passes and that reads the file.

The drafts are checked the way a maintainer would use them: placed under `sources:` of a sources.yaml
with the demo's settings, checked by the `check` command, then the file is read and validated with the
draft's entry as a run validates one source (validate.source.prepare_source).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.schemas import RESOURCE_NAMES
from partnerdata.onboard import matching, sample, sniff
from partnerdata.validate.configuration import load_config
from partnerdata.validate.source import prepare_source
from tests.conftest import dump_yaml

DEMO = yaml.safe_load((PROJECT_ROOT / "sources.yaml").read_text(encoding="utf-8"))
GENERIC = [entry for entry in DEMO["sources"] if entry["format"] in ("csv", "xlsx", "json")]
STANDARD = [entry for entry in DEMO["sources"] if entry["format"] not in ("csv", "xlsx", "json")]


def _profile(capsys, *args):
    status = cli.main(["profile", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _placed(draft: str, folder: Path) -> Path:
    """The draft as a maintainer places it: under `sources:` of a sources.yaml with the demo's settings."""
    path = folder / "sources.yaml"
    path.write_text(dump_yaml({"settings": DEMO["settings"]}, sort_keys=False) + "sources:\n" + draft, encoding="utf-8")
    return path


def _checked_source(draft: str, folder: Path, capsys, schemas):
    """The draft's source, after `partnerdata check` passed the sources.yaml it was placed in."""
    path = _placed(draft, folder)
    status = cli.main(["check", "--sources", str(path)])
    out = capsys.readouterr().out
    assert status == 0 and "all fine" in out
    return load_config(path, schemas).sources[0]


def _accepted(source, schemas, work: Path):
    prepared = prepare_source(source, [Path(source.url)], schemas, work)
    return prepared.rows_read, prepared.rows_accepted


# ---------------------------------------------------------------- the names table


def test_every_canonical_field_has_names_in_dutch_french_and_english(schemas):
    table = yaml.safe_load(matching.SYNONYMS.read_text(encoding="utf-8"))
    for resource in RESOURCE_NAMES:
        for spec in schemas.fields(resource):
            if spec["name"] == "source_id":  # set by partnerdata, never a partner's column
                continue
            names = table["fields"].get(spec["name"], {})
            assert all(names.get(language) for language in ("nl", "fr", "en")), (resource, spec["name"])


def test_every_code_of_a_vocabulary_has_labels_except_countries(schemas):
    table = yaml.safe_load(matching.SYNONYMS.read_text(encoding="utf-8"))
    for resource in RESOURCE_NAMES:
        for spec in schemas.fields(resource):
            codes = matching.vocabulary(spec)
            if codes and not matching.is_country_list(codes):
                assert set(codes) <= set(table["codes"][spec["name"]]), (resource, spec["name"])


@pytest.mark.parametrize(
    ("label", "field", "code"),
    [
        ("Leerweek", "activity_type", "learning_week"),
        ("Semaine d'apprentissage", "activity_type", "learning_week"),
        ("learning week", "activity_type", "learning_week"),
        ("Séminaire", "activity_type", "seminar"),
        ("Pédagogie interculturelle", "theme", "intercultural_pedagogy"),
        ("Belgique", "country", "BE"),
        ("België", "country", "BE"),
        ("Pays-Bas", "country", "NL"),
        ("EL", "country", "GR"),
        ("enseignants", "target_groups", "teachers"),
        ("Burgerschap", "theme", None),  # near "wereldburgerschap", but not near enough: the maintainer decides
        ("Niger", "country", "NE"),  # countries match exactly: Niger is not Nigeria
    ],
)
def test_labels_match_codes_in_dutch_french_and_english(schemas, label, field, code):
    spec = next(s for s in schemas.fields("activities") if s["name"] == field)
    match = matching.match_label(label, spec)
    assert (match.target if match else None) == code


# ---------------------------------------------------------------- the demo partners


@pytest.mark.parametrize("entry", GENERIC, ids=[entry["source_id"] for entry in GENERIC])
def test_a_demo_partner_file_gets_the_entry_a_maintainer_wrote_for_it(entry, demo_project, tmp_path, capsys, schemas):
    path = demo_project.root / entry["url"]
    sheet = ["--sheet", entry["xlsx"]["sheet"]] if entry["format"] == "xlsx" else []
    status, out, err = _profile(capsys, path, *sheet)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert draft["url"] == str(path) and draft["format"] == entry["format"]
    assert draft["resource"] == entry["resource"]
    assert draft["columns"] == entry["columns"]  # every column the maintainer mapped, and nothing else
    for field, labels in draft.get("values", {}).items():  # the labels found in the file, translated alike
        for label, code in labels.items():
            assert entry["values"][field][label] == code, (field, label)
    for key in ("delimiter", "encoding", "decimal"):
        if (
            key in entry.get("csv", {})
            and entry["csv"][key] != {"delimiter": ",", "encoding": "utf-8", "decimal": "."}[key]
        ):
            assert draft["csv"][key] == entry["csv"][key]
    assert draft.get("date_format") == entry.get("date_format")
    source = _checked_source(out, tmp_path, capsys, schemas)
    demo = load_config(demo_project.sources, schemas).source(entry["source_id"])
    # The draft reads the file as well as the hand-written entry: the same rows pass.
    assert _accepted(source, schemas, tmp_path / "draft") == _accepted(demo, schemas, tmp_path / "demo")
    assert "check:\n  the draft passes `partnerdata check`" in err


@pytest.mark.parametrize("entry", STANDARD, ids=[entry["source_id"] for entry in STANDARD])
def test_a_standard_format_is_named_and_needs_no_mapping(entry, demo_project, tmp_path, capsys, schemas):
    path = demo_project.root / entry["url"]
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert draft["format"] == entry["format"]
    assert not {"resource", "columns", "values"} & set(draft)
    assert f"{entry['format']} is a standard format" in err
    source = _checked_source(out, tmp_path, capsys, schemas)
    rows_read, rows_accepted = _accepted(source, schemas, tmp_path / "work")
    assert rows_accepted > 0.8 * rows_read


def test_the_draft_is_yaml_a_maintainer_can_paste_with_todos_for_the_placeholders(demo_project, capsys):
    path = demo_project.root / "demo/partners/hogeschool-zuiderkempen/sample_leerweken_export.csv"
    status, out, err = _profile(capsys, path)
    assert status == 0
    assert out.startswith("  # Draft entry written by `partnerdata profile`")
    assert re.search(r"^  - source_id: new-partner  # TODO", out, re.M)
    assert re.search(r"^    organisation:  # TODO", out, re.M)
    # No column holds the programme: a guess, marked as one, and said so on stderr.
    assert re.search(r"^      programme: other  # TODO: a guess", out, re.M)
    assert "programme is required and no column matched it" in err
    assert "theme: no code matched 'Burgerschap' (1 row)" in err
    assert re.search(r"^  Titel +99% .* -> title \(1\.00, nl 'titel'\)$", err, re.M)


def test_personal_data_is_never_mapped_nor_shown(demo_project, capsys):
    path = demo_project.root / "demo/partners/wereldschool-ngo/sample_activities.json"
    status, out, err = _profile(capsys, path)
    assert status == 0
    for column in ("contact.name", "contact.email", "contact.phone"):
        assert re.search(
            rf"^  {re.escape(column)} +100%  \(values not shown: personal data\)  -> not mapped", err, re.M
        )
        assert column not in out
    assert "@wereldschool.example" not in out + err and "+32 9 000" not in out + err


# ---------------------------------------------------------------- the real Erasmus+ export, in Dutch and French

# The Projects Overview export's headers, as a Dutch and a French partner would write them.
TRANSLATIONS = {
    "nl": {
        "Programme": "Programma", "Key Action": "Kernactie", "Action Type": "Actietype", "Call year": "Oproepjaar",
        "Project Identifier": "Projectnummer", "Project Title": "Projecttitel", "Topics": "Onderwerpen",
        "Project Summary": "Samenvatting", "Project Status": "Projectstatus",
        "EU Grant award in euros": "EU-subsidie in euro (dit bedrag is de subsidie toegekend na de selectie en is indicatief)",
        "Is Good Practice": "Goede praktijk", "Is Success Story": "Succesverhaal",
        "Project Website": "Website van het project", "Results Available": "Resultaten beschikbaar",
        "Results Platform Project Card": "Projectfiche", "Participating countries": "Deelnemende landen",
        "Coordinating organisation name": "Naam coördinerende organisatie",
        "Coordinating organisation type": "Type coördinerende organisatie", "Coordinator's address": "Adres coördinator",
        "Coordinator's region": "Regio coördinator", "Coordinator's country": "Land coördinator",
        "Coordinator's website": "Website coördinator",
        "name": "naam", "organisation type": "type organisatie", "address": "adres", "region": "regio",
        "country": "land", "website": "website",
    },
    "fr": {
        "Programme": "Programme", "Key Action": "Action clé", "Action Type": "Type d'action",
        "Call year": "Année de l'appel", "Project Identifier": "Identifiant du projet",
        "Project Title": "Titre du projet", "Topics": "Thématiques", "Project Summary": "Résumé du projet",
        "Project Status": "Statut du projet",
        "EU Grant award in euros": "Subvention de l'UE en euros (montant accordé après la sélection, indicatif)",
        "Is Good Practice": "Bonne pratique", "Is Success Story": "Exemple de réussite",
        "Project Website": "Site web du projet", "Results Available": "Résultats disponibles",
        "Results Platform Project Card": "Fiche du projet sur la plateforme des résultats",
        "Participating countries": "Pays participants",
        "Coordinating organisation name": "Nom de l'organisation coordinatrice",
        "Coordinating organisation type": "Type de l'organisation coordinatrice",
        "Coordinator's address": "Adresse du coordinateur", "Coordinator's region": "Région du coordinateur",
        "Coordinator's country": "Pays du coordinateur", "Coordinator's website": "Site web du coordinateur",
        "name": "nom", "organisation type": "type d'organisation", "address": "adresse", "region": "région",
        "country": "pays", "website": "site web",
    },
}  # fmt: skip
PARTNER = {"nl": "Partner", "fr": "Partenaire"}
# The fields a maintainer needs most, by the English column they come from.
KEY_FIELDS = {
    "project_id": "Project Identifier", "title": "Project Title", "programme": "Programme",
    "key_action": "Key Action", "call_year": "Call year", "status": "Project Status",
    "eu_grant_eur": "EU Grant award in euros", "participating_countries": "Participating countries",
    "summary": "Project Summary",
}  # fmt: skip


@pytest.fixture(scope="module")
def eprp_export() -> Path:
    """The real export in ../shared/reference (PARTNERDATA_REFERENCE, else beside the project); never copied
    into the repository."""
    folder = Path(os.environ.get("PARTNERDATA_REFERENCE") or PROJECT_ROOT.parent / "shared" / "reference")
    path = folder / "erasmus-plus" / "eprp-projects-sample.csv"
    if not path.is_file():
        pytest.skip(f"the reference export {path} is not there (set PARTNERDATA_REFERENCE)")
    return path


def _translated(header: str, language: str) -> str:
    words = TRANSLATIONS[language]
    if header.startswith("EU Grant award in euros"):
        return words["EU Grant award in euros"]
    partner = re.fullmatch(r"Partner ([0-9]+) (.+)", header)
    if partner:
        return f"{PARTNER[language]} {partner[1]} {words[partner[2]]}"
    return words[header]


def _translated_copy(export: Path, language: str, fmt: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the export with its headers translated, as CSV or XLSX; and English header -> translated one."""
    with open(export, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    header = [_translated(name, language) for name in rows[0]]
    english = {
        name.split(" (")[0] if name.startswith("EU Grant") else name: new
        for name, new in zip(rows[0], header, strict=True)
    }
    path = folder / f"projects-{language}.{fmt}"
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows([header, *rows[1:]])
    else:
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Projecten" if language == "nl" else "Projets")
        for row in [header, *rows[1:]]:
            sheet.append(row)
        workbook.save(path)
    return path, english


@pytest.mark.conformance
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_real_erasmus_export_with_translated_headers_is_profiled_as_projects(
    eprp_export, language, fmt, tmp_path, capsys, schemas
):
    path, english = _translated_copy(eprp_export, language, fmt, tmp_path)
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert draft["format"] == fmt and draft["resource"] == "projects"
    for field, column in KEY_FIELDS.items():
        assert draft["columns"].get(field) == english[column], (field, err)
    assert not any("adres" in column.lower() for column in draft["columns"].values())  # addresses stay out
    assert draft["values"]["programme"] == {"Erasmus+": "erasmus_plus"}
    assert draft["values"]["status"]["finalized"] == "completed"
    assert draft["values"]["participating_countries"]["EL"] == "GR"  # the EU's code for Greece
    source = _checked_source(out, tmp_path, capsys, schemas)
    rows_read, rows_accepted = _accepted(source, schemas, tmp_path / "work")
    assert rows_read == 9 and rows_accepted >= 8
    assert re.search(r"(Partner|Partenaire) N (naam|nom) \(100 columns", err)  # a hundred columns of partners, one line


# ---------------------------------------------------------------- detection


def test_excel_csv_in_a_belgian_locale_is_detected(tmp_path, capsys, schemas):
    lines = [
        "Code;Titel;Soort;Datum;Land;Uren;Deelnemers",
        "A-1;Leerweek in Gent – ‘Meertaligheid’;Leerweek;03/10/2019;België;2,5;24",
        "A-2;Gastcollege;Gastcollege;25/11/2019;België;1,5;1.250",
        "A-3;Séminaire à Liège;Seminarie;31/01/2020;Belgique;12;8",
    ]
    path = tmp_path / "export.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert draft["csv"] == {"delimiter": ";", "encoding": "cp1252", "decimal": ",", "thousands": "."}
    assert draft["date_format"] == "%d/%m/%Y"
    assert draft["columns"] == {"activity_id": "Code", "title": "Titel", "activity_type": "Soort",
                                "start_date": "Datum", "country": "Land", "contact_hours": "Uren",
                                "participants_total": "Deelnemers"}  # fmt: skip
    assert draft["values"]["activity_type"] == {"Leerweek": "learning_week", "Gastcollege": "guest_lecture",
                                                "Seminarie": "seminar"}  # fmt: skip
    assert draft["values"]["country"] == {"België": "BE", "Belgique": "BE"}
    assert "encoding cp1252" in err and "decimal mark ','" in err and "date format %d/%m/%Y" in err
    source = _checked_source(out, tmp_path, capsys, schemas)
    assert _accepted(source, schemas, tmp_path / "work") == (3, 3)


def test_utf16_and_a_title_above_the_header_are_found(tmp_path, capsys):
    path = tmp_path / "export.csv"
    text = "Export activiteiten 2024\r\n\r\nID\tTitel\tSoort\r\nX-1\tLeerweek in Gent\tLeerweek\r\nX-2\tOver taal\tWorkshop\r\n"
    path.write_text(text, encoding="utf-16")
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert draft["csv"] == {"delimiter": "\t", "encoding": "utf-16"}
    assert draft["columns"] == {"activity_id": "ID", "title": "Titel", "activity_type": "Soort"}
    assert "header row on line 3, not line 1" in err and "the file as it is fails" in err


@pytest.mark.parametrize(
    ("octets", "codec"),
    [
        ("Land;België".encode(), "utf-8"),
        (b"\xef\xbb\xbfLand;Belgi\xc3\xab", "utf-8"),
        ("Land;België".encode("cp1252"), "cp1252"),
        (b"Land;\x81", "latin-1"),  # a byte Windows-1252 leaves undefined
        ("Land;België".encode("utf-16"), "utf-16"),
        ("Land;België".encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_encodings_are_told_apart(octets, codec):
    assert sniff.detect_encoding(octets, True).codec == codec


def test_an_optional_column_that_most_rows_fail_is_left_out(tmp_path, capsys, schemas):
    path = tmp_path / "export.csv"
    path.write_text(
        "id,title,type,start date,country,participants\n"
        + "".join(f"A-{i},Workshop number {i},workshop,2024-01-0{i},BE,many\n" for i in range(1, 6)),
        encoding="utf-8",
    )
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert "participants_total" not in draft["columns"]
    assert re.search(r"^  participants .*-> not mapped: its values fail in 5 of 5 rows \(type\)", err, re.M)
    source = _checked_source(out, tmp_path, capsys, schemas)
    assert _accepted(source, schemas, tmp_path / "work") == (5, 5)


def test_a_large_csv_file_is_profiled_from_its_first_bytes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sample, "MAX_BYTES", 500)
    path = tmp_path / "export.csv"
    path.write_text(
        "id,title,type,start\n" + "".join(f"A-{i},Seminar {i},seminar,2024-02-{i:02}\n" for i in range(1, 29))
    )
    status, out, err = _profile(capsys, path)
    assert status == 0, err
    (draft,) = yaml.safe_load(out)
    assert "csv" not in draft  # UTF-8 and ",": the defaults
    assert draft["columns"] == {"activity_id": "id", "title": "title", "activity_type": "type", "start_date": "start"}
    assert "read its first 500 bytes only (the file is larger)" in err
    rows = int(re.search(r"\(([0-9]+) rows profiled", err)[1])
    assert 5 < rows < 28  # whole lines only: the one cut at byte 500 is left out
    assert "the file as it is fails" not in err


# ---------------------------------------------------------------- refusals


def test_a_missing_file_or_an_unknown_format_is_a_usage_error(tmp_path, capsys):
    status, out, err = _profile(capsys, tmp_path / "nope.csv")
    assert status == 2 and out == "" and err.strip().endswith("nope.csv: no such file")
    shutil.copy(PROJECT_ROOT / "sources.yaml", tmp_path / "x.csv")
    status, out, err = _profile(capsys, tmp_path / "x.csv", "--format", "xml")
    assert status == 2 and "no format 'xml': the formats are csv, json, xlsx, erasmus_plus, iati" in err
    status, out, err = _profile(capsys, tmp_path / "x.csv", "--sheet", "Projecten")
    assert status == 2 and "--sheet names a sheet of a workbook" in err


def test_a_file_no_reader_reads_is_refused_with_status_5(tmp_path, capsys):
    path = tmp_path / "export.xml"
    path.write_text("<export><row/></export>", encoding="utf-8")
    status, out, err = _profile(capsys, path)
    assert status == 5 and out == ""
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith("the file is XML but not IATI activity XML, the one XML format partnerdata reads")
    )
