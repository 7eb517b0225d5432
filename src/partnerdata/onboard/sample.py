"""A bounded sample of a partner's file, read by the project's own readers, and how it is written.

``partnerdata profile`` reads at most ``MAX_BYTES`` of a CSV file (a source's default ``max_bytes``)
and looks at its first ``MAX_ROWS`` rows; a workbook or a JSON document is read within a source's
default limits. What the readers find out themselves (the csv reader's ``auto`` encoding and
delimiter) is taken from their ``detected``; the rest (UTF-16, the header row, the sheet, the
record path) is found here.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from partnerdata.errors import PartnerFileError, UsageError
from partnerdata.onboard import sniff
from partnerdata.readers import READERS, csv_reader, json_reader, xlsx_reader
from partnerdata.readers.base import ReadResult, looks_like
from partnerdata.readers.erasmus_plus_reader import PARTNER_COLUMN
from partnerdata.readers.limits import DEFAULT_LIMITS, DEFAULT_MAX_BYTES
from partnerdata.readers.xlsx_parts import open_package, read_workbook

MAX_BYTES = DEFAULT_MAX_BYTES  # of a CSV file, read from its start; the same limit a source has by default
MAX_ROWS = 10_000  # rows profiled
HEADER_BYTES = 1 << 20  # the header row is looked for in a CSV file's first MiB
MAX_HEADER_ROW = 10  # a workbook's header row is looked for in its first rows
MAX_SHEETS = 20  # sheets of a workbook profiled to choose one
XML_HEAD = 1 << 16

SheetScore = Callable[[list[str]], float]  # how well a sheet's column names match a resource


@dataclass
class Sample:
    """The rows of a partner's file profiled, as text cells, and the reader options that read them."""

    path: Path  # the file as given
    format: str
    table: pa.Table = field(default_factory=lambda: pa.table({}))  # at most MAX_ROWS rows
    options: dict[str, Any] = field(default_factory=dict)  # the entry's <format>: block (non-default options)
    notes: list[str] = field(default_factory=list)  # what was detected, for the maintainer
    standard: bool = False  # a standard format: it maps itself, nothing is profiled
    matches_file: bool = True  # False: the sample was taken from a changed copy (the header moved up)


def read_sample(path: Path, fmt: str | None, sheet: str | None, work: Path, score: SheetScore) -> Sample:
    """Read the file as ``fmt`` (found from its bytes when None), its ``sheet`` if it is a workbook (None:
    the one whose columns ``score`` best); a standard format is only named."""
    if fmt is not None and fmt not in READERS:
        raise UsageError(f"no format '{fmt}': the formats are {', '.join(READERS)}")
    chosen = fmt or _detect_format(path)
    if sheet is not None and chosen != "xlsx":
        raise UsageError(f"--sheet names a sheet of a workbook, and {path} is read as {chosen}")
    if READERS[chosen].RESOURCES:
        return Sample(path, chosen, standard=True, notes=[f"format {chosen}{'' if fmt else ' (from its content)'}"])
    if chosen == "csv":
        sample = _csv_sample(path, work)
    elif chosen == "xlsx":
        sample = _xlsx_sample(path, sheet, score)
    else:
        sample = _json_sample(path)
    if fmt is None and _is_projects_overview(sample.table.column_names):
        return Sample(path, "erasmus_plus", standard=True, notes=[
            f"format erasmus_plus: the {chosen.upper()} has the columns of the Erasmus+ Project Results Platform's "
            "Projects Overview export (Project Identifier, Partner N name, ...); pass --format "
            f"{chosen} to profile it as a generic {chosen} source"])  # fmt: skip
    sample.notes.insert(0, f"format {chosen}{'' if fmt else ' (from its content)'}")
    return sample


def _detect_format(path: Path) -> str:
    kind = looks_like(path)
    if kind == "a zip archive (XLSX)":
        return "xlsx"
    if kind == "JSON":
        return "json"
    if kind == "XML":
        with open(path, "rb") as file:
            head = file.read(XML_HEAD)
        if b"iati-activities" in head or b"iati-activity" in head:
            return "iati"
        raise PartnerFileError("the file is XML but not IATI activity XML, the one XML format partnerdata reads")
    return "csv"


def _is_projects_overview(columns: list[str]) -> bool:
    """The export's identifier and its coordinator and partner column groups (a national agency's own
    sheet of projects may have the identifier and the grant, but not these)."""
    groups = "Coordinating organisation name" in columns or any(PARTNER_COLUMN.match(c) for c in columns)
    return "Project Identifier" in columns and groups


# ---------------------------------------------------------------- CSV


def _csv_sample(path: Path, work: Path) -> Sample:
    """The csv reader on the file, with delimiter auto (and encoding auto, unless the file is UTF-16 or
    Latin-1). A header found below line 1 (a title above it), or a file larger than MAX_BYTES, is
    profiled from a UTF-8 copy of its lines from the header on (of its first MAX_BYTES)."""
    with open(path, "rb") as file:
        head = file.read(MAX_BYTES + 1)
    complete = len(head) <= MAX_BYTES
    head = head[:MAX_BYTES]
    encoding = sniff.detect_encoding(head, complete)
    line = sniff.header_line(sniff.decode_head(head[:HEADER_BYTES], encoding, complete and len(head) <= HEADER_BYTES))
    notes: list[str] = []
    if line == 1 and complete:
        read = _read(csv_reader, path, {"delimiter": "auto", "encoding": encoding.reader_option})
        codec = read.detected.get("encoding", encoding.codec)
        reason = encoding.reason if codec == encoding.codec else sniff.WINDOWS_1252
    else:
        read = _read(csv_reader, _copy_from_line(head, encoding, complete, line, work), {"delimiter": "auto"})
        codec, reason = encoding.codec, encoding.reason
        if line > 1:
            notes.append(
                f"header row on line {line}, not line 1: the csv format reads line 1 as the header, so the partner "
                f"should delete the {line - 1} line(s) above it (this profile skipped them; the file as it is fails)"
            )
        if not complete:
            notes.append(f"read its first {MAX_BYTES:,} bytes only (the file is larger)")
    delimiter = read.detected["delimiter"]
    notes[:0] = [
        f"encoding {codec} ({reason})",
        f"delimiter {delimiter!r} (it splits the header into the most columns)",
    ]
    if sniff.looks_like_data(read.table.column_names):
        notes.append("line 1 looks like a row of data, not column names: the csv format needs a header row")
    block = _non_default({"delimiter": delimiter, "encoding": codec}, csv_reader.OPTIONS)
    return _sample(path, "csv", read, block, notes, line == 1)


def _copy_from_line(head: bytes, encoding: sniff.Encoding, complete: bool, line: int, work: Path) -> Path:
    """The head's lines from ``line`` on, in UTF-8 (a last line cut by MAX_BYTES left out)."""
    lines = io.StringIO(sniff.decode_head(head, encoding, complete), newline="").readlines()
    copy = work / "sample.csv"
    copy.write_text("".join(lines[line - 1 : len(lines) if complete else -1]), encoding="utf-8")
    return copy


# ---------------------------------------------------------------- XLSX


def _xlsx_sample(path: Path, sheet: str | None, score: SheetScore) -> Sample:
    """The sheet named, else the one whose columns match a resource best (the first on a tie); its
    header row is row 1 unless row 1 names fewer columns than a row below it (a title above the table)."""
    limits = DEFAULT_LIMITS.start()
    with open_package(path, limits) as package:
        names = [s.name for s in read_workbook(package).sheets if not s.is_chart]
    if sheet is not None and sheet not in names:
        raise UsageError(f"{path}: the workbook has no sheet '{sheet}' (sheets: {', '.join(names)})")
    candidates = [sheet] if sheet is not None else names[:MAX_SHEETS]
    reads = {name: _sheet(path, name) for name in candidates}
    scores = {name: score(read.table.column_names) for name, (read, _) in reads.items()}
    chosen = max(candidates, key=lambda name: scores[name])  # the first of the best
    read, header_row = reads[chosen]
    notes = [f"sheet '{chosen}'" + ("" if sheet else " (of the sheets, its columns match a resource best)")]
    if len(names) > 1:
        notes.append(
            f"the workbook has the sheets {', '.join(names)}: each is its own source entry; profile another "
            "with --sheet NAME"
        )
    notes.append(f"header row {header_row}")
    block: dict[str, Any] = {"sheet": chosen} if len(names) > 1 else {}  # one sheet: the default, the first
    block.update(_non_default({"header_row": header_row}, xlsx_reader.OPTIONS))
    return _sample(path, "xlsx", read, block, notes, True)


def _sheet(path: Path, sheet: str) -> tuple[ReadResult, int]:
    """A sheet read with its header row: row 1, or the first row of the first MAX_HEADER_ROW that
    names the most columns when row 1 names fewer than two."""
    read = _read(xlsx_reader, path, {"sheet": sheet, "header_row": 1})
    if _named(read.table.column_names) >= 2:
        return read, 1
    best, best_row = read, 1
    for row in range(2, MAX_HEADER_ROW + 1):
        try:
            candidate = _read(xlsx_reader, path, {"sheet": sheet, "header_row": row})
        except PartnerFileError:  # the sheet has no such row, or two columns of one name there
            continue
        if _named(candidate.table.column_names) > _named(best.table.column_names):
            best, best_row = candidate, row
    return best, best_row


def _named(columns: list[str]) -> int:
    return sum(1 for c in columns if not c.startswith("(column "))


# ---------------------------------------------------------------- JSON


def _json_sample(path: Path) -> Sample:
    """The longest list of objects in the document is the records (a list at the top: record_path "")."""
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    encoding = sniff.detect_encoding(head, False)
    codec = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else encoding.codec
    document = json_reader.load_document(path, codec, DEFAULT_LIMITS.start())
    record_path = _record_path(document)
    del document
    if record_path is None:
        raise PartnerFileError("the JSON document holds no list of objects (records) anywhere")
    read = _read(json_reader, path, {"record_path": record_path, "encoding": codec})
    notes = [f"encoding {codec} ({encoding.reason})", f"records at {record_path or 'the top of the document'}"]
    block = _non_default({"record_path": record_path, "encoding": codec}, json_reader.OPTIONS)
    return _sample(path, "json", read, block, notes, True)


def _record_path(document: Any) -> str | None:
    """The dotted path to the longest list of objects, looked for breadth first (None: there is none)."""
    best: tuple[int, str] | None = None
    level: list[tuple[str, Any]] = [("", document)]
    for _ in range(8):
        below: list[tuple[str, Any]] = []
        for path, node in level:
            if isinstance(node, list) and node and sum(isinstance(item, dict) for item in node) * 2 > len(node):
                if best is None or len(node) > best[0]:
                    best = (len(node), path)
            elif isinstance(node, dict):
                below += [(f"{path}.{key}" if path else key, value) for key, value in node.items() if "." not in key]
        level = below
    return None if best is None else best[1]


# ---------------------------------------------------------------- shared


def _read(reader: Any, body: Path, options: Mapping[str, Any]) -> ReadResult:
    """The reader on the body, with options as a source entry gives them (their defaults filled in)."""
    (read,) = reader.read([body], reader.parse_options(options, "profile"), ";", DEFAULT_LIMITS.start())
    return read


def _sample(path: Path, fmt: str, read: ReadResult, block: dict[str, Any], notes: list[str], matches: bool) -> Sample:
    rows = read.table.num_rows
    if rows > MAX_ROWS:
        notes.append(f"profiled the first {MAX_ROWS:,} of its {rows:,} rows")
    return Sample(path, fmt, read.table.slice(0, MAX_ROWS), block, notes, matches_file=matches)


def _non_default(block: Mapping[str, Any], options: Mapping[str, tuple[type, Any]]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if value != options[key][1]}
