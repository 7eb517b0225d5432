"""The annotated workbook (issue 16): the partner's own rows and columns back, every cell with a problem
highlighted and commented, the messages of each row in an added last column, and a first sheet
"Problems"; row numbers are the partner's, header offsets and cells that span lines included."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from partnerdata.run.plan import RunPaths
from partnerdata.run.trial import try_file
from partnerdata.validate import annotate
from partnerdata.validate.annotate import MARK, MESSAGES_HEADER, PROBLEMS_COLUMNS, PROBLEMS_SHEET
from tests.conftest import dump_yaml

COLUMNS = {"activity_id": "Code", "title": "Titel", "start_date": "Startdatum", "theme": "Thema"}
CONSTANTS = {"programme": "enspired", "activity_type": "seminar", "country": "BE"}
HEADER = ["Code", "Titel", "Opmerking", "Startdatum", "Thema"]  # Opmerking: a column the entry does not map
ROWS = [
    ["A-1", "Taalweek", "", "2021-03-01", "multilingualism"],
    ["A-2", "", "geen titel", "2021-03-02", "multilingualism"],  # title required
    ["A-3", "Duurzaamheid", "", "1 maart", "sustainability"],  # not a date
    ["A-4", "Burgerschap", "", "2021-03-04", "Burgerschap"],  # not a theme code
    ["A-5", "=1+1", "", "2021-03-05", "gender"],  # a formula's look: stays text
    ["A-6", "", "", "maart", "Onbekend"],  # three problems in one row
]


def _project(tmp_path: Path, file: str, block: dict) -> RunPaths:
    entry = {
        "source_id": "school", "organisation": {"id": "ORG-S", "name": "A school", "country": "BE"},
        "url": file, "resource": "activities", "columns": COLUMNS, "constants": CONSTANTS, **block,
    }  # fmt: skip
    sources = tmp_path / "sources.yaml"
    sources.write_text(dump_yaml({"settings": {}, "sources": [entry]}), encoding="utf-8")
    return RunPaths(str(sources), str(tmp_path / "raw"), str(tmp_path / "published"), str(tmp_path / "reports"))


def _rejected(out: Path) -> list[dict[str, str]]:
    with open(out / "rejected.csv", encoding="utf-8", newline="") as lines:
        return list(csv.DictReader(lines))


def _marks(sheet) -> tuple[set[str], set[str]]:
    """The cells highlighted as problems, and the cells that carry a comment."""
    marked, commented = set(), set()
    for row in sheet.iter_rows():
        for cell in row:
            if cell.fill is not None and cell.fill.fgColor.rgb == MARK.fgColor.rgb and cell.fill.fill_type == "solid":
                marked.add(cell.coordinate)
            if cell.comment is not None:
                commented.add(cell.coordinate)
    return marked, commented


def _expected_cells(rejected: list[dict[str, str]], header: list[str]) -> set[str]:
    cells = set()
    for problem in rejected:
        column = COLUMNS.get(problem["field"])
        if column is not None:
            row = int(problem["position"].rsplit(" ", 1)[1])
            cells.add(f"{get_column_letter(header.index(column) + 1)}{row}")
    return cells


def test_an_xlsx_workbook_comes_back_with_its_problems_marked_on_its_own_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Activiteiten"
    sheet.append(["Activiteiten 2021, export van het studentensecretariaat"])  # two lines above the header
    sheet.append([])
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    sheet["B8"].data_type = "s"  # text that looks like a formula
    workbook.create_sheet("Uitleg").append(["a sheet the source does not read"])
    workbook.save(tmp_path / "activiteiten.xlsx")
    run = _project(
        tmp_path, "activiteiten.xlsx", {"format": "xlsx", "xlsx": {"sheet": "Activiteiten", "header_row": 3}}
    )

    trial = try_file(run, "school", tmp_path / "activiteiten.xlsx", tmp_path / "out")

    assert trial.verdict == "refused"  # 4 of 6 rows rejected, past max_rejected_share: still annotated
    rejected = _rejected(tmp_path / "out")
    assert {r["position"] for r in rejected} == {"sheet Activiteiten row 5", "sheet Activiteiten row 6",
                                                   "sheet Activiteiten row 7", "sheet Activiteiten row 9"}  # fmt: skip
    annotated = openpyxl.load_workbook(tmp_path / "out" / "annotated.xlsx")
    assert annotated.sheetnames == [PROBLEMS_SHEET, "Activiteiten", "Uitleg"]
    data = annotated["Activiteiten"]
    assert [c.value for c in data[3]] == [*HEADER, MESSAGES_HEADER]  # their header, their order, on their row
    assert [c.value or "" for c in data[5]][:5] == ROWS[1]  # an empty cell stays empty
    marked, commented = _marks(data)
    assert marked == commented == _expected_cells(rejected, HEADER)
    assert data["B5"].comment.text == "title is required but empty"
    assert "required" in data.cell(row=5, column=len(HEADER) + 1).value
    assert data.cell(row=9, column=len(HEADER) + 1).value.count("\n") == 2  # three problems, one line each
    problems = list(annotated[PROBLEMS_SHEET].iter_rows(values_only=True))
    assert list(problems[0]) == PROBLEMS_COLUMNS
    assert [(p[0], p[2], p[6]) for p in problems[1:]] == [(r["position"], COLUMNS.get(r["field"], ""), r["rule"])
                                                            for r in rejected]  # fmt: skip


def test_a_csv_file_comes_back_as_a_workbook_on_the_lines_of_the_file(tmp_path):
    lines = [";".join(HEADER)]
    for number, row in enumerate(ROWS):
        cells = list(row)
        if number == 0:
            cells[2] = '"een opmerking\nover twee regels"'  # the next records start a line later
        lines.append(";".join(cells))
    lines.insert(3, "A-9;te;veel;cellen;gender;extra")  # a row with the wrong number of cells
    (tmp_path / "activiteiten.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    run = _project(tmp_path, "activiteiten.csv", {"format": "csv", "csv": {"delimiter": ";", "encoding": "cp1252"}})

    trial = try_file(run, "school", tmp_path / "activiteiten.csv", tmp_path / "out")

    rejected = _rejected(tmp_path / "out")
    assert trial.rows_read == 7 and len({r["position"] for r in rejected}) == 5
    assert {"line 4", "line 5"} <= {r["position"] for r in rejected}  # A-2 comes after the two-line record
    annotated = openpyxl.load_workbook(tmp_path / "out" / "annotated.xlsx")
    assert annotated.sheetnames == [PROBLEMS_SHEET, "activiteiten"]
    data = annotated["activiteiten"]
    assert [c.value for c in data[1]] == [*HEADER, None, MESSAGES_HEADER]  # right of the longest row
    assert data["C2"].value == "een opmerking\nover twee regels"
    assert data["A4"].value == "A-2" and data["B4"].comment.text == "title is required but empty"
    assert [c.value for c in data[5]][:6] == ["A-9", "te", "veel", "cellen", "gender", "extra"]
    assert "cells where the header has 5" in data.cell(row=5, column=len(HEADER) + 2).value  # the whole row's problem
    formula_like = next(c for c in data["B"] if c.value == "=1+1")
    assert formula_like.data_type == "s"  # text, never run as a formula
    marked, commented = _marks(data)
    assert marked == commented == _expected_cells(rejected, HEADER)
    assert len(list(annotated[PROBLEMS_SHEET].iter_rows())) == len(rejected) + 1


@pytest.mark.parametrize("fmt", ["json"])
def test_other_formats_get_no_annotated_copy(tmp_path, fmt):
    (tmp_path / "activities.json").write_text(
        '[{"Code": "A-1", "Titel": "Taalweek", "Startdatum": "2021-03-01", "Thema": "gender"}]'
    )
    run = _project(tmp_path, "activities.json", {"format": fmt})
    trial = try_file(run, "school", tmp_path / "activities.json", tmp_path / "out")
    assert trial.verdict == "passed" and "annotated.xlsx" not in trial.outputs
    assert not (tmp_path / "out" / "annotated.xlsx").exists()


def test_a_workbook_too_large_to_load_whole_gets_no_copy_but_its_verdict(tmp_path, monkeypatch):
    """openpyxl loads every sheet, where the reader read one: a sheet the source does not read counts."""
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    for row in ROWS[:1]:
        workbook.active.append(row)
    other = workbook.create_sheet("Archief")
    for number in range(2000):
        other.append([f"old row {number}", "x" * 50])
    workbook.save(tmp_path / "activiteiten.xlsx")
    monkeypatch.setattr(annotate, "MOST_UNPACKED", 100_000)
    run = _project(tmp_path, "activiteiten.xlsx", {"format": "xlsx"})
    trial = try_file(run, "school", tmp_path / "activiteiten.xlsx", tmp_path / "out")
    assert trial.verdict == "passed" and "annotated.xlsx" not in trial.outputs
    assert any("the workbook unpacks to" in note for note in trial.notes)


def test_a_styled_empty_cell_far_down_makes_no_million_cells(tmp_path):
    """Excel keeps formatting far below the data; openpyxl would make a cell for every slot up to it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    sheet["T60000"].fill = MARK  # a styled cell with no value
    workbook.save(tmp_path / "activiteiten.xlsx")
    run = _project(tmp_path, "activiteiten.xlsx", {"format": "xlsx"})
    trial = try_file(run, "school", tmp_path / "activiteiten.xlsx", tmp_path / "out")
    annotated = openpyxl.load_workbook(tmp_path / "out" / "annotated.xlsx")
    data = annotated[trial.annotated["sheet"]]
    assert len(data._cells) < 200  # the cells the partner wrote, and the marks
    assert data.cell(row=1, column=len(HEADER) + 1).value == MESSAGES_HEADER  # right of the values, not of T
