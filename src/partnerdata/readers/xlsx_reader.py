"""XLSX workbooks: one sheet, a header row, typed cells (dates, numbers) as Excel stores them.

The workbook is read by a streaming reader of our own (``xlsx_parts``: zipfile and expat, every
part bounded by the source's limits), not by openpyxl, which unpacks all shared strings and pads
every row to its furthest cell, without bound. A cell's value is what openpyxl's read-only,
data-only mode gives (the cached result of a formula, a date when the cell's number format is
one, the 1904 date system), so its text is what it was when openpyxl read the workbooks.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import from_excel, from_ISO8601

from partnerdata.errors import PartnerFileError
from partnerdata.readers.base import ReadResult
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import check_name, check_options, check_whole_number
from partnerdata.readers.xlsx_parts import (
    DURATION,
    MAIN,
    NUMBER,
    RichTextHandler,
    T,
    Workbook,
    open_package,
    read_shared_strings,
    read_workbook,
)

RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "sheet": (str, None),  # the first sheet when not given
    "header_row": (int, 1),
}


EXCEL_ROWS = 1_048_576  # the most rows a worksheet has: header_row must be one of them


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    return check_sheet_options(check_options(block, OPTIONS, where), where)


def check_sheet_options(options: dict[str, Any], where: str) -> dict[str, Any]:
    """``sheet`` names a sheet (None: the first one), ``header_row`` is a row of a worksheet (rows count from 1)."""
    check_name(options, "sheet", where)
    check_whole_number(options, "header_row", where, 1, EXCEL_ROWS)
    return options


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    """Typed cells become canonical text (ISO dates, numbers with a decimal point), so
    the source's CSV dialect never applies to them; empty rows are skipped. Reading stops with a
    PartnerFileError at the first thing wrong with the workbook or past the source's limits."""
    (path,) = bodies
    limits = limits if limits.started is not None else limits.start()
    with open_package(Path(path), limits) as package:
        workbook = read_workbook(package)
        sheet, part = _chosen_sheet(workbook, options["sheet"])
        values = _CellValues(sheet, workbook, read_shared_strings(package, workbook.shared_strings_part))
        table = _SheetTable(sheet, options["header_row"], values, limits)
        handler = _SheetHandler(part, limits)
        package.parse(part, handler, lambda: table.take(handler.take()))
    return [table.result()]


def _chosen_sheet(workbook: Workbook, name: str | None) -> tuple[str, str]:
    """The sheet's name and part: the one named, else the first worksheet."""
    if name is None:
        sheet = next((sheet for sheet in workbook.sheets if not sheet.is_chart), None)
        if sheet is None:
            raise PartnerFileError(f"the workbook has no worksheet (sheets: {_names(workbook)})")
    else:
        sheet = next((sheet for sheet in workbook.sheets if sheet.name == name), None)
        if sheet is None:
            raise PartnerFileError(f"the workbook has no sheet '{name}' (sheets: {_names(workbook)})")
    if sheet.is_chart:
        raise PartnerFileError(f"sheet '{sheet.name}' of the workbook is a chart sheet: it has no cells")
    if sheet.part is None:
        raise PartnerFileError(
            f"the workbook names no part for sheet '{sheet.name}' (its relationship {sheet.relationship} "
            f"leads to no part of the zip)"
        )
    return sheet.name, sheet.part


def _names(workbook: Workbook, most: int = 20) -> str:
    names = [sheet.name for sheet in workbook.sheets]
    return ", ".join(names[:most]) + (f" and {len(names) - most:,} more" if len(names) > most else "") or "none"


ROW_STARTS = object()  # first item of the event that starts a row: (ROW_STARTS, its r or None)
WORKSHEETS = frozenset({MAIN + "worksheet", MAIN + "dialogsheet"})
SHEET_DATA, ROW, CELL, VALUE, INLINE = (MAIN + name for name in ("sheetData", "row", "c", "v", "is"))


class _SheetHandler(RichTextHandler):
    """The rows and cells of a worksheet as events for ``_SheetTable``: ``(ROW_STARTS, r)`` when a row
    starts, ``(r, t, s, v, inline)`` when a cell ends: its attributes (None when absent), the text of
    its first ``<v>`` (None when absent or empty) and the string of its first ``<is>`` (None when
    absent). The worksheet (depth 1) holds sheetData (2), rows (3), cells (4), their <v> and <is> (5).
    The events are taken after each chunk of the part, so they never pile up; turning them into
    values is left to the reader, outside the parser."""

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.events: list[tuple[Any, ...]] = []
        self.in_sheet = self.in_data = self.in_row = self.in_cell = self.in_inline = self.value_seen = False
        self.cell: dict[str, str] = {}
        self.value: str | None = None
        self.inline: str | None = None

    def take(self) -> list[tuple[Any, ...]]:
        events, self.events = self.events, []
        return events

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        depth = self.depth
        if depth > self.max_depth:
            self.too_deep(depth)
        self.collecting = False
        if depth == 5:
            if self.in_cell:
                if name == VALUE:
                    if not self.value_seen:
                        self.collect()
                elif name == INLINE and self.inline is None:
                    self.in_inline = True
                    self.start_string()
        elif depth == 4:
            if name == CELL and self.in_row:
                self.cell, self.value, self.inline, self.value_seen, self.in_cell = attributes, None, None, False, True
        elif depth > 5:
            if self.in_inline:
                if depth == 6 and name == T:  # <is><t>, done here for speed
                    self.text, self.collecting = [], True
                else:
                    self.start_in_string(name, depth - 5)
        elif depth == 3:
            if name == ROW and self.in_data:
                self.in_row = True
                self.events.append((ROW_STARTS, attributes.get("r")))
        elif depth == 2:
            self.in_data = name == SHEET_DATA and self.in_sheet
        else:
            self.in_sheet = name in WORKSHEETS

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        self.collecting = False
        if depth == 5:
            if self.in_cell:
                if name == VALUE:
                    if not self.value_seen:
                        self.value, self.value_seen = "".join(self.text) or None, True
                elif self.in_inline:  # the open element at this depth is the <is>
                    self.inline, self.in_inline = self.string(), False
        elif depth == 4:
            if self.in_cell:
                cell = self.cell
                self.events.append((cell.get("r"), cell.get("t"), cell.get("s"), self.value, self.inline))
                self.in_cell = False
        elif depth > 5:
            if self.in_inline:
                if depth == 6 and name == T:
                    self.plain = "".join(self.text)
                else:
                    self.end_in_string(name, depth - 5)
        elif depth == 3:
            self.in_row = False
        elif depth == 2:
            self.in_data = False


class _SheetTable:
    """The table a sheet's rows make, built as the cell events come: the header row names the
    columns, each row below it that holds some text is a row of the table. Cells to the right of
    the header are not kept (Excel keeps formatting there), so memory is what the table holds
    however far the rows reach; a value beyond max_columns is refused."""

    def __init__(self, sheet: str, header_row: int, values: _CellValues, limits: Limits) -> None:
        self.sheet, self.header_row, self.values, self.limits = sheet, header_row, values, limits
        self.row = 0  # the number of the row being read (0: none yet)
        self.column = 0  # the column of the last cell of that row (the next one without r follows it)
        self.header: list[str] | None = None
        self.header_values: dict[int, Any] | None = None  # while the header row is read
        self.texts: list[str] | None = None  # while a row below the header is read
        self.columns: list[list[str]] = []
        self.positions: list[str] = []
        self.kept = 0  # characters of text in the table's cells

    def take(self, events: list[tuple[Any, ...]]) -> None:
        """The hot loop (a call per cell): a cell within the header of a row below it is done here."""
        for event in events:
            ref = event[0]
            if ref is ROW_STARTS:
                self._start_row(event[1])
                continue
            if ref is None:
                column = self.column + 1
            else:
                letters = ref.rstrip(DIGITS)
                column = COLUMNS.get(letters, 0) if len(letters) < len(ref) else 0
                if not column:
                    column = self._odd_column(ref, letters)
            self.column = column
            texts = self.texts
            if texts is not None and column <= len(texts):
                value = self.values.value(event, self.row, column)
                texts[column - 1] = value if type(value) is str else _text(value)
            else:
                self._other_cell(event, column)

    def result(self) -> ReadResult:
        self._end_row()
        if self.header is None:
            raise PartnerFileError(f"sheet '{self.sheet}' has no row {self.header_row} (the header row)")
        table = pa.table(
            {name: pa.array(column, pa.string()) for name, column in zip(self.header, self.columns, strict=True)}
        )
        return ReadResult(table=table, positions=self.positions, detected={"sheet": self.sheet})

    def _start_row(self, ref: str | None) -> None:
        self._end_row()
        number = self.row + 1 if ref is None else self._row_number(ref)
        if number <= self.row:
            raise PartnerFileError(
                f"sheet '{self.sheet}': row {number:,} comes after row {self.row:,}; rows must come in order"
            )
        self.row, self.column = number, 0
        if number < self.header_row:
            return
        if self.header is None:
            if number == self.header_row:
                self.header_values = {}
                return
            self._set_header({})  # the header row itself is missing: no columns, as openpyxl read it
        self.texts = [""] * len(self.header or ())

    def _end_row(self) -> None:
        if self.header_values is not None:
            self._set_header(self.header_values)
            self.header_values = None
        elif self.texts is not None:
            texts, self.texts = self.texts, None
            if not "".join(texts).strip():  # no cell with more than blanks
                return
            if (len(self.positions) + 1) * len(texts) > self.limits.max_cells:
                self.limits.check_cells((len(self.positions) + 1) * len(texts), f"sheet '{self.sheet}'")
            # The text the table holds counts against max_bytes: one shared string of a megabyte in a
            # thousand cells is a few kilobytes of file and a gigabyte of table.
            self.kept += sum(map(len, texts))
            if self.kept > self.limits.max_bytes:
                self.limits.check_bytes(
                    self.kept, f"the text of sheet '{self.sheet}' (its cells, shared strings repeated)"
                )
            for column, text in zip(self.columns, texts, strict=True):
                column.append(text)
            self.positions.append(f"sheet {self.sheet} row {self.row}")

    def _set_header(self, values: dict[int, Any]) -> None:
        last = max(values, default=0)
        header = [_text(values.get(column)).strip() or f"(column {column})" for column in range(1, last + 1)]
        while header and header[-1].startswith("(column "):
            header.pop()  # formatting that Excel keeps to the right of the data
        duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
        if duplicates:
            raise PartnerFileError(
                f"sheet '{self.sheet}': the header row names column(s) {', '.join(duplicates)} more than once"
            )
        self.header = header
        self.columns = [[] for _ in header]

    def _other_cell(self, event: tuple[Any, ...], column: int) -> None:
        """A cell of the header row, above it, or to the right of the header."""
        if self.header_values is not None and column <= self.limits.max_columns:
            self.header_values[column] = self.values.value(event, self.row, column)
        elif column > self.limits.max_columns and _holds_text(event):
            self.limits.check_columns(
                column, f"sheet '{self.sheet}' (cell {_cell_name(self.row, column)} holds a value)"
            )

    def _row_number(self, ref: str) -> int:
        """A row's r, read as openpyxl does (a whole number, or a float that is one)."""
        try:
            return int(ref)
        except ValueError:
            pass
        try:
            number = float(ref)
            if number.is_integer():
                return int(number)
        except ValueError:
            pass
        raise PartnerFileError(f"sheet '{self.sheet}': a row after row {self.row:,} is numbered '{ref[:40]}'")

    def _odd_column(self, ref: str, letters: str) -> int:
        """The column of a reference in lower case (openpyxl takes it), else a refusal."""
        column = COLUMNS.get(letters.upper(), 0) if len(letters) < len(ref) and letters.isascii() else 0
        if not column:
            raise PartnerFileError(
                f"sheet '{self.sheet}': a cell of row {self.row:,} is at '{ref[:40]}', which is not a cell reference"
            )
        return column


def _holds_text(event: tuple[Any, ...]) -> bool:
    _, kind, _, text, inline = event
    return bool(((inline if kind == "inlineStr" else text) or "").strip())


COLUMNS = {get_column_letter(column): column for column in range(1, 18_279)}  # A .. ZZZ (as openpyxl reads)
DIGITS = "0123456789"
MAX_CACHED_STYLES = 65_536  # Excel allows 64,000 cell formats


def _cell_name(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}" if column <= 18_278 else f"column {column:,} of row {row:,}"


class _CellValues:
    """A cell's value from its event (``_SheetHandler``), as openpyxl's read-only, data-only mode
    gives it: t="s" a shared string, "inlineStr" the inline string, "b" a bool, "d" an ISO date,
    a number a date or a duration when its cell format says so, "str" (a formula's cached result),
    "e" (an error such as #N/A) and any other type their text."""

    def __init__(self, sheet: str, workbook: Workbook, strings: list[str]) -> None:
        self.sheet, self.strings = sheet, strings
        self.cell_formats, self.epoch = workbook.cell_formats, workbook.epoch
        self.format_kinds: dict[str, int] = {}  # a cell's s -> NUMBER, DATE or DURATION

    def value(self, event: tuple[Any, ...], row: int, column: int) -> Any:
        _, kind, style, text, inline = event
        if kind is None or kind == "n":
            return None if text is None else self._number(text, style, row, column)
        if kind == "inlineStr":
            return inline
        if text is None:
            return None
        if kind == "s":
            index = self._whole_number(text, "a shared string index", row, column)
            if not 0 <= index < len(self.strings):
                raise PartnerFileError(
                    f"sheet '{self.sheet}' cell {_cell_name(row, column)} refers to shared string {index}, "
                    f"but the workbook has {len(self.strings)}"
                )
            return self.strings[index]
        if kind == "b":
            return bool(self._whole_number(text, 'a boolean (t="b")', row, column))
        if kind == "d":
            try:
                return from_ISO8601(text)
            except (ValueError, OverflowError):
                raise self._refused(row, column, text, 'an ISO 8601 date (t="d")') from None
        return text

    def _number(self, text: str, style: str | None, row: int, column: int) -> Any:
        try:
            number = float(text) if "." in text or "e" in text or "E" in text else int(text)  # as openpyxl casts
        except ValueError:
            raise self._refused(row, column, text, "a number") from None
        format_kind = self._format_kind(style, row, column) if style else NUMBER
        if format_kind == NUMBER:
            return number
        try:
            return from_excel(number, self.epoch, timedelta=format_kind == DURATION)
        except (OverflowError, ValueError):
            return "#VALUE!"  # a date serial out of range: openpyxl reads it as this error

    def _format_kind(self, style: str, row: int, column: int) -> int:
        kind = self.format_kinds.get(style)
        if kind is None:
            index = self._whole_number(style, "a cell format (s)", row, column)
            kind = self.cell_formats[index] if 0 <= index < len(self.cell_formats) else NUMBER
            if len(self.format_kinds) < MAX_CACHED_STYLES:  # "1", "01", "001": a sheet can spell s many ways
                self.format_kinds[style] = kind
        return kind

    def _whole_number(self, text: str, what: str, row: int, column: int) -> int:
        try:
            return int(text)
        except ValueError:
            raise self._refused(row, column, text, what) from None

    def _refused(self, row: int, column: int, text: str, what: str) -> PartnerFileError:
        return PartnerFileError(
            f"sheet '{self.sheet}' cell {_cell_name(row, column)} holds '{text[:40]}' where {what} should be"
        )


def _text(cell: Any) -> str:
    kind = type(cell)
    if kind is str:  # the commonest first: a sheet is mostly text and numbers
        return cell
    if kind is int:
        return str(cell)
    if kind is float:
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)
