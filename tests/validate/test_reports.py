"""A partner file with every kind of error yields a report that names each problem.

The private rejected.csv has one line per problem (source, file, position, field, original value,
rule, message); report.md is a letter a maintainer can send: counts per kind, examples, how to fix;
validation.json has counts and positions, never a value.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from partnerdata.config.sources import load_config
from partnerdata.validate.across import assemble
from partnerdata.validate.reports import SourceOutcome, validation_summary, write_private_reports
from partnerdata.validate.source import prepare_source, read_findings
from tests.conftest import dump_yaml

HEADER = "id,type,title,start,end,country,total,international,hours,project\n"
GOOD = "2019-1-BE02-KA101-000001"
# position -> (field, value, rule): one line per kind of error
EXPECTED = {
    "line 3": ("title", "", "required"),
    "line 4": ("start_date", "31/02/2020", "type"),
    "line 5": ("participants_total", "ten", "type"),
    "line 6": ("contact_hours", "2,5h", "type"),
    "line 7": ("activity_type", "lecture", "enum"),
    "line 8": ("activity_id", "#A-8", "pattern"),
    "line 9": ("participants_total", "-4", "minimum"),
    "line 10": ("participants_total", "100001", "maximum"),
    "line 11": ("title", "ab", "minLength"),
    "line 12": ("title", "x" * 301, "maxLength"),
    "line 13": ("activity_id", "A-1", "primary-key"),
    "line 14": ("end_date", "2020-01-01", "end-not-before-start"),
    "line 15": ("participants_total", "5", "international-within-total"),
    "line 16": ("project_id", "2019-1-BE02-KA101-000009", "foreign-key"),
    "line 17": ("start_date", "2018-01-01", "inside-project-dates"),
    "line 18": ("", "A-18,workshop,Extra cell,2020-01-01,2020-01-01,BE,10,2,1,,surplus", "row-shape"),
}
ROWS = [
    f"A-1,workshop,A good row,2020-01-01,2020-01-02,BE,10,2,1.5,{GOOD}",
    "A-3,workshop,,2020-01-01,2020-01-01,BE,10,2,1,",
    "A-4,workshop,Bad date,31/02/2020,2020-01-01,BE,10,2,1,",
    "A-5,workshop,Bad integer,2020-01-01,2020-01-01,BE,ten,2,1,",
    'A-6,workshop,Bad number,2020-01-01,2020-01-01,BE,10,2,"2,5h",',
    "A-7,lecture,Unknown type,2020-01-01,2020-01-01,BE,10,2,1,",
    "#A-8,workshop,Bad identifier,2020-01-01,2020-01-01,BE,10,2,1,",
    "A-9,workshop,Negative count,2020-01-01,2020-01-01,BE,-4,,1,",
    "A-10,workshop,Too many,2020-01-01,2020-01-01,BE,100001,2,1,",
    "A-11,workshop,ab,2020-01-01,2020-01-01,BE,10,2,1,",
    f"A-12,workshop,{'x' * 301},2020-01-01,2020-01-01,BE,10,2,1,",
    "A-1,workshop,Same identifier,2020-01-01,2020-01-01,BE,10,2,1,",
    "A-14,workshop,Ends before it starts,2020-02-01,2020-01-01,BE,10,2,1,",
    "A-15,workshop,More international than all,2020-01-01,2020-01-01,BE,5,6,1,",
    "A-16,workshop,Unknown project,2020-01-01,2020-01-01,BE,10,2,1,2019-1-BE02-KA101-000009",
    f"A-17,workshop,Before its project,2018-01-01,2018-01-02,BE,10,2,1,{GOOD}",
    "A-18,workshop,Extra cell,2020-01-01,2020-01-01,BE,10,2,1,,surplus",
]


def _project(tmp_path: Path, schemas):
    (tmp_path / "college.csv").write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    (tmp_path / "projects.csv").write_text(f"id,title,start,end\n{GOOD},Project,2019-09-01,2021-08-31\n")
    organisation = {"id": "ORG-1", "name": "Partner", "country": "BE"}
    sources = [
        {
            "source_id": "projects", "organisation": organisation, "url": "projects.csv", "format": "csv",
            "resource": "projects", "constants": {"programme": "erasmus_plus"},
            "columns": {"project_id": "id", "title": "title", "start_date": "start", "end_date": "end"},
        },
        {
            "source_id": "college", "organisation": organisation, "url": "college.csv", "format": "csv",
            "resource": "activities", "constants": {"programme": "enspired"},
            "columns": {
                "activity_id": "id", "activity_type": "type", "title": "title", "start_date": "start",
                "end_date": "end", "country": "country", "participants_total": "total",
                "participants_international": "international", "contact_hours": "hours", "project_id": "project",
            },
        },
    ]  # fmt: skip
    (tmp_path / "sources.yaml").write_text(dump_yaml({"sources": sources}), encoding="utf-8")
    return load_config(tmp_path / "sources.yaml", schemas, environ={})


def test_a_file_with_every_kind_of_error_gets_a_report_that_names_each_problem(schemas, tmp_path):
    config = _project(tmp_path, schemas)
    prepared = [prepare_source(s, [Path(s.url)], schemas, tmp_path / "work") for s in config.sources]
    assembly = assemble(config, schemas, prepared)
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    outcomes = []
    for source, prepared_source in zip(config.sources, prepared, strict=True):
        findings = read_findings(prepared_source.findings)
        findings += [f for f in assembly.findings if f.source_id == source.source_id]
        outcomes.append(
            SourceOutcome(source, "fetched", None, None, "0" * 64, now, now, prepared_source.rows_read, findings, {})
        )
    run_dir = write_private_reports(outcomes, [], tmp_path / "reports", now)

    # rejected.csv: one line per problem, with the file, position, field, original value, rule and message.
    with open(run_dir / "college" / "rejected.csv", encoding="utf-8") as lines:
        rejected = list(csv.DictReader(lines))
    assert {r["position"]: (r["field"], r["value"], r["rule"]) for r in rejected} == EXPECTED
    assert len(rejected) == len(EXPECTED)
    assert all(r["source_id"] == "college" and r["file"] == "college.csv" and r["message"] for r in rejected)
    by_rule = {r["rule"]: r["message"] for r in rejected}
    assert (
        "not in projects.project_id" in by_rule["foreign-key"] and "2019-1-BE02-KA101-000009" in by_rule["foreign-key"]
    )
    assert "runs 2019-09-01 to 2021-08-31" in by_rule["inside-project-dates"]

    # report.md: every problem by its position, the count per kind, and how to fix each kind.
    letter = (run_dir / "college" / "report.md").read_text(encoding="utf-8")
    assert "Rows read: 17; accepted: 1; rejected: 16" in letter
    for position, (_field, _, rule) in EXPECTED.items():
        assert f"| {position} |" in letter, position
        assert f"rule `{rule}`" in letter, rule
    assert letter.count("How to fix:") == len({(f, r) for f, _, r in EXPECTED.values()})
    assert "sources.yaml" not in letter  # maintainer hints stay in rejected.csv

    # validation.json: counts and positions, never a rejected value.
    summary = validation_summary(outcomes, [], now)
    college = next(s for s in summary["sources"] if s["source_id"] == "college")
    assert college["rows_rejected"] == 16 and college["problems"]["total"] == len(EXPECTED)
    assert set(college["rejected_positions"]) == set(EXPECTED)
    text = json.dumps(summary)
    for _, value, _ in EXPECTED.values():
        if len(value) > 3:
            assert value not in text, value
