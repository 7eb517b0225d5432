"""CSV as partners export it: Excel in a Dutch or French locale (semicolons,
Windows-1252, decimal commas), or UTF-8 with a byte-order mark."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import mmap
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from partnerdata.errors import ConfigError, PartnerFileError
from partnerdata.readers.base import Lines, ReadResult
from partnerdata.readers.guard import parsed, parsing
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import (
    check_distinct_marks,
    check_encoding,
    check_mark,
    check_options,
    text_codec,
)

HEAD_BYTES = 1 << 20  # the header row is looked for in the file's first MiB
SAMPLE_BYTES = 1 << 20  # the rows in the file's first MiB decide which columns hold codes
FEW_DISTINCT = 0.2  # a column holds codes when at most this share of the sampled cells differ
MIN_SAMPLE_ROWS = 100  # fewer rows in the sample decide nothing
TEXT_CODES = pa.dictionary(pa.int32(), pa.string())
AUTO = "auto"  # for delimiter and encoding: find out from the file, and record what was found
DELIMITERS = ",;\t|"
# Python's csv module refuses cells over 128 KiB, which Arrow reads: a long quoted description is not
# a broken file. A cell is bounded by max_bytes (the file's size) already.
csv.field_size_limit(2**31 - 1)
RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "delimiter": (str, ","),
    "encoding": (str, "utf-8"),
    "decimal": (str, "."),
    "thousands": (str, None),
    "quote_char": (str, '"'),
}


THOUSANDS_SPACES = " \u00a0\u2009\u202f"  # a space, no-break, thin and narrow no-break (French: 1 250)


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    check_delimiter(options, where)
    check_mark(options, "quote_char", where, ascii_only=True)  # Arrow's parser takes it as one byte
    check_mark(options, "decimal", where)
    if options["thousands"] is not None:
        check_mark(options, "thousands", where, whitespace=THOUSANDS_SPACES)
    marks = ("delimiter", "quote_char", "decimal", "thousands")
    check_distinct_marks(options, marks if options["delimiter"] != AUTO else marks[1:], where)
    check_encoding(options, where, auto=True)
    return options


def check_delimiter(options: Mapping[str, Any], where: str) -> None:
    """One ASCII character (Arrow's parser takes it as one byte), or auto; a space or a tab may
    separate cells. With auto, the quote character must not be one that auto may pick."""
    if options["delimiter"] == AUTO:
        if options.get("quote_char", '"') in DELIMITERS:
            raise ConfigError(
                f"{where}: option 'quote_char': {options['quote_char']!r} is one of the delimiters that "
                "delimiter: auto picks from; set the delimiter, or another quote character"
            )
        return
    check_mark(options, "delimiter", where, ascii_only=True, whitespace=" \t")


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
    limits.check_bytes(len(octets), "the file")
    has_bom = octets[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8
    detected: dict[str, Any] = {"byte_order_mark": has_bom}
    octets, encoding = _as_utf8(octets, options, limits, detected)
    start = len(codecs.BOM_UTF8) if has_bom and encoding == "utf-8" else 0
    utf8 = pa.py_buffer(octets).slice(start)
    head = _decode(_head(utf8, HEAD_BYTES), "utf-8", options, partial=True)  # the header row is at the top
    if options["delimiter"] == AUTO:
        options = {**options, "delimiter": _detect_delimiter(head)}
        detected["delimiter"] = options["delimiter"]
    header, header_lines, rest = _header(head, options, limits)
    if rest is not None and not rest.strip():  # the whole file is its header: no rows
        table = pa.table({name: pa.array([], pa.string()) for name in header})
        return [ReadResult(table=table, positions=[], decimal=options["decimal"], thousands=options["thousands"],
                           detected=detected)]  # fmt: skip
    lines, most_lines = _count_lines(utf8)
    # Before Arrow parses: at most one record per line, so this bounds the cells it would build.
    limits.check_cells(max(0, most_lines - header_lines) * len(header), f"the file ({len(header)} columns)")
    limits.check_time("the file")
    quoted = octets.find(options["quote_char"].encode("utf-8"), start) >= 0
    table, malformed_rows = _parse(utf8, options, header, header_lines, quoted)
    # One line per record: nothing malformed, and the lines outnumber the records by exactly the header.
    one_line_each = not malformed_rows and header_lines == 1 and lines == table.num_rows + 1
    positions, problems = _line_positions(utf8, options, table.num_rows, len(header), one_line_each, limits)
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


def _as_utf8(
    octets: mmap.mmap | bytes, options: Mapping[str, Any], limits: Limits, detected: dict[str, Any]
) -> tuple[mmap.mmap | bytes, str]:
    """The file's bytes as UTF-8 (decoded when the file is in another encoding), and the file's encoding;
    with encoding auto, what was found goes into detected."""
    if options["encoding"] == AUTO:
        encoding = detected["encoding"] = _detect_encoding(pa.py_buffer(octets))
    else:
        encoding = text_codec(options["encoding"])
    if encoding != "utf-8":
        _refuse_utf8_read_as(encoding, pa.py_buffer(octets), options)
        octets = _decode(pa.py_buffer(octets), encoding, options).encode("utf-8")
        limits.check_bytes(len(octets), f"the file, decoded from {encoding},")
    return octets, encoding


def _parse(
    utf8: pa.Buffer, options: Mapping[str, Any], header: list[str], header_lines: int, quoted: bool
) -> tuple[pa.Table, int]:
    """The records after the header, every cell text, one chunk per column; and how many rows Arrow skipped
    for a wrong number of cells."""
    malformed_rows = 0

    def skip_row(row: Any) -> str:  # a row with too few or too many cells: rejected, not fatal
        nonlocal malformed_rows
        malformed_rows += 1  # Arrow's threads call this out of order: the rows are found again below
        return "skip"

    parse_options = pacsv.ParseOptions(
        delimiter=options["delimiter"],
        quote_char=options["quote_char"],
        newlines_in_values=quoted,  # no quote, no cell that spans lines: the faster parser
        invalid_row_handler=skip_row,
    )
    with parsing("the file is not readable as CSV"), _utf8_errors(utf8, options):
        table = pacsv.read_csv(
            utf8,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=header_lines, block_size=1 << 22),
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(
                column_types=_column_types(utf8, header, header_lines, parse_options), strings_can_be_null=False
            ),
        )
    table = pa.table([column.combine_chunks() for column in table.unify_dictionaries().columns], names=header)
    return table, malformed_rows


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


def _count_lines(data: pa.Buffer) -> tuple[int | None, int]:
    """Lines of text (a last line without a newline counts), or None when a carriage return
    alone ends a line somewhere (old Mac files, mixed endings): then only Python's csv module
    can number the lines; and the most lines there can be either way. numpy, at C speed."""
    octets = np.frombuffer(data, np.uint8)
    newlines = returns = pairs = 0
    for i in range(0, len(octets), 1 << 24):
        block = octets[i : i + (1 << 24) + 1]  # one octet more: a CR LF across the boundary
        newlines += int(np.count_nonzero(block[: 1 << 24] == 10))
        carriage = block[: 1 << 24] == 13
        if carriage.any():
            returns += int(np.count_nonzero(carriage))
            pairs += int(np.count_nonzero(carriage[: len(block) - 1] & (block[1 : 1 + len(carriage)] == 10)))
    last = 1 if len(octets) and octets[-1] not in (10, 13) else 0
    if returns != pairs:
        return None, newlines + returns - pairs + last
    return newlines + last, newlines + last


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
    """The text of data; a byte the encoding cannot read is an error that says where, and what to set."""
    octets = memoryview(data)
    try:
        return codecs.getincrementaldecoder(encoding)().decode(octets, final=not partial)
    except UnicodeDecodeError as error:
        line = bytes(octets[: error.start]).count(b"\n") + 1
        where = f"line {line}, byte {error.start}"
        byte = bytes(octets[error.start : error.start + 1])
        key = _encoding_key(options)
        hint = f"set {key} in sources.yaml to the file's real encoding, or to auto"
        if encoding == "utf-8":
            word = _word_at(octets, error.start, "cp1252", "strict")
            if word is not None:  # what Excel writes in Western European locales
                hint = f"it reads as cp1252 (Windows-1252), where that byte is in {word!r}: set {key} in sources.yaml to cp1252 or auto"
        raise PartnerFileError(f"the file is not valid {options['encoding']} ({where}: {byte!r})", hint) from None


def _refuse_utf8_read_as(encoding: str, data: pa.Buffer, options: Mapping[str, Any]) -> None:
    """A file whose bytes are UTF-8 (with characters beyond ASCII), read as another encoding, would
    turn to mojibake ('België' as cp1252 is 'BelgiÃ«'). Text in another encoding is almost never
    valid UTF-8 as well, so such a file is refused, with the encoding it is in."""
    if codecs.lookup(encoding).name.startswith("utf"):
        return
    octets, block = np.frombuffer(data, np.uint8), 1 << 24  # a block at a time: no copy of the file
    first = next((i + int(np.argmax(octets[i : i + block] >= 0x80)) for i in range(0, len(octets), block)
                  if (octets[i : i + block] >= 0x80).any()), None)  # fmt: skip
    if first is None:
        return  # ASCII is the same in both
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:  # text in another encoding fails at its first such byte; the text decoded is not kept
        for i in range(first - first % block, len(octets), block):
            decoder.decode(memoryview(data)[i : i + block], final=i + block >= len(octets))
    except UnicodeDecodeError:
        return
    word = _word_at(memoryview(data), first, "utf-8", "ignore")
    mangled = _word_at(memoryview(data), first, encoding, "replace")
    line = bytes(memoryview(data)[:first]).count(b"\n") + 1
    key = _encoding_key(options)
    raise PartnerFileError(
        f"the file is UTF-8 (its bytes decode as UTF-8, from line {line}: {word!r}), but the source is read as "
        f"{options['encoding']}, which would turn that into {mangled!r}",
        f"{key} is {options['encoding']}: set it in sources.yaml to utf-8 or auto",
    )


def _encoding_key(options: Mapping[str, Any]) -> str:
    """The key of sources.yaml that sets the encoding: csv.encoding, or the standard format's that reads a CSV."""
    return str(options.get("encoding_key", "csv.encoding"))


def _word_at(octets: memoryview, position: int, encoding: str, errors: str) -> str | None:
    """The word around a byte as the encoding reads it (None: it cannot read it, with errors="strict")."""
    start = max(0, position - 40)
    end = min(len(octets), position + 40)
    try:
        text = bytes(octets[start:end]).decode(encoding, errors=errors)
    except UnicodeDecodeError:
        return None
    at = len(bytes(octets[start:position]).decode(encoding, errors="ignore"))
    left = re.split(r"[\s,;\t\"]", text[:at])[-1]
    right = re.split(r"[\s,;\t\"]", text[at:])[0]
    return left + right


def _line_positions(
    data: pa.Buffer, options: Mapping[str, Any], rows: int, columns: int, one_line_each: bool, limits: Limits
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
    for number, record in enumerate(parsed(reader, "the file is not readable as CSV")):
        if number % 10_000 == 0:
            limits.check_time("the file")
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
        raise PartnerFileError("the header row contains none of the separators , ; tab |", "csv.delimiter is auto")
    return best


def _header(text: str, options: Mapping[str, Any], limits: Limits) -> tuple[list[str], int, str | None]:
    """The column names of the first row (blank ones, from a trailing delimiter, get a
    placeholder), the number of lines the header takes (a quoted name may span lines), and
    the text after it when text is the whole file (else None)."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=options["delimiter"], quotechar=options["quote_char"])
    with parsing("the header row is not readable as CSV"):
        first = next(reader, None)
    if not first:
        raise PartnerFileError("the file is empty: no header row")
    limits.check_columns(len(first), "the header row")  # before anything else looks at every name
    names = [name.strip() or f"(column {i + 1})" for i, name in enumerate(first)]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise PartnerFileError(f"the header row names column(s) {', '.join(duplicates)} more than once")
    if len(names) == 1 and options["delimiter"] not in first[0]:
        raise PartnerFileError(
            f"the header row has a single column {first[0][:60]!r}",
            f"is csv.delimiter ({options['delimiter']!r}) right?",
        )
    rest = stream.read() if len(text.encode("utf-8")) < HEAD_BYTES else None
    return names, reader.line_num, rest
