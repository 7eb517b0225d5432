"""The parts of an XLSX package, each read in one bounded, streaming pass.

An XLSX file is a zip of XML parts: ``_rels/.rels`` names the workbook part, the workbook's
relationships name its sheets, styles and shared strings. This module opens the zip and reads
those parts the way the reader needs them, on the standard library only (zipfile and expat),
because a partner's workbook can be hostile or broken: a small zip can unpack to gigabytes of
shared strings, a part can declare entities that expand without end, nest elements a million
deep, or be cut off. So every part is unpacked in chunks, the bytes counted as they come out
(a zip entry's declared size can lie) against ``max_bytes`` for the whole workbook, and fed to
expat through ``expat_feed``, which refuses any DOCTYPE (so no entity is ever declared or loaded)
and any single tag longer than its MAX_TOKEN_BYTES; the handlers refuse any element deeper than
``max_depth``. Whatever zipfile, zlib or expat raise runs inside ``guard.parsing``: it is the
file's fault; what the handlers (our code) raise is not.

The element handlers (``PartHandler`` and its subclasses) keep what the reader needs and
nothing else, each count bounded; ``xlsx_reader`` turns the worksheet's cells into a table.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import struct
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

from partnerdata.errors import PartnerFileError
from partnerdata.readers.expat_feed import Feed
from partnerdata.readers.guard import parsing
from partnerdata.readers.limits import Limits

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "  # expat: "<namespace> <local name>"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships "
SST, SI, T, R = MAIN + "sst", MAIN + "si", MAIN + "t", MAIN + "r"
RELATIONSHIP_ID = "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"
MAX_ENTRIES = 10_000  # zip entries: a workbook has a few dozen; a zip listing more is not one we read
DIRECTORY_BYTES_PER_ENTRY = 512  # central directory bytes an entry takes at most, as XLSX writers name parts
CHUNK_BYTES = 64 * 1024  # unpacked bytes handed to expat at a time
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what XLSX writers use; zipfile unpacks
# bzip2 and lzma entries without an output bound, so a few compressed bytes could fill the memory

# A cell format's kind (``Workbook.cell_formats``): what a number cell with that style holds.
NUMBER, DATE, DURATION = 0, 1, 2


class PartHandler:
    """expat callbacks for one part; subclasses give ``start`` and ``end``. The text of an element
    is collected as ElementTree gives its ``.text``: the characters before its first child."""

    def __init__(self, part: str, limits: Limits) -> None:
        self.part = part
        self.limits = limits
        self.text: list[str] = []
        self.collecting = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        raise NotImplementedError

    def end(self, name: str) -> None:
        raise NotImplementedError

    def data(self, text: str) -> None:
        if self.collecting:
            self.text.append(text)

    def collect(self) -> None:
        self.text = []
        self.collecting = True

    def too_deep(self, depth: int) -> None:
        self.limits.check_depth(depth, f"part {self.part} of the workbook")

    def held(self, count: int, what: str) -> None:
        """Bound what a part makes the reader keep (strings, formats, relationships) by max_cells."""
        if count > self.limits.max_cells:
            self.limits.check_cells(count, f"part {self.part} of the workbook ({what})")


class TreeHandler(PartHandler):
    """For the small parts: ``kinds`` holds the kinds of the open elements (its length is the
    depth), looked up in TRANSITIONS by the parent's kind and the element's name, so an element
    counts only where it belongs; ``opened`` is called for the kinds a subclass names."""

    TRANSITIONS: ClassVar[dict[tuple[int, str], int]] = {}
    OTHER, DOCUMENT, ROOT = 0, 1, 2  # a subclass numbers its own kinds from 3

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.kinds = [self.DOCUMENT]

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if len(self.kinds) > self.limits.max_depth:
            self.too_deep(len(self.kinds))
        kind = self.TRANSITIONS.get((self.kinds[-1], name), self.OTHER)
        self.kinds.append(kind)
        if kind != self.OTHER:
            self.opened(kind, attributes)

    def end(self, name: str) -> None:
        self.kinds.pop()

    def opened(self, kind: int, attributes: dict[str, str]) -> None:
        raise NotImplementedError


class RichTextHandler(PartHandler):
    """For the parts a reader goes through cell by cell (shared strings, the sheet), where a call
    per element must be cheap: the element's context comes from its depth and the open elements
    the subclass tracks, not a stack. This class reads a string (a shared ``<si>``, an inline
    ``<is>``): its own ``<t>`` and the ``<t>`` of each rich-text run ``<r>``, joined as openpyxl
    joins them (the plain text first); phonetic runs ``<rPh>`` are a reading aid, not the text.
    ``level`` is the depth below the string's element."""

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.max_depth, self.max_cells = limits.max_depth, limits.max_cells
        self.depth = 0
        self.plain: str | None = None
        self.runs: list[str] = []
        self.run: str | None = None
        self.in_run = False

    def start_string(self) -> None:
        self.plain, self.runs, self.in_run = None, [], False

    def string(self) -> str:
        return ((self.plain or "") + "".join(self.runs)) if self.runs else (self.plain or "")

    def start_in_string(self, name: str, level: int) -> None:
        if level == 1:
            if name == T:
                self.collect()
            elif name == R:
                self.run, self.in_run = None, True
        elif level == 2 and self.in_run and name == T:
            self.collect()

    def end_in_string(self, name: str, level: int) -> None:
        if level == 1:
            if name == T:
                self.plain = "".join(self.text)  # a second <t> replaces the first, as in openpyxl
            elif name == R:
                if self.run is not None:
                    self.runs.append(self.run)
                self.in_run = False
        elif level == 2 and self.in_run and name == T:
            self.run = "".join(self.text)


@dataclass(frozen=True)
class Sheet:
    name: str
    part: str | None  # None: the workbook's relationships name no part for it in the zip
    relationship: str  # the r:id that should name its part, for messages
    is_chart: bool


@dataclass(frozen=True)
class Workbook:
    sheets: tuple[Sheet, ...]
    epoch: dt.datetime  # of date serial numbers: 1899-12-30, or 1904-01-01 for the 1904 date system
    cell_formats: bytes  # per cell format (a cell's ``s``): NUMBER, DATE or DURATION
    shared_strings_part: str | None


class Package:
    """An open XLSX zip and the count of the bytes unpacked from it so far."""

    def __init__(self, archive: zipfile.ZipFile, size: int, limits: Limits) -> None:
        self.archive = archive
        self.size = size  # of the zip file, in bytes
        self.limits = limits
        self.unpacked = 0

    def has(self, part: str) -> bool:
        return part in self.archive.NameToInfo

    def parse(self, part: str, handler: PartHandler, each_chunk: Callable[[], None] | None = None) -> None:
        """Feed the part to expat a chunk at a time; after each chunk ``each_chunk`` takes what the
        handler found, so memory stays one chunk's worth (and the reader's own work on it runs
        outside the parser: a failure there is not the file's)."""
        feed = Feed(f"part {part} of the workbook", self.limits, handler.start, handler.end, handler.data)
        with closing(self._chunks(part)) as chunks:  # closes the part's stream when reading stops early
            for chunk in chunks:
                feed.chunk(chunk)
                if each_chunk is not None:
                    each_chunk()
        feed.close()
        if each_chunk is not None:
            each_chunk()

    def _chunks(self, part: str) -> Generator[bytes, None, None]:
        info = self.archive.NameToInfo.get(part)
        if info is None:
            raise PartnerFileError(f"the workbook has no part {part}")
        if info.compress_type not in COMPRESSIONS:
            raise PartnerFileError(
                f"part {part} of the workbook is compressed with zip method {info.compress_type}; "
                f"an XLSX workbook is stored or deflated (methods 0 and 8)"
            )
        damaged = f"part {part} of the workbook cannot be unpacked (the zip is damaged)"
        if not 0 <= info.header_offset <= self.size - 30:  # zipfile would seek there: a negative offset
            raise PartnerFileError(f"{damaged}: its entry starts outside the file")  # is an OSError, not the file's
        with parsing(damaged):
            stream = self.archive.open(info)
        with stream:
            while True:
                with parsing(damaged):
                    chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    return
                self.unpacked += len(chunk)
                self.limits.check_bytes(self.unpacked, f"the workbook (its parts up to {part})")
                yield chunk


@contextmanager
def open_package(path: Path, limits: Limits) -> Iterator[Package]:
    """The workbook's zip, once its central directory lists a sane number of entries."""
    size = _check_declared_entries(path)
    with parsing("the file is not an XLSX workbook (not a readable zip archive)"):
        archive = zipfile.ZipFile(path)
    with archive:
        entries = len(archive.infolist())
        if entries > MAX_ENTRIES:
            raise PartnerFileError(f"the workbook's zip holds {entries:,} entries, more than {MAX_ENTRIES:,}")
        yield Package(archive, size, limits)


def _check_declared_entries(path: Path) -> int:
    """Refuse a zip whose end record declares absurdly many entries or a huge central directory
    before zipfile builds an object per entry (a 50 MB zip can list a million empty ones).
    A file without an end record passes: zipfile says it is not a zip. Returns the file's size."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - (22 + 0xFFFF + 76)))  # the end record, its comment, zip64's records
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return size
    entries, directory_bytes = struct.unpack_from("<HI", tail, at + 10)
    if at >= 76 and tail[at - 20 : at - 16] == b"PK\x06\x07" and tail[at - 76 : at - 72] == b"PK\x06\x06":
        entries, directory_bytes = struct.unpack_from("<QQ", tail, at - 76 + 32)  # zip64, as zipfile reads it
    if entries > MAX_ENTRIES or directory_bytes > MAX_ENTRIES * DIRECTORY_BYTES_PER_ENTRY:
        raise PartnerFileError(
            f"the workbook's zip declares {entries:,} entries in {directory_bytes:,} bytes of directory, "
            f"more than {MAX_ENTRIES:,} entries: not a workbook partnerdata reads"
        )
    return size


def read_workbook(package: Package) -> Workbook:
    """The sheets, the date system, the cell formats and where the shared strings are."""
    workbook_part = "xl/workbook.xml"
    if package.has("_rels/.rels"):
        workbook_part = _target(_relationships(package, "_rels/.rels"), "/officeDocument") or workbook_part
    if not package.has(workbook_part):
        raise PartnerFileError(f"the zip holds no workbook (no part {workbook_part}): not an XLSX file")
    rels_part = _rels_part(workbook_part)
    relationships = _relationships(package, rels_part) if package.has(rels_part) else {}
    content = WorkbookHandler(workbook_part, package.limits)
    package.parse(workbook_part, content)
    sheets = tuple(_sheet(package, relationships, name, rid) for name, rid in content.sheets)
    styles_part = _target(relationships, "/styles") or "xl/styles.xml"
    strings_part = _target(relationships, "/sharedStrings") or "xl/sharedStrings.xml"
    return Workbook(
        sheets=sheets,
        epoch=MAC_EPOCH if content.date1904 else WINDOWS_EPOCH,
        cell_formats=_cell_formats(package, styles_part) if package.has(styles_part) else b"",
        shared_strings_part=strings_part if package.has(strings_part) else None,
    )


def read_shared_strings(package: Package, part: str | None) -> list[str]:
    if part is None:
        return []
    handler = SharedStringsHandler(part, package.limits)
    package.parse(part, handler)
    return handler.strings


def _sheet(package: Package, relationships: dict[str, tuple[str, str]], name: str, rid: str) -> Sheet:
    kind, part = relationships.get(rid, ("", ""))
    return Sheet(name, part if part and package.has(part) else None, rid, kind.endswith("/chartsheet"))


def _relationships(package: Package, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a .rels part; targets are relative to the folder
    of the part the relationships belong to, or absolute (/xl/...). External targets are left out."""
    handler = RelationshipsHandler(part, package.limits)
    package.parse(part, handler)
    folder = posixpath.dirname(posixpath.dirname(part))
    return {
        rid: (kind, target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target)))
        for rid, kind, target in handler.relationships
    }


def _target(relationships: dict[str, tuple[str, str]], type_suffix: str) -> str | None:
    return next((target for kind, target in relationships.values() if kind.endswith(type_suffix)), None)


def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _cell_formats(package: Package, part: str) -> bytes:
    """What each cell format makes of a number, from its number format (openpyxl's rule: a custom
    ``numFmt`` of the same id wins over the built-in one; a date format makes a date, a duration
    format such as [h]:mm a duration)."""
    handler = StylesHandler(part, package.limits)
    package.parse(part, handler)
    kinds: dict[int, int] = {}
    for format_id in set(handler.cell_format_ids):
        code = handler.number_formats.get(format_id, BUILTIN_FORMATS.get(format_id))
        kinds[format_id] = (DURATION if is_timedelta_format(code) else DATE) if is_date_format(code) else NUMBER
    return bytes(kinds[format_id] for format_id in handler.cell_format_ids)


def _whole_number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise PartnerFileError(f"{what} is '{text[:40]}', not a whole number") from None


class RelationshipsHandler(TreeHandler):
    RELATIONSHIP = 3
    TRANSITIONS = {
        (TreeHandler.DOCUMENT, PACKAGE_RELATIONSHIPS + "Relationships"): TreeHandler.ROOT,
        (TreeHandler.ROOT, PACKAGE_RELATIONSHIPS + "Relationship"): RELATIONSHIP,
    }

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.relationships: list[tuple[str, str, str]] = []  # (id, type, target)

    def opened(self, kind: int, attributes: dict[str, str]) -> None:
        if attributes.get("TargetMode") != "External":
            if len(self.relationships) >= MAX_ENTRIES:
                raise PartnerFileError(
                    f"part {self.part} of the workbook lists more than {MAX_ENTRIES:,} relationships"
                )
            self.relationships.append(
                (attributes.get("Id", ""), attributes.get("Type", ""), attributes.get("Target", ""))
            )


class WorkbookHandler(TreeHandler):
    PROPERTIES, SHEETS, SHEET = 3, 4, 5
    TRANSITIONS = {
        (TreeHandler.DOCUMENT, MAIN + "workbook"): TreeHandler.ROOT,
        (TreeHandler.ROOT, MAIN + "workbookPr"): PROPERTIES,
        (TreeHandler.ROOT, MAIN + "sheets"): SHEETS,
        (SHEETS, MAIN + "sheet"): SHEET,
    }

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.sheets: list[tuple[str, str]] = []  # (name, relationship id)
        self.date1904 = False

    def opened(self, kind: int, attributes: dict[str, str]) -> None:
        if kind == self.PROPERTIES:
            flag = attributes.get("date1904", "")
            self.date1904 = bool(flag) and flag not in ("false", "f", "0")  # openpyxl's reading of the flag
        elif kind == self.SHEET and "name" in attributes and RELATIONSHIP_ID in attributes:
            if len(self.sheets) >= MAX_ENTRIES:
                raise PartnerFileError(f"part {self.part} of the workbook names more than {MAX_ENTRIES:,} sheets")
            self.sheets.append((attributes["name"], attributes[RELATIONSHIP_ID]))


class StylesHandler(TreeHandler):
    NUMBER_FORMATS, NUMBER_FORMAT, CELL_FORMATS, CELL_FORMAT = 3, 4, 5, 6
    TRANSITIONS = {
        (TreeHandler.DOCUMENT, MAIN + "styleSheet"): TreeHandler.ROOT,
        (TreeHandler.ROOT, MAIN + "numFmts"): NUMBER_FORMATS,
        (NUMBER_FORMATS, MAIN + "numFmt"): NUMBER_FORMAT,
        (TreeHandler.ROOT, MAIN + "cellXfs"): CELL_FORMATS,  # not cellStyleXfs: a cell's s counts in cellXfs
        (CELL_FORMATS, MAIN + "xf"): CELL_FORMAT,
    }

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.number_formats: dict[int, str] = {}  # custom number format id -> format code
        self.cell_format_ids: list[int] = []  # per cell format: its number format id

    def opened(self, kind: int, attributes: dict[str, str]) -> None:
        if kind == self.NUMBER_FORMAT:
            number_format = _whole_number(attributes.get("numFmtId", ""), f"part {self.part}: a numFmtId")
            self.number_formats[number_format] = attributes.get("formatCode", "")
            self.held(len(self.number_formats), "number formats")
        elif kind == self.CELL_FORMAT:
            self.cell_format_ids.append(_whole_number(attributes.get("numFmtId", "0"), f"part {self.part}: a numFmtId"))
            self.held(len(self.cell_format_ids), "cell formats")


class SharedStringsHandler(RichTextHandler):
    """``<sst>`` (depth 1) holds a ``<si>`` (depth 2) per string."""

    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(part, limits)
        self.strings: list[str] = []
        self.in_table = self.in_string = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        depth = self.depth
        if depth > self.max_depth:
            self.too_deep(depth)
        self.collecting = False
        if depth == 3:
            if self.in_string:
                if name == T:  # the commonest element: <si><t>, done here for speed
                    self.text, self.collecting = [], True
                else:
                    self.start_in_string(name, 1)
        elif depth == 2:
            if name == SI and self.in_table:
                self.in_string = True
                self.start_string()
        elif depth > 3:
            if self.in_string:
                self.start_in_string(name, depth - 2)
        else:
            self.in_table = name == SST

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        self.collecting = False
        if depth == 3:
            if self.in_string:
                if name == T:
                    self.plain = "".join(self.text)
                else:
                    self.end_in_string(name, 1)
        elif depth == 2:
            if self.in_string:
                self.in_string = False
                self.strings.append(self.string().replace("x005F_", ""))  # as openpyxl unescapes _x005F_ ("_")
                if len(self.strings) > self.max_cells:
                    self.held(len(self.strings), "shared strings")
        elif depth > 3 and self.in_string:
            self.end_in_string(name, depth - 2)
