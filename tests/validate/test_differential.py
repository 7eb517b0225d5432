"""partnerdata's findings equal frictionless-py's on the same CSV and schema.

Each test writes a CSV, validates it with partnerdata's engine (csv_reader + validate_table,
check_foreign_key for a package) and with frictionless-py (error limit raised; a Package where
foreign keys are involved), and compares the sets of (row, field, error type). Tables come from
hypothesis strategies that mix valid cells with wrong ones of every kind the engine checks:
types (string, integer, number, boolean, date, datetime, year, list), formats (email, uri),
missingValues (package-wide and per field), required, unique, minimum/maximum,
minLength/maxLength, pattern, enum, primaryKey (single and composite), foreignKeys,
trueValues/falseValues and decimalChar/groupChar.

Where partnerdata deliberately differs, test_documented_differences pins both answers.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.mapping.formats import FORMATS
from partnerdata.readers import csv_reader
from partnerdata.readers.base import positions_of
from partnerdata.validate.checks import check_foreign_key, validate_table

FRICTIONLESS_TYPE = {"type": "type-error", "primary-key": "primary-key", "unique": "unique-error"}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

# A schema with every type and constraint the engine checks. Patterns stay in the subset of
# regular expressions that RE2 and Python's re read the same way (no \d, no top-level |).
WIDE = {
    "fields": [
        {"name": "seq", "type": "integer", "constraints": {"required": True}},
        {"name": "code", "type": "string", "constraints": {"required": True, "pattern": "[A-Z]{2}-[0-9]{1,4}"}},
        {"name": "name", "type": "string", "constraints": {"minLength": 2, "maxLength": 8}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["alpha", "beta", "gamma"]}},
        {"name": "email", "type": "string", "format": "email"},
        {"name": "site", "type": "string", "format": "uri"},
        {"name": "count", "type": "integer", "constraints": {"minimum": 0, "maximum": 500}},
        {"name": "share", "type": "number", "constraints": {"minimum": 0, "maximum": 1}},
        {
            "name": "amount",
            "type": "number",
            "decimalChar": ",",
            "groupChar": ".",
            "constraints": {"maximum": "1.000,5"},
        },
        {"name": "year", "type": "year", "constraints": {"minimum": 1990, "maximum": 2100}},
        {"name": "day", "type": "date", "constraints": {"minimum": "2000-01-01", "maximum": "2030-12-31"}},
        {"name": "moment", "type": "datetime"},
        {
            "name": "flag",
            "type": "boolean",
            "trueValues": ["ja", "yes"],
            "falseValues": ["nee", "no"],
            "constraints": {"enum": ["ja"]},
        },
        {"name": "plain_flag", "type": "boolean"},
        {"name": "tags", "type": "list", "delimiter": ";", "itemType": "string", "constraints": {"maxLength": 2}},
        {"name": "dmy", "type": "date", "format": "%d/%m/%Y", "constraints": {"minimum": "01/01/2000"}},
        {"name": "ref", "type": "string", "constraints": {"unique": True}},
        {"name": "note", "type": "string", "missingValues": ["-", "n/a"], "constraints": {"required": True}},
        {"name": "level", "type": "integer", "constraints": {"enum": [1, "2", 3]}},
    ],
    "missingValues": ["", "NA"],
    "primaryKey": ["code"],
}

CELLS = {
    "code": ["AB-1", "ZZ-9999", "AB-12", "ab-1", "AB-12345", "A-1", "", "NA", "AB-1 "],
    "name": ["Jo", "Anna", "Benedict", "J", "Bartholomew", "Ünal", "日本語", "", "NA"],
    "kind": ["alpha", "beta", "gamma", "Alpha", "delta", "", "NA"],
    "email": ["a@b.co", "info@vvob.be", "x.y+z@sub.example.org", "a@b", "no-at-sign", "a@@b.be", "é@a.be",
              "a..b@c.de", "x@y.c0m", "", "NA"],
    "site": ["https://example.org/a?b=1", "http://x", "mailto:a@b.be", "urn:isbn:0451450523", "example.org",
             "1http://x", "http://a b", "ht_tp://x", "", "NA"],
    "count": ["0", "7", "500", "501", "-1", " 42 ", "+5", "4.0", "ten", "1e3", "", "NA"],
    "share": ["0", "0.5", "1", "1.5", "-0.1", ".5", "5.", "1e-2", "2,5", " 0.25 ", "abc", "", "NA"],
    "amount": ["1.234,5", "12,75", "1.000", "7", "1,2,3", "12.5", "abc", "", "NA"],
    "year": ["1990", "2024", "2101", "1989", "0999", "24", "20245", "year", "", "NA"],
    "day": ["2019-03-05", "2019-3-5", "2019-02-30", "1999-12-31", "2031-01-01", "05/03/2019", "2019-03-05T10:00",
            "", "NA"],
    "moment": ["2019-03-05T10:00:00", "2019-03-05T10:00:00Z", "2019-03-05T10:00:00+01:00", "2019-03-05T10:00",
               "2019-03-05 10:00:00", "2019-03-05T25:00:00", "2019-03-05", "", "NA"],
    "flag": ["ja", "nee", "yes", "no", "true", "Ja", "", "NA"],
    "plain_flag": ["true", "false", "True", "FALSE", "1", "0", "yes", "", "NA"],
    "tags": ["a;b", "single", "x;y;z", "", "NA"],
    "dmy": ["05/03/2019", "31/12/1999", "2019-03-05", "5/3/2019", "32/01/2020", "", "NA"],
    "ref": ["r1", "r2", "r3", "r4", "", "NA"],
    "note": ["fine", "-", "n/a", "", "NA", "ok"],
    "level": ["1", "2", "3", "4", "0", "x", "", "NA"],
}  # fmt: skip


@pytest.fixture(params=["plain", "dictionary-parallel"])
def engine_path(request, monkeypatch):
    """Small tables take the plain path. The other path is what large files take: text dictionary-encoded
    by the CSV parser (and by coercion), fields checked in parallel. The thresholds are lowered so that
    these small tables take it too."""
    if request.param == "dictionary-parallel":
        from partnerdata.mapping import coercion
        from partnerdata.validate import checks as validation

        monkeypatch.setattr(csv_reader, "SAMPLE_BYTES", 200)
        monkeypatch.setattr(csv_reader, "FEW_DISTINCT", 1.0)
        monkeypatch.setattr(coercion, "SAMPLE_ROWS", 2)
        monkeypatch.setattr(coercion, "FEW_DISTINCT", 1.0)
        monkeypatch.setattr(coercion, "PARALLEL_ROWS", 2)
        monkeypatch.setattr(validation, "PARALLEL_ROWS", 2)
    return request.param


def _bench():
    spec = importlib.util.spec_from_file_location("bench_validate", PROJECT_ROOT / "bench" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _read(path: Path):
    (read,) = csv_reader.read([path], csv_reader.parse_options({}, "test"), ";")
    return read


def _ours(path: Path, descriptor: dict) -> set[tuple[int, str, str]]:
    read = _read(path)
    problems = validate_table(read.table, descriptor).problems
    lines = [int(p.split()[-1]) for p in positions_of(read, [p.row for p in problems])]
    return {
        (line, p.field, FRICTIONLESS_TYPE.get(p.rule, "constraint-error"))
        for p, line in zip(problems, lines, strict=True)
    }


def _theirs(path: Path, descriptor: dict) -> set[tuple[int, str, str]]:
    from frictionless import Resource, Schema

    resource = Resource(path=path.name, basepath=str(path.parent), schema=Schema.from_descriptor(descriptor))
    return _flatten(resource.validate(limit_errors=1_000_000).flatten(["rowNumber", "fieldName", "type"]), descriptor)


def _flatten(errors, descriptor: dict) -> set[tuple[int, str, str]]:
    found = set()
    for row, field, kind in errors:
        if kind == "primary-key":
            field = list(descriptor["primaryKey"])[-1]
        elif kind == "foreign-key":
            field = descriptor["foreignKeys"][0]["fields"][-1]
        found.add((row, field, kind))
    return found


@st.composite
def wide_tables(draw):
    rows = draw(st.integers(min_value=1, max_value=25))
    table = []
    for number in range(rows):
        row = [str(number)]
        for spec in WIDE["fields"][1:]:
            row.append(draw(st.sampled_from(CELLS[spec["name"]])))
        table.append(row)
    return table


@SETTINGS
@given(table=wide_tables())
def test_every_type_and_constraint_agrees_with_frictionless(tmp_path, engine_path, table):
    path = _write(tmp_path / "wide.csv", [f["name"] for f in WIDE["fields"]], table)
    assert _ours(path, WIDE) == _theirs(path, WIDE)


def test_every_cell_of_the_strategies_at_once(tmp_path, engine_path):
    """Every listed cell in one table (row i takes each field's cell i): the findings agree and
    cover every kind of error of the wide schema, so the property test above is not vacuous."""
    longest = max(len(cells) for cells in CELLS.values())
    table = [
        [str(i)] + [CELLS[f["name"]][i % len(CELLS[f["name"]])] for f in WIDE["fields"][1:]] for i in range(longest)
    ]
    path = _write(tmp_path / "wide.csv", [f["name"] for f in WIDE["fields"]], table)
    ours = _ours(path, WIDE)
    assert ours == _theirs(path, WIDE)
    assert {(field, kind) for _, field, kind in ours} >= {
        ("code", "constraint-error"), ("code", "primary-key"), ("name", "constraint-error"),
        ("kind", "constraint-error"), ("email", "type-error"), ("site", "type-error"), ("count", "type-error"),
        ("count", "constraint-error"), ("share", "type-error"), ("share", "constraint-error"),
        ("amount", "type-error"), ("year", "type-error"), ("year", "constraint-error"), ("day", "type-error"),
        ("day", "constraint-error"), ("moment", "type-error"), ("flag", "type-error"), ("plain_flag", "type-error"),
        ("flag", "constraint-error"), ("amount", "constraint-error"), ("tags", "constraint-error"),
        ("dmy", "type-error"), ("dmy", "constraint-error"),
        ("ref", "unique-error"), ("note", "constraint-error"), ("level", "type-error"), ("level", "constraint-error"),
    }  # fmt: skip


COMPOSITE = {
    "fields": [
        {"name": "project_id", "type": "string"},
        {"name": "organisation_id", "type": "string"},
        {"name": "role", "type": "string", "constraints": {"enum": ["coordinator", "partner"]}},
        {"name": "share", "type": "integer"},
    ],
    "primaryKey": ["project_id", "organisation_id", "role"],
}


@SETTINGS
@given(
    table=st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", ""]),
            st.sampled_from(["O1", "O2", ""]),
            st.sampled_from(["coordinator", "partner", "funder", ""]),
            st.sampled_from(["1", "x", ""]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_composite_primary_keys_agree_with_frictionless(tmp_path, engine_path, table):
    """An empty part of a composite key counts as a value; a key with every part empty is a problem of its own."""
    rows = [list(row) for row in table if any(row)]  # an all-empty row is a blank row to frictionless
    if not rows:
        return
    path = _write(tmp_path / "partners.csv", [f["name"] for f in COMPOSITE["fields"]], rows)
    assert _ours(path, COMPOSITE) == _theirs(path, COMPOSITE)


PARENT = {
    "fields": [
        {"name": "project_id", "type": "string", "constraints": {"pattern": "P[0-9]"}},
        {"name": "title", "type": "string", "constraints": {"required": True}},
    ],
    "primaryKey": ["project_id"],
}
CHILD = {
    "fields": [
        {"name": "activity_id", "type": "integer"},
        {"name": "project_id", "type": "string"},
        {"name": "hours", "type": "number", "constraints": {"minimum": 0}},
    ],
    "primaryKey": ["activity_id"],
    "foreignKeys": [{"fields": ["project_id"], "reference": {"resource": "projects", "fields": ["project_id"]}}],
}


@SETTINGS
@given(
    parents=st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "PX", ""]), st.sampled_from(["T", ""])), max_size=6),
    children=st.lists(
        st.tuples(st.sampled_from(["P1", "P2", "P3", "PX", "P9", ""]), st.sampled_from(["1", "-1", "x", ""])),
        min_size=1,
        max_size=20,
    ),
)
def test_foreign_keys_across_the_package_agree_with_frictionless(tmp_path, engine_path, parents, children):
    """The reference is looked up among every row of the parent resource, as frictionless does
    (the pipeline then also drops references to parent rows it rejected: see assemble.py)."""
    from frictionless import Package

    parent_rows = [list(row) for row in parents if any(row)]
    child_rows = [[str(i), project, hours] for i, (project, hours) in enumerate(children)]
    parent_path = _write(tmp_path / "projects.csv", ["project_id", "title"], parent_rows)
    child_path = _write(tmp_path / "activities.csv", ["activity_id", "project_id", "hours"], child_rows)

    parent = validate_table(_read(parent_path).table, PARENT)
    child_read = _read(child_path)
    child = validate_table(child_read.table, CHILD)
    problems = child.problems + check_foreign_key(child.table, ["project_id"], parent.table, ["project_id"], "projects")
    lines = [int(p.split()[-1]) for p in positions_of(child_read, [p.row for p in problems])]
    ours = {(line, p.field, FRICTIONLESS_TYPE.get(p.rule, p.rule if p.rule == "foreign-key" else "constraint-error"))
            for p, line in zip(problems, lines, strict=True)}  # fmt: skip

    package = Package(
        {
            "resources": [
                {"name": "projects", "path": "projects.csv", "schema": PARENT},
                {"name": "activities", "path": "activities.csv", "schema": CHILD},
            ]
        },
        basepath=str(tmp_path),
    )
    report = package.validate(limit_errors=1_000_000)
    (task,) = [task for task in report.tasks if task.name == "activities"]
    theirs = _flatten([(e.row_number, getattr(e, "field_name", None), e.type) for e in task.errors], CHILD)
    assert ours == theirs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_benchmark_tables_agree_with_frictionless(tmp_path, seed):
    """The benchmark's generator: activity rows with 18 kinds of injected errors, the real activities schema."""
    bench = _bench()
    path = tmp_path / "activities.csv"
    bench.generate(path, 3000, seed=seed)
    ours, theirs = bench.partnerdata_findings(path), bench.frictionless_findings(path)
    assert len(theirs) > 10  # errors were injected
    assert ours == theirs


# (field descriptor, cell, partnerdata's finding, frictionless-py's finding); None: no finding.
DIFFERENCES = [
    # A year is four ASCII digits (XML Schema gYear); frictionless takes any 4 characters int() reads.
    ({"type": "year"}, " 201", "type-error", None),
    ({"type": "year"}, "+201", "type-error", None),
    # Python's int() and Decimal() read digit-group underscores; a partner file never means them.
    ({"type": "integer"}, "1_000", "type-error", None),
    ({"type": "number"}, "1_000.5", "type-error", None),
    # Not-a-number and infinities are not data; a number beyond a float's range is refused, not inf.
    ({"type": "number"}, "NaN", "type-error", None),
    ({"type": "number"}, "Infinity", "type-error", None),
    ({"type": "number"}, "1e400", "type-error", None),
    # Digits are ASCII; Python's int() and Decimal() also read other scripts' digits.
    ({"type": "integer"}, "\u0661\u0662\u0663", "type-error", None),
    ({"type": "number"}, "\u0661.5", "type-error", None),
    # Integers up to 18 digits (int64); frictionless has Python's unbounded int.
    ({"type": "integer"}, "1234567890123456789", "type-error", None),
    # The whole pattern is anchored, as the spec says; frictionless writes ^a|b$, which anchors
    # only the first alternative's start and the last one's end.
    ({"type": "string", "constraints": {"pattern": "AB|CD"}}, "ABX", "constraint-error", None),
    # A multi-valued cell's empty items are dropped, so a cell of separators only is empty.
    ({"type": "list", "delimiter": ";", "itemType": "string", "constraints": {"required": True}}, ";",
     "constraint-error", None),
]  # fmt: skip


@pytest.mark.parametrize("field,cell,ours_expected,theirs_expected", DIFFERENCES)
def test_documented_differences(tmp_path, field, cell, ours_expected, theirs_expected):
    """Where partnerdata deliberately differs from frictionless-py, both answers are pinned here,
    so that a change on either side shows."""
    descriptor = {"fields": [{"name": "n", "type": "integer"}, {"name": "value", **field}]}
    path = _write(tmp_path / "one.csv", ["n", "value"], [["1", cell]])
    ours = {kind for _, name, kind in _ours(path, descriptor) if name == "value"}
    theirs = {kind for _, name, kind in _theirs(path, descriptor) if name == "value"}
    assert ours == ({ours_expected} if ours_expected else set())
    assert theirs == ({theirs_expected} if theirs_expected else set())


def test_a_time_without_a_zone_is_read_as_utc(tmp_path):
    """Published times are on one scale, UTC: 10:00 without a zone is 10:00Z, so a unique field sees
    a repeat; frictionless keeps a time without a zone apart from every time with one."""
    descriptor = {
        "fields": [
            {"name": "n", "type": "integer"},
            {"name": "at", "type": "datetime", "constraints": {"unique": True}},
        ]
    }
    path = _write(tmp_path / "times.csv", ["n", "at"], [["1", "2020-01-01T10:00:00"], ["2", "2020-01-01T10:00:00Z"]])
    assert _ours(path, descriptor) == {(3, "at", "unique-error")}
    assert _theirs(path, descriptor) == set()


def test_a_malformed_row_is_one_finding_where_frictionless_reports_its_cells(tmp_path):
    """A row with too few or too many cells is rejected whole, with one row-shape finding; frictionless
    reports a missing-cell or extra-cell error and checks the cells it has."""
    path = tmp_path / "shape.csv"
    path.write_text("n,value\n1,a\n2\n3,b,extra\n", encoding="utf-8")
    read = _read(path)
    assert [position for position, _, _ in read.problems] == ["line 3", "line 4"]
    assert read.table.num_rows == 1
    theirs = _theirs(path, {"fields": [{"name": "n", "type": "integer"}, {"name": "value", "type": "string"}]})
    assert {(row, kind) for row, _, kind in theirs} == {(3, "missing-cell"), (4, "extra-cell")}


# Formats: Arrow decides most values with two regular expressions and sends the rest to the
# reference check (validators, rfc3986). The expressions must never contradict the reference.
EMAILISH = st.from_regex(r"[a-zA-Z0-9._+\-éü@\"!]{1,12}@[a-zA-Z0-9.\-_é]{1,15}", fullmatch=True)
URIISH = st.from_regex(r"[a-zA-Z0-9+.\-_ ]{0,8}:[a-zA-Z0-9/._~%!$&'()*+,;=:@?# \-é\[\]]{0,30}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(EMAILISH, st.text(max_size=20)))
def test_the_email_expressions_never_contradict_the_reference(value):
    _agrees_with_reference("email", value)


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(URIISH, st.text(max_size=20)))
def test_the_uri_expressions_never_contradict_the_reference(value):
    _agrees_with_reference("uri", value)


def _agrees_with_reference(name: str, value: str) -> None:
    import re

    form = FORMATS[name]
    if len(value) <= form.max_fast_length and re.search(form.surely_valid, value):
        assert form.reference(value), f"{value!r} matches the surely-valid expression but is not a valid {name}"
    if form.reference(value):
        assert re.search(form.maybe_valid, value), f"{value!r} is a valid {name} but fails the maybe-valid expression"
    assert form(pa.array([value], pa.string())).to_pylist() == [form.reference(value)]
