"""Every kind of bad record is rejected with its reason (row, field, value, rule), never dropped silently."""

from __future__ import annotations

from pathlib import Path

import yaml

from partnerdata.config.sources import load_config
from partnerdata.validate.across import assemble
from partnerdata.validate.source import prepare_source, read_findings, read_staged
from tests.conftest import dump_yaml

HEADER = "id,type,title,theme,start,end,country,participants,international,project,organiser\n"


def _sources(tmp_path: Path, files: dict[str, str]) -> Path:
    """One activities source per CSV text, in order; a projects source named 'projects' if given."""
    entries = []
    for source_id, text in files.items():
        (tmp_path / f"{source_id}.csv").write_text(text, encoding="utf-8")
        entry = {
            "source_id": source_id,
            "organisation": {"id": f"ORG-{source_id.upper()}", "name": f"Partner {source_id}", "country": "BE"},
            "url": f"{source_id}.csv",
            "format": "csv",
            "resource": "projects" if source_id == "projects" else "activities",
        }
        if source_id == "projects":
            entry["columns"] = {"project_id": "id", "title": "title", "start_date": "start", "end_date": "end"}
            entry["constants"] = {"programme": "erasmus_plus"}
        else:
            entry["columns"] = {
                "activity_id": "id", "activity_type": "type", "title": "title", "theme": "theme", "start_date": "start",
                "end_date": "end", "country": "country", "participants_total": "participants",
                "participants_international": "international", "project_id": "project",
            }  # fmt: skip
            entry["values"] = {"theme": {"Meertaligheid": "multilingualism"}}
            entry["constants"] = {"programme": "enspired"}
        entries.append(entry)
    path = tmp_path / "sources.yaml"
    path.write_text(dump_yaml({"sources": entries}), encoding="utf-8")
    return path


def _check(schemas, tmp_path: Path, files: dict[str, str]):
    config = load_config(_sources(tmp_path, files), schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, tmp_path / "work") for s in config.sources]
    local = {p.source_id: read_findings(p.findings) for p in prepared}
    assembly = assemble(config, schemas, prepared)
    return prepared, local, assembly


def _flat(findings) -> set[tuple]:
    return {(f.position, f.field, f.value, f.rule) for f in findings}


def test_each_kind_of_bad_record_is_rejected_with_its_reason(schemas, tmp_path):
    rows = [
        "A-1,workshop,Fine row,Meertaligheid,2020-01-01,2020-01-02,BE,10,2,,",
        "A-2,workshop,,multilingualism,2020-01-01,2020-01-02,BE,10,2,,",  # required title missing
        "A-3,workshop,Unknown theme,Burgerschap,2020-01-01,2020-01-02,BE,10,2,,",  # unmapped label
        "A-4,workshop,Ends before it starts,,2020-01-05,2020-01-02,BE,10,2,,",  # row rule
        "A-1,seminar,Duplicate id,,2020-02-01,2020-02-01,BE,10,2,,",  # duplicate primary key
        "A-6,workshop,Wrong project id,,2020-01-01,2020-01-01,BE,10,2,2018-BE02-KA101-4678,",  # pattern
        "A-7,workshop,Not a date,,31/02/2020,2020-01-01,BE,10,2,,",  # type: original value kept
        "A-8,lecture,Unknown type,,2020-01-01,2020-01-01,XX,ten,12,,",  # enum, enum, type, count rule
    ]
    prepared, local, assembly = _check(schemas, tmp_path, {"college": HEADER + "\n".join(rows) + "\n"})
    assert _flat(local["college"]) == {
        ("line 3", "title", "", "required"),
        ("line 4", "theme", "Burgerschap", "enum"),
        ("line 5", "end_date", "2020-01-02", "end-not-before-start"),
        ("line 6", "activity_id", "A-1", "primary-key"),
        ("line 7", "project_id", "2018-BE02-KA101-4678", "pattern"),
        ("line 8", "start_date", "31/02/2020", "type"),
        ("line 9", "activity_type", "lecture", "enum"),
        ("line 9", "country", "XX", "enum"),
        ("line 9", "participants_total", "ten", "type"),
    }
    messages = {f.rule: f.message for f in local["college"]}
    assert "add it under values.theme in sources.yaml" in next(f.hint for f in local["college"] if f.field == "theme")
    assert messages["end-not-before-start"] == "the end date is before the start date"
    assert "appears in an earlier row" in messages["primary-key"]
    assert "2018-1-BE02-KA101-046789" in messages["pattern"]  # the description shows the expected shape
    assert messages["type"].startswith("not ")
    assert prepared[0].rows_read == 8 and prepared[0].rows_accepted == 1
    assert assembly.tables["activities"].column("activity_id").to_pylist() == ["A-1"]


def test_the_count_rule_compares_two_fields(schemas, tmp_path):
    rows = ["B-1,workshop,Too many international,,2020-01-01,2020-01-01,BE,10,12,,"]
    _, local, _ = _check(schemas, tmp_path, {"college": HEADER + "\n".join(rows) + "\n"})
    assert _flat(local["college"]) == {("line 2", "participants_total", "10", "international-within-total")}


def test_a_key_used_by_an_earlier_source_is_a_primary_key_problem_of_the_later_one(schemas, tmp_path):
    first = HEADER + "C-1,workshop,From the first source,,2020-01-01,2020-01-01,BE,10,2,,\n"
    second = (
        HEADER
        + "C-1,seminar,Same id elsewhere,,2020-03-01,2020-03-01,NL,10,2,,\nC-2,seminar,Own id,,2020-03-01,2020-03-01,NL,5,1,,\n"
    )
    _, _, assembly = _check(schemas, tmp_path, {"first": first, "second": second})
    assert _flat(assembly.findings) == {("line 2", "activity_id", "C-1", "primary-key")}
    assert assembly.findings[0].source_id == "second"
    published = assembly.tables["activities"].to_pylist()
    assert [(r["activity_id"], r["source_id"]) for r in published] == [("C-1", "first"), ("C-2", "second")]


def test_a_reference_to_a_rejected_project_is_a_foreign_key_problem(schemas, tmp_path):
    projects = "id,title,start,end\n2019-1-BE02-KA101-000001,Good project,2019-09-01,2021-08-31\n2019-1-BE02-KA101-000002,,2019-09-01,2021-08-31\n"
    activities = HEADER + (
        "D-1,workshop,Part of the good project,,2020-01-01,2020-01-01,BE,10,2,2019-1-BE02-KA101-000001,\n"
        "D-2,workshop,Part of the rejected project,,2020-01-01,2020-01-01,BE,10,2,2019-1-BE02-KA101-000002,\n"
        "D-3,workshop,Part of an unknown project,,2020-01-01,2020-01-01,BE,10,2,2019-1-BE02-KA101-000003,\n"
    )
    _, local, assembly = _check(schemas, tmp_path, {"projects": projects, "college": activities})
    assert _flat(local["projects"]) == {("line 3", "title", "", "required")}
    assert _flat(assembly.findings) == {
        ("line 3", "project_id", "2019-1-BE02-KA101-000002", "foreign-key"),
        ("line 4", "project_id", "2019-1-BE02-KA101-000003", "foreign-key"),
    }
    assert "not in projects.project_id" in assembly.findings[0].message
    assert assembly.tables["activities"].column("activity_id").to_pylist() == ["D-1"]


def test_an_activity_outside_its_projects_dates_is_rejected_by_the_cross_resource_rule(schemas, tmp_path):
    projects = "id,title,start,end\n2019-1-BE02-KA101-000001,Project,2019-09-01,2021-08-31\n2019-1-BE02-KA101-000002,Open,2019-09-01,\n"
    activities = HEADER + (
        "E-1,workshop,Inside,,2020-01-01,2020-01-02,BE,10,2,2019-1-BE02-KA101-000001,\n"
        "E-2,workshop,Starts before,,2019-08-31,2019-09-02,BE,10,2,2019-1-BE02-KA101-000001,\n"
        "E-3,workshop,Ends after,,2021-08-30,2021-09-01,BE,10,2,2019-1-BE02-KA101-000001,\n"
        "E-4,workshop,Open-ended project,,2030-01-01,2030-01-01,BE,10,2,2019-1-BE02-KA101-000002,\n"
        "E-5,workshop,No project,,2030-01-01,,BE,10,2,,\n"
    )
    _, _, assembly = _check(schemas, tmp_path, {"projects": projects, "college": activities})
    assert _flat(assembly.findings) == {
        ("line 3", "start_date", "2019-08-31", "inside-project-dates"),
        ("line 4", "start_date", "2021-08-30", "inside-project-dates"),
    }
    assert "projects '2019-1-BE02-KA101-000001' runs 2019-09-01 to 2021-08-31" in assembly.findings[0].message
    assert assembly.tables["activities"].column("activity_id").to_pylist() == ["E-1", "E-4", "E-5"]


def test_the_same_organisation_from_two_sources_is_merged_and_a_conflict_reported(schemas, tmp_path):
    sources = _sources(tmp_path, {"first": HEADER, "second": HEADER})
    document = yaml.safe_load(sources.read_text())
    document["sources"][0]["organisation"] = {"id": "ORG-X", "name": "Org X", "country": "BE", "city": "Gent"}
    document["sources"][1]["organisation"] = {
        "id": "ORG-X",
        "name": "Org X",
        "country": "BE",
        "city": "Ghent",
        "region": "Oost-Vlaanderen",
    }
    sources.write_text(dump_yaml(document))
    config = load_config(sources, schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, tmp_path / "work") for s in config.sources]
    assembly = assemble(config, schemas, prepared)
    assert assembly.tables["organisations"].to_pylist() == [
        {"organisation_id": "ORG-X", "source_id": "first", "name": "Org X", "organisation_type": None,
         "city": "Gent", "region": "Oost-Vlaanderen", "country": "BE"},
    ]  # fmt: skip
    assert assembly.conflicts == [
        {"organisation_id": "ORG-X", "kept_from": "first", "other_source": "second",
         "other_position": "sources.yaml organisation block", "fields": {"city": {"kept": "Gent", "other": "Ghent"}}},
    ]  # fmt: skip


def test_accepted_rows_keep_their_position_in_the_partner_file(schemas, tmp_path):
    rows = ["E-1,workshop,,,2020-01-01,2020-01-01,BE,1,0,,", "E-2,workshop,Kept,,2020-01-01,2020-01-01,BE,1,0,,"]
    prepared, _, _ = _check(schemas, tmp_path, {"college": HEADER + "\n".join(rows) + "\n"})
    staged = read_staged(prepared[0].staged["activities"]).to_pylist()
    assert [(r["activity_id"], r["_position"], r["_row"]) for r in staged] == [("E-2", "line 3", 1)]


def test_numbers_in_a_partner_locale_are_read_strictly():
    import pyarrow as pa

    from partnerdata.mapping.coercion import Dialect, coerce_table

    text = pa.table({"n": ["+5", "1.250", "2.5", "1e400", "12,5", "1.234.567,5", "7"]})
    coerced = coerce_table(text, [{"name": "n", "type": "number"}], [""], Dialect(decimal=",", thousands="."))
    assert coerced.table.column("n").to_pylist() == [5.0, 1250.0, None, None, 12.5, 1234567.5, 7.0]
    assert coerced.failures["n"].to_pylist() == [False, False, True, True, False, False, False]


def test_unique_ignores_empty_values_and_flags_repeats():
    import pyarrow as pa

    from partnerdata.validate.checks import check_unique

    table = pa.table({"k": ["a", None, "b", None, "a"], "m": ["x", "y", "x", "y", "x"]})
    assert [p.row for p in check_unique(table, ["k"], "unique")] == [4]
    # As frictionless does it: in a primary key, an empty part of the key is a value like any other.
    assert [p.row for p in check_unique(table, ["k", "m"])] == [3, 4]
    empty = pa.table({"k": ["a", None, None]})
    assert [(p.row, p.message) for p in check_unique(empty, ["k"])] == [
        (1, "the key (k) is empty"),
        (2, "the key (k) is empty"),
    ]
