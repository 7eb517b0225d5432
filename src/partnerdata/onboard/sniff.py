"""How a partner's file is written: its encoding, where its header is, its decimal mark, its dates.

Pure functions on bytes, text and cell values, for ``partnerdata profile``; what a reader already
finds out itself (the csv reader's ``auto`` encoding and delimiter) is left to the reader.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
HEADER_SCAN_RECORDS = 50  # the records looked at to find the header row
DELIMITERS = ",;\t|"  # what the csv reader's delimiter: auto picks from
ISO_DATE = "%Y-%m-%d"
# strptime formats partners write dates in, the Belgian (day first) ones first: a date such as
# 03/04/2019, which both read, is taken day first. Each reads 25/12/2031 back as that day.
DATE_FORMATS = (
    "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d-%m-%y", "%d.%m.%y", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d",
    "%m/%d/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
)  # fmt: skip
MOST_DATES = 0.5  # a date format is proposed when it reads at least this share of the dates that are not ISO
LIST_SEPARATORS = (";", ",", "|")
COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")  # 2,5 or 1.250,75
POINT_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d+$")  # 2.5 or 1,250.75
POINT_GROUPS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")  # 1.250 or 1.250,75
COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,250 or 1,250.75
SPACE_GROUPS = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u2009\u202f]\d{3})+([.,]\d+)?$")  # French: 1 250,75
AMBIGUOUS_POINT = re.compile(r"^[+-]?\d{1,3}\.\d{3}$")  # 1.250: a thousand and more, or one and a quarter


@dataclass(frozen=True)
class Encoding:
    codec: str  # utf-8 (a byte-order mark or not), cp1252, latin-1, utf-16, utf-16-le or utf-16-be
    reason: str

    @property
    def reader_option(self) -> str:
        """What to give the csv reader: auto where it tells these apart itself (UTF-8 and Windows-1252)."""
        return "auto" if self.codec in ("utf-8", "cp1252") else self.codec


WINDOWS_1252 = "not UTF-8: Windows-1252, what Excel writes in a Western European locale"


def detect_encoding(head: bytes, complete: bool) -> Encoding:
    """The text encoding of a file from its first bytes (``complete``: the whole file).

    A byte-order mark says UTF-16 (or UTF-8, which the reader drops); UTF-16 without one shows as
    NUL bytes between ASCII letters. Otherwise UTF-8 if the bytes are valid UTF-8, else Windows-1252,
    except for bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), which only Latin-1 reads."""
    if head.startswith(UTF16_MARKS):
        return Encoding("utf-16", "its byte-order mark")
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8", "with a byte-order mark, which the reader drops")
    nuls_even, nuls_odd = head[0:2000:2].count(0), head[1:2000:2].count(0)
    if max(nuls_even, nuls_odd) > len(head[:2000]) // 4:
        return Encoding(
            "utf-16-le" if nuls_odd > nuls_even else "utf-16-be", "no byte-order mark, NUL bytes between the letters"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return Encoding("utf-8", "the bytes are valid UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return Encoding("cp1252", WINDOWS_1252)
    except UnicodeDecodeError as error:
        byte = head[error.start : error.start + 1]
        return Encoding("latin-1", f"neither UTF-8 nor Windows-1252, which has no character {byte!r}")


def decode_head(head: bytes, encoding: Encoding, complete: bool) -> str:
    """The text of a file's first bytes (a UTF-8 byte-order mark dropped; a character cut at the end left out)."""
    codec = "utf-8-sig" if encoding.codec == "utf-8" else encoding.codec
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(head, final=complete)


def header_line(text: str) -> int:
    """The line (from 1) where the header row starts: the first record with as many cells as most
    records have, when a title or an export date sits above the column names."""
    best: tuple[float, int] = (0.0, 1)
    for delimiter in DELIMITERS:
        records = _records(text, delimiter)
        counts = Counter(len(cells) for _, cells in records)
        if not counts:
            continue
        width, often = counts.most_common(1)[0]
        if width < 2:
            continue
        first = next(line for line, cells in records if len(cells) == width and sum(map(bool, cells)) * 2 >= width)
        if often / len(records) > best[0]:
            best = (often / len(records), first)
    return best[1]


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The first records of text as (line where the record starts, cells); blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, previous_end = [], 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append((start, [cell.strip() for cell in cells]))
            if len(records) >= HEADER_SCAN_RECORDS:
                break
    except csv.Error:  # a quote left open at the end of the sample: the records before it decide
        pass
    return records


def looks_like_data(names: Sequence[str]) -> bool:
    """Whether a header row looks like a row of data (most names are numbers or dates): a file without a header."""
    values = [name for name in names if name and not name.startswith("(column ")]
    numeric = [v for v in values if re.fullmatch(r"[+-]?[0-9][0-9.,/: -]*", v)]
    return bool(values) and len(numeric) * 2 > len(values)


def number_marks(values: Iterable[str]) -> tuple[str, str | None]:
    """The decimal mark and the thousands separator (None: none seen) of number cells written as text."""
    cells = [value.strip() for value in values if value.strip()]
    comma = sum(1 for c in cells if COMMA_DECIMAL.match(c))
    point = sum(1 for c in cells if POINT_DECIMAL.match(c) and not AMBIGUOUS_POINT.match(c))
    decimal = "," if comma > point else "."
    thousands = None
    if decimal == "," and any(POINT_GROUPS.match(c) for c in cells):
        thousands = "."
    elif decimal == "." and any(COMMA_GROUPS.match(c) for c in cells):
        thousands = ","
    spaced = next((c for c in cells if SPACE_GROUPS.match(c)), None)
    if thousands is None and spaced is not None:
        thousands = next(ch for ch in spaced if not ch.isdigit() and ch not in "+-.,")
    return decimal, thousands


@dataclass(frozen=True)
class DateFormat:
    format: str | None  # None: ISO dates, or no format reads most of them
    read: int  # dates the proposal reads (ISO ones included)
    total: int  # dates looked at


def date_format(values: Iterable[str]) -> DateFormat:
    """The strptime format that reads the most of the dates that are not ISO (the run reads ISO dates
    whatever the format); None when every date is ISO or no format reads most of the others."""
    cells = [value.strip() for value in values if value.strip()]
    other = [cell for cell in cells if not _reads(cell, ISO_DATE)]
    if not other:
        return DateFormat(None, len(cells), len(cells))
    read, best = max(((sum(_reads(cell, f) for cell in other), f) for f in DATE_FORMATS), key=lambda pair: pair[0])
    if read < MOST_DATES * len(other):
        return DateFormat(None, len(cells) - len(other), len(cells))
    return DateFormat(best, len(cells) - len(other) + read, len(cells))


def _reads(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def list_separators(values: Iterable[str]) -> Counter[str]:
    """How many cells hold each of the usual list separators."""
    counts: Counter[str] = Counter()
    for value in values:
        counts.update(separator for separator in LIST_SEPARATORS if separator in value)
    return counts
