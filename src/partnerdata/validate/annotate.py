"""The partner's own rows back, with the problems marked: an annotated XLSX workbook.

For a CSV or XLSX file, a workbook whose first sheet, "Problems", lists every problem (where the partner
finds it, the column, the value, the rule, the message, how to fix it), and whose next sheet holds the
partner's rows and columns as they delivered them (their headers, their order, their values, on the row
numbers of their file, header offsets included). Every cell with a problem is highlighted and carries a
comment with the messages; each row with a problem has its messages in an added last column. A problem
that no one cell holds (a row with the wrong number of cells, a reference made by a constant) is in that
last column and in "Problems".

The workbook is built only from a file that the source's reader read within its limits already.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from partnerdata.config.sources import Source
from partnerdata.readers.options import text_codec
from partnerdata.util.safe_text import spreadsheet_cell
from partnerdata.validate.findings import Finding
from partnerdata.validate.reports import DEFAULT_ADVICE, RULE_ADVICE, RULE_TITLES

PROBLEMS_SHEET = "Problems"
PROBLEMS_COLUMNS = ["where", "row", "column", "cell", "field", "value", "rule", "problem", "message", "how to fix"]
MESSAGES_HEADER = "Problems found by partnerdata"
MARK = PatternFill(fill_type="solid", start_color="FFC7CE", end_color="FFC7CE")  # Excel's "bad" red
BOLD = Font(bold=True)
AUTHOR = "partnerdata"
MOST_CELLS = 1_000_000  # openpyxl holds a whole workbook in memory: larger files get rejected.csv only
# Bytes of a workbook's parts, all sheets included: openpyxl holds about 100 bytes per cell, and a cell
# costs its XML as little as a dozen bytes, so this bounds a copy to some hundreds of MB.
MOST_UNPACKED = 8 * 1024 * 1024
COMMENT_CHARACTERS = 32_000  # Excel's limit is 32,767
ROW_NUMBER = re.compile(r"(?:^|\s)(?:line|row) (\d+)$")


class TooLargeToAnnotate(Exception):
    """The file has more cells than an annotated copy is made for (rejected.csv has every problem)."""


@dataclass(frozen=True)
class Mark:
    """Where one finding sits in the partner's sheet: its row, and its column (0-based; None for the row)."""

    finding: Finding
    row: int | None
    column: int | None

    @property
    def cell(self) -> str:
        if self.row is None or self.column is None:
            return ""
        return f"{get_column_letter(self.column + 1)}{self.row}"


def can_annotate(source: Source) -> bool:
    return source.format in ("csv", "xlsx")


@dataclass(frozen=True)
class Annotated:
    """The annotated workbook: where it is, and the sheet with the partner's rows and its header row."""

    path: Path
    sheet: str
    header_row: int


def write_annotated_workbook(
    source: Source, file: Path, findings: Sequence[Finding], detected: Mapping[str, Any], out: Path, cells: int
) -> Annotated:
    """The annotated copy of ``file`` (read with ``source``'s entry) at ``out``. ``cells`` is the number of cells
    the reader found (rows times columns): beyond MOST_CELLS, TooLargeToAnnotate."""
    if cells > MOST_CELLS:
        raise TooLargeToAnnotate(_too_many(cells))
    if source.format == "csv":
        workbook, sheet, header = _csv_workbook(source, file, detected)
    else:
        workbook, sheet, header = _xlsx_workbook(source, file)
    marks = [_mark(source, finding, header) for finding in findings]
    _mark_cells(sheet, marks, header)
    _problems_sheet(workbook, source, marks, header, sheet.title)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return Annotated(out, sheet.title, header.row)


def _csv_workbook(source: Source, file: Path, detected: Mapping[str, Any]) -> tuple[Workbook, Worksheet, _Header]:
    """A new workbook with the CSV file's records on the lines where each starts (the header on line 1)."""
    options = source.format_options
    encoding = text_codec(detected.get("encoding") or options["encoding"])
    delimiter = detected.get("delimiter") or options["delimiter"]
    data = file.read_bytes()
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    text = data.decode(encoding, errors="replace")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = _sheet_title(file.stem)
    first: tuple[int, list[str]] | None = None
    width = 0
    cells = 0
    for line, record in _records(text, delimiter, options["quote_char"]):
        first = first or (line, list(record))
        width = max(width, len(record))
        cells += len(record)
        if cells > MOST_CELLS:
            raise TooLargeToAnnotate(_too_many(cells))
        for column, value in enumerate(record, start=1):
            _set_text(sheet.cell(row=line, column=column), value)
    line, names = first or (1, [])
    return workbook, sheet, _Header(line, names, width)


def _records(text: str, delimiter: str, quote_char: str) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells), as a text editor numbers the lines; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote_char)
    previous_end = 0
    for record in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record) and len(record) <= 1:
            continue
        yield start, record


def _xlsx_workbook(source: Source, file: Path) -> tuple[Workbook, Worksheet, _Header]:
    """The partner's own workbook, with the sheet the source reads. openpyxl loads every sheet, and the reader
    read only one: the parts it unpacks are bounded first (a zip member's declared size bounds what is read)."""
    with zipfile.ZipFile(file) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > MOST_UNPACKED:
        raise TooLargeToAnnotate(
            f"the workbook unpacks to {unpacked:,} bytes, more than the {MOST_UNPACKED:,} an annotated copy is made "
            "for; rejected.csv lists every problem"
        )
    workbook = load_workbook(file)
    cells = sum(len(_existing(s)) for s in workbook.worksheets)  # a styled empty cell far down counts too
    if cells > MOST_CELLS:
        raise TooLargeToAnnotate(_too_many(cells))
    name = source.format_options.get("sheet")
    sheet = workbook[name] if name else next(s for s in workbook.worksheets)
    header_row = source.format_options.get("header_row", 1)
    names = [cell.value for cell in sheet[header_row]] if sheet.max_row >= header_row else []
    while names and names[-1] in (None, ""):
        names.pop()
    width = max((column for (_, column), c in _existing(sheet).items() if c.value not in (None, "")), default=0)
    return workbook, sheet, _Header(header_row, ["" if n is None else str(n) for n in names], width)


@dataclass(frozen=True)
class _Header:
    row: int  # the row (line) the header is on
    names: list[str]
    width: int  # the furthest column that holds a value, in any row: the messages go to the right of it

    def column(self, name: str | None) -> int | None:
        if not name:
            return None
        stripped = [n.strip() for n in self.names]
        for names in (self.names, stripped):
            if name in names:
                return names.index(name)
        return None


def _mark(source: Source, finding: Finding, header: _Header) -> Mark:
    matched = ROW_NUMBER.search(finding.position)
    row = int(matched.group(1)) if matched else None
    column = header.column(source.columns.get(finding.field)) if finding.field and row is not None else None
    return Mark(finding, row, column)


def _mark_cells(sheet: Worksheet, marks: Sequence[Mark], header: _Header) -> None:
    """Highlight and comment each cell with a problem; the messages of each row in an added last column."""
    by_cell: dict[tuple[int, int], list[str]] = {}
    by_row: dict[int, list[str]] = {}
    for mark in marks:
        if mark.row is None:
            continue
        if mark.column is not None:
            by_cell.setdefault((mark.row, mark.column), []).append(mark.finding.message)
        by_row.setdefault(mark.row, []).append(_row_message(mark))
    for (row, column), messages in by_cell.items():
        cell = sheet.cell(row=row, column=column + 1)
        cell.fill = MARK
        cell.comment = Comment(_clean("\n".join(messages))[:COMMENT_CHARACTERS], AUTHOR, width=300, height=120)
    last = max(len(header.names), header.width) + 1
    title = sheet.cell(row=header.row, column=last, value=MESSAGES_HEADER)
    title.font = BOLD
    for row, messages in by_row.items():
        _set_text(sheet.cell(row=row, column=last), "\n".join(messages))


def _row_message(mark: Mark) -> str:
    finding = mark.finding
    where = f"{finding.field}: " if finding.field else ""
    return f"{where}{finding.message}"


def _problems_sheet(workbook: Workbook, source: Source, marks: Sequence[Mark], header: _Header, data: str) -> None:
    sheet = workbook.create_sheet(PROBLEMS_SHEET, 0)
    sheet.append(PROBLEMS_COLUMNS)
    for cell in sheet[1]:
        cell.font = BOLD
    for mark in marks:
        finding = mark.finding
        column = source.columns.get(finding.field, "") if finding.field else ""
        advice = RULE_ADVICE.get(finding.rule, DEFAULT_ADVICE).format(field=column or finding.field or "the row")
        values = [finding.position, mark.row, column, f"'{data}'!{mark.cell}" if mark.cell else "", finding.field,
                  finding.value, finding.rule, RULE_TITLES.get(finding.rule, finding.rule), finding.message,
                  advice[:1].upper() + advice[1:]]  # fmt: skip
        sheet.append([_clean(spreadsheet_cell(v)) if isinstance(v, str) else v for v in values])
    widths = [22, 8, 22, 14, 18, 30, 14, 28, 70, 70]
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    workbook.active = 0


def _set_text(cell: Any, value: str) -> None:
    """A text cell that stays text: Excel never runs it as a formula, and characters XLSX cannot hold go."""
    cell.value = _clean(value)
    cell.data_type = "s"


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _existing(sheet: Worksheet) -> dict[tuple[int, int], Any]:
    """The cells a sheet holds, without making one for every empty slot (iter_rows would, up to the furthest)."""
    return sheet._cells  # noqa: SLF001 (openpyxl's own map of the cells it read)


def _too_many(cells: int) -> str:
    return (f"the file has {cells:,} cells, more than the {MOST_CELLS:,} an annotated copy is made for; rejected.csv "
            "lists every problem")  # fmt: skip


def _sheet_title(stem: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, not "Problems"."""
    title = re.sub(r"[\[\]:*?/\\]", "_", stem)[:31].strip("'") or "data"
    return "data" if title.lower() == PROBLEMS_SHEET.lower() else title
