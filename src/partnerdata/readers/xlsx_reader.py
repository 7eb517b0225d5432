"""XLSX workbooks: one sheet, a header row, typed cells (dates, numbers) as Excel stores them."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from openpyxl import load_workbook

from partnerdata.errors import ConfigError
from partnerdata.readers import ReadResult
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import check_options

RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "sheet": (str, None),  # the first sheet when not given
    "header_row": (int, 1),
}


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    if options["header_row"] < 1:
        raise ConfigError(f"{where}: option 'header_row': rows count from 1, got {options['header_row']}")
    return options


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    """Typed cells become canonical text (ISO dates, numbers with a decimal point), so
    the source's CSV dialect never applies to them; empty rows are skipped."""
    (path,) = bodies
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise ValueError(f"not a readable XLSX workbook: {error}") from None
    try:
        sheet_name = options["sheet"] or workbook.sheetnames[0]
        if sheet_name not in workbook.sheetnames:
            raise ValueError(f"the workbook has no sheet '{sheet_name}' (sheets: {', '.join(workbook.sheetnames)})")
        rows = workbook[sheet_name].iter_rows(min_row=options["header_row"], values_only=True)
        header_cells = next(rows, None)
        if header_cells is None:
            raise ValueError(f"sheet '{sheet_name}' has no row {options['header_row']} (the header row)")
        header = [_text(cell).strip() or f"(column {i + 1})" for i, cell in enumerate(header_cells)]
        while header and header[-1].startswith("(column "):
            header.pop()  # formatting that Excel keeps to the right of the data
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"sheet '{sheet_name}': the header row names column(s) {', '.join(duplicates)} more than once"
            )
        columns: list[list[str]] = [[] for _ in header]
        positions = []
        for offset, cells in enumerate(rows, start=options["header_row"] + 1):
            texts = [_text(cell) for cell in cells[: len(header)]]
            if not any(text.strip() for text in texts):
                continue
            texts += [""] * (len(header) - len(texts))
            for column, text in zip(columns, texts, strict=False):
                column.append(text)
            positions.append(f"sheet {sheet_name} row {offset}")
    finally:
        workbook.close()
    table = pa.table({name: pa.array(column, pa.string()) for name, column in zip(header, columns, strict=False)})
    return [ReadResult(table=table, positions=positions, detected={"sheet": sheet_name})]


def _text(cell: Any) -> str:
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
