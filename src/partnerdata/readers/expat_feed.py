"""Partner XML fed to expat a chunk at a time, bounded, with the parser's faults told apart from ours.

Both XML readers (the XLSX parts, IATI) go through here, so they refuse the same things:

- a document type or entity declaration, whatever the file's encoding (an entity expands a
  small file into gigabytes; a byte search for ``<!DOCTYPE`` misses it in UTF-16);
- a single tag or comment longer than MAX_TOKEN_BYTES (expat holds a tag whole: a tag of two
  million attributes becomes a dict fifteen times its size, in one call that no clock checks);
- reading past ``max_read_seconds`` (checked after every chunk).

What expat raises on the bytes is the file's fault (``guard.parsing``). The callbacks are
partnerdata's own code, though: an exception in one is kept aside while expat unwinds and raised
again outside the guard, so that a bug there stays a defect of partnerdata, and a limit a
callback enforces stays that limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from partnerdata.errors import PartnerFileError
from partnerdata.readers.guard import parsing
from partnerdata.readers.limits import Limits

CHUNK_BYTES = 1 << 16
MAX_TOKEN_BYTES = 4 * 1024 * 1024


class _CallbackFailed(Exception):
    """Raised through expat when one of our callbacks failed; the real exception waits in Feed.failures."""


class Feed:
    """One expat parser for one XML document, and what its callbacks raised."""

    def __init__(
        self,
        what: str,
        limits: Limits,
        start: Callable[[str, dict[str, str]], Any],
        end: Callable[[str], Any],
        data: Callable[[str], Any],
        namespace_separator: str = " ",
    ) -> None:
        self.what = what  # "part xl/worksheets/sheet1.xml of the workbook", "the file"
        self.limits = limits
        self.failures: list[BaseException] = []
        self.fed = 0
        parser = expat.ParserCreate(namespace_separator=namespace_separator)
        parser.buffer_text = True  # one call per text run, not one per line
        parser.buffer_size = CHUNK_BYTES
        parser.StartElementHandler = self._own(start)
        parser.EndElementHandler = self._own(end)
        parser.CharacterDataHandler = self._own(data)
        parser.StartDoctypeDeclHandler = self._own(self._refuse_doctype)
        parser.EntityDeclHandler = self._own(self._refuse_entity)
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser = parser

    def chunk(self, octets: bytes) -> None:
        """Parse the next bytes; the callbacks run for what they complete."""
        self._parse(octets, False, f"{self.what} is not well-formed XML")
        self.fed += len(octets)
        if self.fed - self.parser.CurrentByteIndex > MAX_TOKEN_BYTES:  # expat's index: past the last whole token
            raise PartnerFileError(
                f"{self.what} holds a tag or comment of more than {MAX_TOKEN_BYTES:,} bytes "
                f"(at byte {self.parser.CurrentByteIndex:,}); refused"
            )
        self.limits.check_time(self.what)

    def close(self) -> None:
        """The document has ended: a part cut off in the middle fails here."""
        self._parse(b"", True, f"{self.what} is not well-formed XML (cut off?)")

    def _parse(self, octets: bytes, final: bool, message: str) -> None:
        with parsing(message):
            try:
                self.parser.Parse(octets, final)
            except _CallbackFailed:
                pass  # raised below, outside the guard: ours, not the file's
        if self.failures:
            raise self.failures[0]

    def _own(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        failures = self.failures

        def call(*args: Any) -> Any:
            try:
                return callback(*args)
            except BaseException as error:  # noqa: BLE001 (kept, and raised again outside the parser)
                failures.append(error)
                raise _CallbackFailed from None

        return call

    def _refuse_doctype(self, *_: object) -> None:
        raise PartnerFileError(
            f"{self.what} declares a DOCTYPE: its entities could expand without bound or load other files, "
            "so it is refused (the files partnerdata reads have none)"
        )

    def _refuse_entity(self, name: str, *_: object) -> None:
        raise PartnerFileError(f"{self.what} declares the entity '{name}'; entities are refused")


def elements(path: Path, limits: Limits, what: str = "the file") -> Iterator[tuple[str, Element]]:
    """("start" | "end", element) pairs, as ``ElementTree.iterparse`` gives them, but bounded as this
    module says and elements nested no deeper than ``max_depth``. The consumer may ``clear()`` what
    it has read, as with iterparse; its own work runs between chunks, outside the parser."""
    builder = TreeBuilder()
    events: list[tuple[str, Element]] = []
    depth = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > limits.max_depth:
            limits.check_depth(depth, f"{what}: element <{name.rsplit('}', 1)[-1]}>")
        events.append(("start", builder.start(_clark(name), {_clark(k): v for k, v in attributes.items()})))

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        events.append(("end", builder.end(_clark(name))))

    feed = Feed(what, limits, start, end, builder.data, namespace_separator="}")
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            feed.chunk(chunk)
            yield from events
            events.clear()
    feed.close()
    yield from events


def _clark(name: str) -> str:
    """expat's "uri}local" as ElementTree writes it, "{uri}local"."""
    return "{" + name if "}" in name else name
