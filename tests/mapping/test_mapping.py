"""Each demo format is read and mapped to the canonical columns as sources.yaml declares."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.sources import load_config
from partnerdata.errors import PartnerFileError
from partnerdata.mapping.columns import SchemaDrift
from partnerdata.validate.source import prepare_source, read_findings, read_staged
from tests.conftest import dump_yaml


def _prepare(schemas, tmp_path: Path, source_id: str, sources_file: Path = PROJECT_ROOT / "sources.yaml"):
    config = load_config(sources_file, schemas, environ={})
    source = config.source(source_id)
    prepared = prepare_source(source, [Path(source.url)], schemas, tmp_path / "work")
    rows = {row["_position"]: row for row in read_staged(prepared.staged[source.resource]).to_pylist()}
    return prepared, rows, read_findings(prepared.findings)


def _by_id(rows: dict, key: str, value: str) -> dict:
    return next(row for row in rows.values() if row[key] == value)


def test_dutch_locale_csv(schemas, tmp_path):
    """Semicolons, Windows-1252, dd/mm/yyyy, decimal commas, Dutch labels, comma-separated lists."""
    prepared, rows, _ = _prepare(schemas, tmp_path, "hzk-leerweken")
    assert prepared.rows_read == 120
    first = rows["line 2"]
    assert first == first | {
        "activity_id": "HZK-2015-001",
        "source_id": "hzk-leerweken",
        "programme": "enspired",
        "activity_type": "guest_lecture",
        "title": "Ouderbetrokkenheid in een diverse school: ervaringen uit Rwanda",
        "theme": "intercultural_pedagogy",
        "start_date": dt.date(2015, 3, 6),
        "end_date": dt.date(2015, 3, 6),
        "country": "BE",
        "organiser_id": "DEMO-HZK",
        "target_groups": ["teacher_educators", "student_teachers"],
        "partner_countries": ["RW", "IN"],
        "participants_total": 178,
        "participants_international": 6,
        "contact_hours": 2.5,
        "project_id": None,
    }
    assert "ideeën" in first["description"]  # cp1252 é/ë decoded
    assert (
        rows["line 3"]["title"] == "Seminarie \u2018Ouderbetrokkenheid in een diverse school\u2019"
    )  # cp1252 curly quotes
    learning_week = _by_id(rows, "activity_id", "HZK-2017-002")
    assert learning_week["country"] == "PE"
    assert learning_week["project_id"] == "2016-1-BE02-KA107-022418"
    assert "Contactpersoon" not in json.dumps(list(rows.values())[0], default=str)


def test_utf8_csv_with_byte_order_mark(schemas, tmp_path):
    prepared, rows, _ = _prepare(schemas, tmp_path, "btc-guest-lectures")
    assert prepared.detected == {"byte_order_mark": True}
    first = rows["line 2"]
    assert first["activity_id"] == "BTC-GL-2016-01"  # the BOM is not part of the first header
    assert first["title"] == "Assessment for learning, with a guest from Vietnam"  # quoted comma
    assert first["theme"] is None  # an empty optional cell is missing, not an error
    assert first["contact_hours"] == 1.5
    assert rows["line 3"]["partner_countries"] == ["VN", "KE", "BO"]


def test_json_export_with_nested_objects_and_arrays(schemas, tmp_path):
    prepared, rows, _ = _prepare(schemas, tmp_path, "wereldschool-activities")
    first = rows["data.activities[0]"]
    assert first == first | {
        "activity_id": "WS-2016-001",
        "activity_type": "workshop",
        "start_date": dt.date(2016, 1, 5),
        "end_date": dt.date(2016, 1, 9),
        "city": "Nairobi",
        "country": "KE",
        "target_groups": ["pedagogical_counsellors"],
        "partner_countries": ["BE"],
        "participants_total": 31,
        "participants_international": 3,
        "programme": "other",
        "organiser_id": "DEMO-WERELDSCHOOL",
    }
    assert "fien.desmet" not in json.dumps(list(rows.values()), default=str)  # contact block not mapped


def test_xlsx_sheets_with_typed_cells(schemas, tmp_path):
    _, projects, _ = _prepare(schemas, tmp_path, "na-projecten")
    project = projects["sheet Projecten row 2"]
    assert project == project | {
        "project_id": "2014-1-BE02-KA101-004108",
        "programme": "erasmus_plus",
        "key_action": "ka1",
        "sector": "school_education",
        "call_year": 2014,
        "status": "completed",
        "start_date": dt.date(2014, 6, 1),
        "end_date": dt.date(2016, 5, 31),
        "eu_grant_eur": 73771.19,
        "coordinator_id": "E10099147",
        "participating_countries": ["BE"],
    }
    _, organisations, _ = _prepare(schemas, tmp_path, "na-organisaties")
    assert organisations["sheet Organisaties row 2"]["organisation_type"] == "teacher_education_college"
    _, partners, _ = _prepare(schemas, tmp_path, "na-partners")
    assert partners["sheet Partners row 3"] == partners["sheet Partners row 3"] | {
        "organisation_id": "E10308215",
        "role": "partner",
    }


def _own_source(tmp_path: Path, filename: str, content: bytes, **entry) -> Path:
    (tmp_path / filename).write_bytes(content)
    base = {
        "source_id": "own",
        "organisation": {"id": "ORG-OWN", "name": "Own College", "country": "BE"},
        "url": filename,
        "resource": "activities",
    }
    path = tmp_path / "sources.yaml"
    path.write_text(dump_yaml({"sources": [base | entry]}, allow_unicode=True), encoding="utf-8")
    return path


ACTIVITY_COLUMNS = {
    "activity_id": "Nr", "activity_type": "Soort", "title": "Titel", "start_date": "Van",
    "country": "Land", "contact_hours": "Uren", "participants_total": "Deelnemers",
}  # fmt: skip


def test_thousands_separator_decimal_comma_and_local_dates(schemas, tmp_path):
    content = (
        "Nr;Soort;Titel;Van;Land;Uren;Deelnemers\r\n"
        "A-1;workshop;Één dag;3/10/2019;BE;12,5;1.200\r\n"
        "A-2;workshop;Twee;2019-10-04;BE;7;12\r\n"
    ).encode("cp1252")
    sources = _own_source(
        tmp_path, "own.csv", content, format="csv", columns=ACTIVITY_COLUMNS, constants={"programme": "enspired"},
        csv={"delimiter": ";", "encoding": "cp1252", "decimal": ",", "thousands": "."}, date_format="%d/%m/%Y",
    )  # fmt: skip
    prepared, rows, findings = _prepare(schemas, tmp_path, "own", sources)
    assert findings == []
    assert rows["line 2"]["title"] == "Één dag"
    assert rows["line 2"]["contact_hours"] == 12.5
    assert rows["line 2"]["participants_total"] == 1200
    assert rows["line 2"]["start_date"] == dt.date(2019, 10, 3)
    assert rows["line 3"]["start_date"] == dt.date(2019, 10, 4)  # ISO is always accepted


def test_json_record_path_errors_name_what_was_found(schemas, tmp_path):
    content = json.dumps({"data": {"items": []}}).encode()
    sources = _own_source(
        tmp_path,
        "own.json",
        content,
        format="json",
        columns={"activity_id": "id"},
        json={"record_path": "data.activities"},
    )
    with pytest.raises(PartnerFileError, match="no key 'activities' under 'data' \\(found: items\\)"):
        _prepare(schemas, tmp_path, "own", sources)


def test_xlsx_dates_numbers_and_text_cells(schemas, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Lijst"
    sheet.append(["Nr", "Soort", "Titel", "Van", "Land", "Uren", "Deelnemers"])
    sheet.append(["X-1", "seminar", "Typed cells", dt.datetime(2020, 2, 1), "BE", 2.5, 40])
    sheet.append([None] * 7)  # an empty row is skipped
    sheet.append(["X-2", "seminar", "Text cells", "2020-02-03", "NL", "3", "41"])
    workbook.save(tmp_path / "own.xlsx")
    sources = _own_source(
        tmp_path, "own.xlsx", (tmp_path / "own.xlsx").read_bytes(), format="xlsx", columns=ACTIVITY_COLUMNS,
        constants={"programme": "erasmus_plus"}, xlsx={"sheet": "Lijst"},
    )  # fmt: skip
    _, rows, findings = _prepare(schemas, tmp_path, "own", sources)
    assert findings == []
    assert rows["sheet Lijst row 2"]["start_date"] == dt.date(2020, 2, 1)
    assert rows["sheet Lijst row 2"]["contact_hours"] == 2.5
    assert rows["sheet Lijst row 4"]["participants_total"] == 41


def test_a_missing_mapped_column_is_schema_drift_naming_the_columns(schemas, tmp_path):
    content = b"Nr,Kind,Titel\nA-1,workshop,Hello\n"
    sources = _own_source(
        tmp_path,
        "own.csv",
        content,
        format="csv",
        columns={"activity_id": "Nr", "activity_type": "Soort", "title": "Titel"},
    )
    with pytest.raises(
        SchemaDrift, match="the column\\(s\\) 'Soort' that we read are missing; columns we do not read: 'Kind'"
    ):
        _prepare(schemas, tmp_path, "own", sources)


def test_a_wrong_encoding_is_named(schemas, tmp_path):
    content = "Nr,Titel\nA-1,Café\n".encode("cp1252")
    sources = _own_source(tmp_path, "own.csv", content, format="csv", columns={"activity_id": "Nr", "title": "Titel"})
    with pytest.raises(PartnerFileError, match="not valid utf-8 .*set csv.encoding"):
        _prepare(schemas, tmp_path, "own", sources)


def test_csv_positions_count_blank_lines_and_cells_that_span_lines(tmp_path):
    from partnerdata.readers import READERS
    from partnerdata.readers.base import position_list

    (tmp_path / "own.csv").write_bytes(b'Nr,Titel\nA-1,First\n\nA-2,"Two\nlines"\nA-3,Third\n')
    options = READERS["csv"].parse_options({}, "test")
    (read,) = READERS["csv"].read([tmp_path / "own.csv"], options, ";")
    assert dict(zip(position_list(read), read.table.column("Nr").to_pylist(), strict=True)) == {
        "line 2": "A-1", "line 4": "A-2", "line 6": "A-3",
    }  # fmt: skip


def test_a_row_with_the_wrong_number_of_cells_is_rejected_not_fatal(schemas, tmp_path):
    content = b"Nr;Soort;Titel;Van;Land;Uren;Deelnemers\nA-1;workshop;Fine;2019-10-03;BE;2;12\nA-2;workshop;Short row\nA-3;workshop;Also fine;2019-10-04;BE;3;13\n"
    sources = _own_source(
        tmp_path, "own.csv", content, format="csv", columns=ACTIVITY_COLUMNS, constants={"programme": "enspired"},
        csv={"delimiter": ";"},
    )  # fmt: skip
    prepared, rows, findings = _prepare(schemas, tmp_path, "own", sources)
    assert sorted(rows) == ["line 2", "line 4"]
    assert [(f.position, f.rule, f.value) for f in findings] == [("line 3", "row-shape", "A-2;workshop;Short row")]
    assert "3 cells where the header has 7" in findings[0].message
    assert prepared.rows_read == 3 and prepared.rows_accepted == 2


@pytest.mark.parametrize(
    "data,rows,positions",
    [
        (b"a,b", [], []),  # a header and nothing else, without a newline
        (b"a,b\r\n", [], []),
        (
            b"a,b\n1,2\r3,4\n\n5,6\n",
            [("1", "2"), ("3", "4"), ("5", "6")],
            ["line 2", "line 3", "line 5"],
        ),  # mixed endings
        (b'"a\nx",b\n1,2\n3,4\n', [("1", "2"), ("3", "4")], ["line 3", "line 4"]),  # a header over two lines
        (b"a,b\r\n1,2\r\n3,4", [("1", "2"), ("3", "4")], ["line 2", "line 3"]),
    ],
)
def test_csv_line_numbers_follow_the_lines_a_text_editor_shows(tmp_path, data, rows, positions):
    from partnerdata.readers import READERS
    from partnerdata.readers.base import position_list

    (tmp_path / "own.csv").write_bytes(data)
    (read,) = READERS["csv"].read([tmp_path / "own.csv"], READERS["csv"].parse_options({}, "test"), ";")
    assert [tuple(r.values()) for r in read.table.to_pylist()] == rows
    assert position_list(read) == positions


def test_malformed_rows_of_a_large_csv_keep_their_own_line_and_text(tmp_path):
    """Arrow parses blocks in parallel and reports bad rows out of order; each problem still names its own line."""
    from partnerdata.readers import READERS

    lines = ["id,value"] + [f"BAD{i},x,extra" if i % 50_000 == 7 else f"{i},v{i % 7}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (read,) = READERS["csv"].read([tmp_path / "big.csv"], READERS["csv"].parse_options({}, "test"), ";")
    assert [(position, text) for position, _, text in read.problems] == [
        (f"line {i + 2}", f"BAD{i},x,extra") for i in range(7, 300_000, 50_000)
    ]
    assert read.table.num_rows == 300_000 - 6
