"""How much of a partner's file a reader takes, at most: every reader is bounded.

A small file can unpack to gigabytes (a zip bomb, shared strings that repeat, cells that
reach column XFD, elements nested a million deep). Each reader counts what it unpacks and
holds against these limits and stops with a ``LimitExceeded`` that names the sources.yaml key,
so a hostile or broken file fails as its own source, quickly, with the memory of a normal run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from partnerdata.errors import LimitExceeded

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 100 * MiB
DEFAULT_MAX_COLUMNS = 2_000
DEFAULT_MAX_CELLS = 5_000_000
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_READ_SECONDS = 300.0


@dataclass(frozen=True)
class Limits:
    """The limits of one source (sources.yaml keys of the same names), for one read."""

    max_bytes: int = DEFAULT_MAX_BYTES  # bytes a reader unpacks from one body: every part of a workbook
    max_columns: int = DEFAULT_MAX_COLUMNS  # columns of a table (the header, the furthest cell)
    max_cells: int = DEFAULT_MAX_CELLS  # cells of a table (rows x columns), values of a JSON page, XML elements held
    max_depth: int = DEFAULT_MAX_DEPTH  # nesting of XML elements and of JSON objects and arrays
    max_read_seconds: float = DEFAULT_MAX_READ_SECONDS  # wall-clock time to read one snapshot
    started: float | None = None  # time.monotonic() when reading began; None: not yet

    def start(self) -> Limits:
        """The same limits with the clock started now."""
        return Limits(self.max_bytes, self.max_columns, self.max_cells, self.max_depth, self.max_read_seconds,
                      time.monotonic())  # fmt: skip

    def check_time(self, where: str = "") -> None:
        """Raise once reading has taken longer than max_read_seconds (readers call this as they go)."""
        if self.started is not None and time.monotonic() - self.started > self.max_read_seconds:
            raise LimitExceeded(
                "max_read_seconds",
                f"{where + ': ' if where else ''}reading took longer than max_read_seconds "
                f"({self.max_read_seconds:g} s); stopped",
            )

    def check_bytes(self, count: int, what: str) -> None:
        if count > self.max_bytes:
            raise LimitExceeded(
                "max_bytes", f"{what} unpacks to more than max_bytes ({self.max_bytes:,} bytes); stopped reading"
            )

    def check_columns(self, count: int, what: str) -> None:
        if count > self.max_columns:
            raise LimitExceeded(
                "max_columns", f"{what} has {count:,} columns, more than max_columns ({self.max_columns:,})"
            )

    def check_cells(self, count: int, what: str) -> None:
        if count > self.max_cells:
            raise LimitExceeded(
                "max_cells", f"{what} holds more than max_cells ({self.max_cells:,}) cells; stopped reading"
            )

    def check_depth(self, depth: int, what: str) -> None:
        if depth > self.max_depth:
            raise LimitExceeded("max_depth", f"{what} is nested deeper than max_depth ({self.max_depth}) levels")


DEFAULT_LIMITS = Limits()  # what a reader takes when the caller names no source
