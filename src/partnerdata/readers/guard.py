"""The line between a partner's fault and partnerdata's: a parser reading the partner's bytes.

Readers hand the partner's bytes to parsers they did not write (zipfile and zlib, expat,
json, Arrow's CSV parser, codecs). Whatever such a parser raises on those bytes says that the
bytes are not a readable file of the format, so it is the partner's failure: ``parsing``
turns it into an ``UnreadableFile`` naming the file and the parser's own words, and the
snapshot is refused. Only the parser call goes inside the guard: an exception raised by
partnerdata's own code around it (mapping, coercion, checks) is a defect of partnerdata, which
must never mark a partner's snapshot bad (see pipeline.validate_source).

Two exceptions pass through: an OSError with an errno (the machine: a full disk, an I/O
error) and MemoryError (a bound that should have held did not: a defect).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from partnerdata.errors import PartnerdataError, PartnerFileError

T = TypeVar("T")


class UnreadableFile(PartnerFileError):
    """A parser could not read the partner's bytes as the format the source entry names."""


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Run a parser on partner bytes: its failures become the partner's ``UnreadableFile``."""
    try:
        yield
    except PartnerdataError:
        raise
    except MemoryError:
        raise
    except OSError as error:
        if error.errno is not None:
            raise  # the machine's problem, not the file's
        raise UnreadableFile(f"{what}: {_words(error)}") from error
    except RecursionError as error:
        raise UnreadableFile(f"{what}: nested too deeply for the parser") from error
    except Exception as error:  # noqa: BLE001 (any parser failure on partner bytes is the file's)
        raise UnreadableFile(f"{what}: {_words(error)}") from error


def parsed(items: Iterator[T], what: str) -> Iterator[T]:
    """An iterator that parses as it goes (iterparse, a workbook's rows): only its own steps are guarded,
    so an exception in the loop body that consumes it stays a defect of the caller."""
    while True:
        with parsing(what):
            try:
                item = next(items)
            except StopIteration:
                return
        yield item


def _words(error: BaseException) -> str:
    text = " ".join(str(error).split())[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
