"""CSV as partners export it: Excel in a Dutch or French locale (semicolons,
Windows-1252, decimal commas), or UTF-8 with a byte-order mark."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from partnerdata.errors import ConfigError
from partnerdata.readers import ReadResult
from partnerdata.readers.options import check_options

AUTO = "auto"  # for delimiter and encoding: find out from the file, and record what was found
DELIMITERS = ",;\t|"
RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "delimiter": (str, ","),
    "encoding": (str, "utf-8"),
    "decimal": (str, "."),
    "thousands": (str, None),
    "quote_char": (str, '"'),
}


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    for key in ("delimiter", "decimal", "quote_char"):
        if len(options[key]) != 1 and not (key == "delimiter" and options[key] == AUTO):
            raise ConfigError(f"{where}: option '{key}': expected one character, got {options[key]!r}")
    if options["thousands"] is not None and len(options["thousands"]) != 1:
        raise ConfigError(f"{where}: option 'thousands': expected one character, got {options['thousands']!r}")
    if options["decimal"] == options["thousands"]:
        raise ConfigError(f"{where}: options 'decimal' and 'thousands' are both {options['decimal']!r}")
    try:
        if options["encoding"] != AUTO:
            codecs.lookup(options["encoding"])
    except LookupError:
        raise ConfigError(
            f"{where}: option 'encoding': unknown encoding {options['encoding']!r} (try utf-8 or cp1252)"
        ) from None
    return options


def read(bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str) -> list[ReadResult]:
    """Read every cell as text; the header row names the columns.

    Positions are file lines (the header is line 1), which is what a partner sees
    in a text editor or in Excel's row numbers, as long as no cell spans lines.
    """
    (path,) = bodies
    data = Path(path).read_bytes()
    has_bom = data.startswith(codecs.BOM_UTF8)
    detected: dict[str, Any] = {"byte_order_mark": has_bom}
    if options["encoding"] == AUTO:
        encoding = detected["encoding"] = _detect_encoding(data)
    else:
        encoding = codecs.lookup(options["encoding"]).name
    if has_bom and encoding == "utf-8":
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"the file is not valid {options['encoding']} (byte {error.start}: {data[error.start : error.start + 1]!r}); "
            "set csv.encoding in sources.yaml to the file's real encoding"
        ) from None
    if options["delimiter"] == AUTO:
        options = {**options, "delimiter": _detect_delimiter(text)}
        detected["delimiter"] = options["delimiter"]
    header = _header(text, options)
    skipped: list[str] = []

    def skip_row(row: Any) -> str:  # a row with too few or too many cells: rejected, not fatal
        skipped.append(row.text)
        return "skip"

    utf8 = data if encoding == "utf-8" else text.encode("utf-8")  # UTF-8 input is handed over as it is
    table = pacsv.read_csv(
        pa.py_buffer(utf8),
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(
            delimiter=options["delimiter"],
            quote_char=options["quote_char"],
            newlines_in_values=True,
            invalid_row_handler=skip_row,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=False
        ),
    )
    positions, malformed = _line_positions(text, options, table.num_rows, len(header), bool(skipped))
    problems = [
        (
            position,
            f"the row has {cells} cells where the header has {len(header)}; check for a missing or extra delimiter",
            line,
        )
        for (position, cells), line in zip(malformed, skipped, strict=False)
    ]
    return [
        ReadResult(
            table=table,
            positions=positions,
            decimal=options["decimal"],
            thousands=options["thousands"],
            detected=detected,
            problems=problems,
        )
    ]


def _line_positions(
    text: str, options: Mapping[str, Any], rows: int, columns: int, any_malformed: bool
) -> tuple[pa.Array, list[tuple[str, int]]]:
    """The line where each record starts, as a text editor numbers them (the header is line 1),
    and the positions and cell counts of the records with the wrong number of cells.

    When every record is one line, no line is blank and none was malformed, record i is on line
    i + 2; else (blank lines, which the parser skips, or cells spanning lines) the lines are
    counted by Python's csv module."""
    newlines = text.count("\n") + (0 if text.endswith("\n") else 1)
    blank = "\n\n" in text or "\n\r\n" in text or "\n\n" in text.replace("\r", "")
    if not any_malformed and newlines == rows + 1 and not blank:
        numbers = pc.cast(pa.array(range(2, rows + 2), pa.int64()), pa.string())
        return pc.binary_join_element_wise("line ", numbers, ""), []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=options["delimiter"], quotechar=options["quote_char"])
    positions, malformed, previous_end = [], [], 0
    for number, record in enumerate(reader):
        start = previous_end + 1
        previous_end = reader.line_num
        if number == 0 or not any(cell.strip() for cell in record) and len(record) <= 1:
            continue  # the header, or a blank line
        if len(record) != columns:
            malformed.append((f"line {start}", len(record)))
        else:
            positions.append(f"line {start}")
    return pa.array(positions[:rows], pa.string()), malformed


def _detect_encoding(data: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8 (or carry its byte-order mark), else Windows-1252,
    what Excel writes in Western European locales."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _detect_delimiter(text: str) -> str:
    """The candidate that splits the header row into the most columns (ties: the first in DELIMITERS)."""
    header = text.split("\n", 1)[0]
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda c: (counts[c], -DELIMITERS.index(c)))
    if counts[best] == 0:
        raise ValueError("csv.delimiter is auto, but the header row contains none of , ; tab |")
    return best


def _header(text: str, options: Mapping[str, Any]) -> list[str]:
    """The column names of the first row; blank ones (a trailing delimiter) get a placeholder."""
    head = text[: 1 << 20]  # the header row is at the top; never copy the whole file for it
    first = next(csv.reader(io.StringIO(head), delimiter=options["delimiter"], quotechar=options["quote_char"]), None)
    if not first:
        raise ValueError("the file is empty: no header row")
    names = [name.strip() or f"(column {i + 1})" for i, name in enumerate(first)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"the header row names column(s) {', '.join(duplicates)} more than once")
    if len(names) == 1 and options["delimiter"] not in first[0]:
        raise ValueError(
            f"the header row has a single column {first[0][:60]!r}: is csv.delimiter ({options['delimiter']!r}) right?"
        )
    return names
