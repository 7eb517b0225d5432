"""The one small interface every reader implements, and the helpers readers share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.readers.limits import Limits


@dataclass(frozen=True)
class Lines:
    """The positions of a text file with one line per record: record i is on line first + i."""

    rows: int
    first: int = 2  # the header is line 1

    def __len__(self) -> int:
        return self.rows


@dataclass(frozen=True)
class ReadResult:
    """What a reader found in one snapshot."""

    table: pa.Table  # every column is a string column
    positions: Sequence[str] | pa.Array | Lines  # per row: "line 7", "sheet Projecten row 12", "data.activities[3]"
    decimal: str = "."  # decimal mark of the numbers in the text cells
    thousands: str | None = None  # thousands separator of those numbers, if any
    detected: Mapping[str, Any] = field(default_factory=dict)  # what the reader had to find out itself
    resource: str | None = None  # None: partner columns, mapped by `columns`; else canonical fields of this resource
    list_separator: str | None = None  # separator the reader joined list items with (None: the source's)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # rows the reader could not take:
    # (position, what is wrong, the row's text); each is a rejected row, counted among the rows read
    # A standard format's reader: the columns (or elements) of the partner's file, each with whether it
    # maps them; the drift check compares them with the previous good snapshot's (run/judge.py).
    source_columns: Mapping[str, bool] | None = None


def position_array(read: ReadResult) -> pa.Array:
    """The positions as an Arrow string array."""
    positions = read.positions
    if isinstance(positions, Lines):
        numbers = pa.array(np.arange(positions.first, positions.first + positions.rows, dtype=np.int64))
        return pc.binary_join_element_wise("line ", pc.cast(numbers, pa.string()), "")
    return positions if isinstance(positions, pa.Array) else pa.array(positions, pa.string())


def position_list(read: ReadResult) -> list[str]:
    return position_array(read).to_pylist()


def positions_of(read: ReadResult, rows: Sequence[int]) -> list[str]:
    """The positions of some rows (those with a problem, say), without building all of them."""
    positions = read.positions
    if isinstance(positions, Lines):
        return [f"line {positions.first + row}" for row in rows]
    if isinstance(positions, pa.Array):
        return pc.take(positions, pa.array(rows, pa.int64())).to_pylist()
    return [positions[row] for row in rows]


def text_table(rows: list[dict[str, str]]) -> pa.Table:
    """A table of text columns from row dictionaries (columns in first-seen order; gaps are empty)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table({name: pa.array([row.get(name) or "" for row in rows], pa.string()) for name in names})


def looks_like(body: Path) -> str:
    """What a file's first bytes say it is: "JSON", "XML" (HTML included), "a zip archive (XLSX)",
    or "other" (CSV, say), for messages that tell a partner which file a source was given."""
    with open(body, "rb") as file:
        start = file.read(512)
    if start.startswith(b"PK\x03\x04"):
        return "a zip archive (XLSX)"
    marks = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
    codec = next((c for mark, c in marks if start.startswith(mark)), None)
    if codec is not None:
        text = start.decode(codec, errors="ignore").removeprefix("\ufeff")
    elif start[:2] in (b"<\0", b"\0<"):  # UTF-16 without its mark
        return "XML"
    else:
        text = start.decode("latin-1")
    first = text.lstrip()[:1]
    return {"{": "JSON", "[": "JSON", "<": "XML"}.get(first, "other")


class Reader(Protocol):
    RESOURCES: tuple[str, ...] | None  # the resources a standard format fills; None for a generic format

    def parse_options(self, block: Mapping[str, Any], where: str) -> Mapping[str, Any]: ...

    def read(
        self, bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits
    ) -> list[ReadResult]: ...
