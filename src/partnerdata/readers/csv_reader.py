"""CSV as partners export it: Excel in a Dutch or French locale (semicolons,
Windows-1252, decimal commas), or UTF-8 with a byte-order mark."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import mmap
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from partnerdata.errors import ConfigError
from partnerdata.readers import Lines, ReadResult
from partnerdata.readers.options import check_options

SAMPLE_BYTES = 1 << 20  # the rows in the file's first MiB decide which columns hold codes
FEW_DISTINCT = 0.2  # a column holds codes when at most this share of the sampled cells differ
TEXT_CODES = pa.dictionary(pa.int32(), pa.string())
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
    UTF-8 input goes to Arrow's parser as it is, mapped from the file rather than
    copied (Arrow checks the encoding); other encodings are decoded first.
    """
    (path,) = bodies
    octets = _map(Path(path))  # an mmap, or bytes: both can find() at C speed
    has_bom = octets[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8
    detected: dict[str, Any] = {"byte_order_mark": has_bom}
    if options["encoding"] == AUTO:
        encoding = detected["encoding"] = _detect_encoding(pa.py_buffer(octets))
    else:
        encoding = codecs.lookup(options["encoding"]).name
    if encoding != "utf-8":
        octets = _decode(pa.py_buffer(octets), encoding, options).encode("utf-8")
    start = len(codecs.BOM_UTF8) if has_bom and encoding == "utf-8" else 0
    utf8 = pa.py_buffer(octets).slice(start)
    head = _decode(_head(utf8, 1 << 20), "utf-8", options, partial=True)  # the header row is at the top
    if options["delimiter"] == AUTO:
        options = {**options, "delimiter": _detect_delimiter(head)}
        detected["delimiter"] = options["delimiter"]
    header = _header(head, options)
    skipped: list[str] = []

    def skip_row(row: Any) -> str:  # a row with too few or too many cells: rejected, not fatal
        skipped.append(row.text)
        return "skip"

    quoted = octets.find(options["quote_char"].encode("utf-8"), start) >= 0
    parse_options = pacsv.ParseOptions(
        delimiter=options["delimiter"],
        quote_char=options["quote_char"],
        newlines_in_values=quoted,  # no quote, no cell that spans lines: the faster parser
        invalid_row_handler=skip_row,
    )
    with ThreadPoolExecutor(max_workers=1) as counter, _utf8_errors(utf8, options):
        lines = counter.submit(_count_lines, utf8)  # while Arrow's threads parse
        table = pacsv.read_csv(
            utf8,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 22),
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(
                column_types=_column_types(utf8, header, parse_options), strings_can_be_null=False
            ),
        )
    table = pa.table([column.combine_chunks() for column in table.unify_dictionaries().columns], names=header)
    one_line_each = not skipped and lines.result() == table.num_rows + 1  # no blank line, no cell over lines
    positions, malformed = _line_positions(utf8, options, table.num_rows, len(header), one_line_each)
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


def _map(path: Path) -> mmap.mmap | bytes:
    """The file's bytes, mapped into memory (read as they are needed, never copied)."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return b""
        # MAP_POPULATE (Linux) maps every page at once instead of one fault per page.
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        return mmap.mmap(file.fileno(), 0, flags=flags, prot=mmap.PROT_READ)


def _head(data: pa.Buffer, size: int) -> pa.Buffer:
    return data.slice(0, min(size, data.size))


def _count_lines(data: pa.Buffer) -> int:
    """Lines of text (a last line without a newline counts); numpy, which releases the GIL."""
    octets = np.frombuffer(data, np.uint8)
    newlines = sum(int(np.count_nonzero(octets[i : i + (1 << 24)] == 10)) for i in range(0, len(octets), 1 << 24))
    return newlines + (1 if len(octets) and octets[-1] != 10 else 0)


@contextlib.contextmanager
def _utf8_errors(data: pa.Buffer, options: Mapping[str, Any]) -> Iterator[None]:
    """Arrow's error for bytes that are not UTF-8, as one that names the byte and the fix."""
    try:
        yield
    except pa.ArrowInvalid:
        _decode(data, "utf-8", options)
        raise


def _column_types(data: pa.Buffer, header: list[str], parse_options: pacsv.ParseOptions) -> dict[str, pa.DataType]:
    """Text for every column: dictionary-encoded where the first rows show few distinct values
    (codes, dates, counts), which the parser does at almost no cost and which lets coercion and
    checks work once per distinct value; plain strings elsewhere."""
    if len(data) < SAMPLE_BYTES * 4:
        return {name: pa.string() for name in header}
    head = _head(data, SAMPLE_BYTES).to_pybytes()
    sample = head[: head.rfind(b"\n") + 1]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(sample),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=parse_options.delimiter,
                quote_char=parse_options.quote_char,
                newlines_in_values=parse_options.newlines_in_values,
                invalid_row_handler=lambda row: "skip",
            ),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header}),
        )
    except pa.ArrowInvalid:  # a cell that spans the sample's end, say: decide nothing
        return {name: pa.string() for name in header}
    few = table.num_rows * FEW_DISTINCT
    return {
        name: TEXT_CODES if pc.count_distinct(table.column(name)).as_py() <= few else pa.string() for name in header
    }


def _decode(data: pa.Buffer, encoding: str, options: Mapping[str, Any], partial: bool = False) -> str:
    """The text of data; a byte the encoding cannot read is an error that says what to set."""
    octets = memoryview(data)
    try:
        return codecs.getincrementaldecoder(encoding)().decode(octets, final=not partial)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"the file is not valid {options['encoding']} (byte {error.start}: {bytes(octets[error.start : error.start + 1])!r}); "
            "set csv.encoding in sources.yaml to the file's real encoding"
        ) from None


def _line_positions(
    data: pa.Buffer, options: Mapping[str, Any], rows: int, columns: int, one_line_each: bool
) -> tuple[pa.Array | Lines, list[tuple[str, int]]]:
    """The line where each record starts, as a text editor numbers them (the header is line 1),
    and the positions and cell counts of the records with the wrong number of cells.

    When every record is one line (no malformed row, and the lines outnumber the records by
    exactly the header), record i is on line i + 2; else (blank lines, which the parser skips,
    or cells spanning lines) the lines are counted by Python's csv module."""
    if one_line_each:
        return Lines(rows), []
    text = _decode(data, "utf-8", options)
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


def _detect_encoding(data: pa.Buffer) -> str:
    """UTF-8 when the bytes are valid UTF-8 (or carry its byte-order mark), else Windows-1252,
    what Excel writes in Western European locales."""
    try:
        codecs.decode(memoryview(data), "utf-8")
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
    first = next(csv.reader(io.StringIO(text), delimiter=options["delimiter"], quotechar=options["quote_char"]), None)
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
