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
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import check_options

HEAD_BYTES = 1 << 20  # the header row is looked for in the file's first MiB
SAMPLE_BYTES = 1 << 20  # the rows in the file's first MiB decide which columns hold codes
FEW_DISTINCT = 0.2  # a column holds codes when at most this share of the sampled cells differ
MIN_SAMPLE_ROWS = 100  # fewer rows in the sample decide nothing
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


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
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
    head = _decode(_head(utf8, HEAD_BYTES), "utf-8", options, partial=True)  # the header row is at the top
    if options["delimiter"] == AUTO:
        options = {**options, "delimiter": _detect_delimiter(head)}
        detected["delimiter"] = options["delimiter"]
    header, header_lines, rest = _header(head, options)
    if rest is not None and not rest.strip():  # the whole file is its header: no rows
        table = pa.table({name: pa.array([], pa.string()) for name in header})
        return [ReadResult(table=table, positions=[], decimal=options["decimal"], thousands=options["thousands"],
                           detected=detected)]  # fmt: skip
    malformed_rows = 0

    def skip_row(row: Any) -> str:  # a row with too few or too many cells: rejected, not fatal
        nonlocal malformed_rows
        malformed_rows += 1  # Arrow's threads call this out of order: the rows are found again below
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
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=header_lines, block_size=1 << 22),
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(
                column_types=_column_types(utf8, header, header_lines, parse_options), strings_can_be_null=False
            ),
        )
    table = pa.table([column.combine_chunks() for column in table.unify_dictionaries().columns], names=header)
    # One line per record: nothing malformed, and the lines outnumber the records by exactly the header.
    one_line_each = not malformed_rows and header_lines == 1 and lines.result() == table.num_rows + 1
    positions, problems = _line_positions(utf8, options, table.num_rows, len(header), one_line_each)
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
        if hasattr(mmap, "MAP_POPULATE"):  # Linux: map every page at once instead of one fault per page
            return mmap.mmap(file.fileno(), 0, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ)
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _head(data: pa.Buffer, size: int) -> pa.Buffer:
    return data.slice(0, min(size, data.size))


def _count_lines(data: pa.Buffer) -> int | None:
    """Lines of text (a last line without a newline counts), or None when a carriage return
    alone ends a line somewhere (old Mac files, mixed endings): then only Python's csv module
    can number the lines. numpy, which releases the GIL."""
    octets = np.frombuffer(data, np.uint8)
    newlines = returns = pairs = 0
    for i in range(0, len(octets), 1 << 24):
        block = octets[i : i + (1 << 24) + 1]  # one octet more: a CR LF across the boundary
        newlines += int(np.count_nonzero(block[: 1 << 24] == 10))
        carriage = block[: 1 << 24] == 13
        if carriage.any():
            returns += int(np.count_nonzero(carriage))
            pairs += int(np.count_nonzero(carriage[: len(block) - 1] & (block[1 : 1 + len(carriage)] == 10)))
    if returns != pairs:
        return None
    return newlines + (1 if len(octets) and octets[-1] != 10 else 0)


@contextlib.contextmanager
def _utf8_errors(data: pa.Buffer, options: Mapping[str, Any]) -> Iterator[None]:
    """Arrow's error for bytes that are not UTF-8, as one that names the byte and the fix."""
    try:
        yield
    except pa.ArrowInvalid:
        _decode(data, "utf-8", options)
        raise


def _column_types(
    data: pa.Buffer, header: list[str], header_lines: int, parse_options: pacsv.ParseOptions
) -> dict[str, pa.DataType]:
    """Text for every column: dictionary-encoded where the first rows show few distinct values
    (codes, dates, counts), which the parser does at almost no cost and which lets coercion and
    checks work once per distinct value; plain strings elsewhere."""
    plain = {name: pa.string() for name in header}
    if data.size < SAMPLE_BYTES * 4:
        return plain
    head = _head(data, SAMPLE_BYTES).to_pybytes()
    sample = head[: head.rfind(b"\n") + 1]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(sample),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=header_lines, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=parse_options.delimiter,
                quote_char=parse_options.quote_char,
                newlines_in_values=parse_options.newlines_in_values,
                invalid_row_handler=lambda row: "skip",
            ),
            convert_options=pacsv.ConvertOptions(column_types=plain),
        )
    except pa.ArrowInvalid:  # a cell that spans the sample's end, say: decide nothing
        return plain
    if table.num_rows < MIN_SAMPLE_ROWS:
        return plain
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
) -> tuple[pa.Array | Lines, list[tuple[str, str, str]]]:
    """The line where each record starts, as a text editor numbers them (the header is line 1),
    and a problem (position, message, text) for each record with the wrong number of cells.

    When every record is one line, record i is on line i + 2; else (blank lines, which the
    parser skips, cells spanning lines, malformed rows) Python's csv module walks the text."""
    if one_line_each:
        return Lines(rows), []
    lines = io.StringIO(_decode(data, "utf-8", options), newline="").readlines()
    reader = csv.reader(lines, delimiter=options["delimiter"], quotechar=options["quote_char"])
    positions, problems, previous_end = [], [], 0
    for number, record in enumerate(reader):
        start = previous_end + 1
        previous_end = reader.line_num
        if number == 0 or not any(cell.strip() for cell in record) and len(record) <= 1:
            continue  # the header, or a blank line
        if len(record) != columns:
            text = "".join(lines[start - 1 : previous_end]).rstrip("\r\n")
            message = (
                f"the row has {len(record)} cells where the header has {columns}; "
                "check for a missing or extra delimiter"
            )
            problems.append((f"line {start}", message, text))
        else:
            positions.append(f"line {start}")
    return pa.array(positions[:rows], pa.string()), problems


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


def _header(text: str, options: Mapping[str, Any]) -> tuple[list[str], int, str | None]:
    """The column names of the first row (blank ones, from a trailing delimiter, get a
    placeholder), the number of lines the header takes (a quoted name may span lines), and
    the text after it when text is the whole file (else None)."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=options["delimiter"], quotechar=options["quote_char"])
    first = next(reader, None)
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
    rest = stream.read() if len(text.encode("utf-8")) < HEAD_BYTES else None
    return names, reader.line_num, rest
