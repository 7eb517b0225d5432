"""Format readers: one module per format behind one small interface.

A reader turns the bytes of a raw snapshot into tables of text cells and says for
each row where a partner finds it in their own file. Types are not decided here:
the mapping and coercion steps do that, from the schemas.

Two kinds of reader:
- generic formats (csv, json, xlsx) return one table with the partner's own columns
  (nested JSON keys become dotted names); the source entry's ``columns`` map them;
- standard formats (a published exchange standard) know their mapping: they return
  one table per resource, with canonical field names, and set ``RESOURCES``.

To add a format, write a module with ``parse_options(block, where)`` (check the
entry's ``<format>:`` block of sources.yaml, raising ConfigError, so that ``partnerdata
check`` refuses every option the run would refuse), ``read(bodies, options, list_separator,
limits)`` returning a list of ReadResult, and ``RESOURCES`` (None for a generic format), then
register it below (the interface is in ``base``).

A reader is bounded (``limits``: bytes unpacked, columns, cells, depth, time) and says what is
wrong with a file by raising a PartnerFileError; the parsers it hands the partner's bytes to
run inside ``guard.parsing``, so that whatever they raise is the file's fault too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import cast

from partnerdata.readers.base import Reader

MODULES = {  # format name in sources.yaml -> the reader's module
    "csv": "csv_reader",
    "json": "json_reader",
    "xlsx": "xlsx_reader",
    "erasmus_plus": "erasmus_plus_reader",
    "iati": "iati_reader",
}


class _Registry(Mapping[str, Reader]):
    """The readers by format name; a reader's module is imported when it is first asked for, so a
    command that reads one format (or only fetches) does not load the parsers of every other."""

    def __getitem__(self, name: str) -> Reader:
        if name not in MODULES:
            raise KeyError(name)
        return cast(Reader, importlib.import_module(f"{__name__}.{MODULES[name]}"))

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


READERS: Mapping[str, Reader] = _Registry()
