"""Text made safe for the format it goes into: XML, HTML, a link, Markdown, a spreadsheet cell.

Partner files, settings and withdrawal reasons are text we did not write. Each function here
takes such a text and returns what can be put into one kind of output without breaking the
file (a form feed makes feed.xml not well-formed) or turning data into code (a
``javascript:`` link, a ``<script>`` in a Markdown report, a ``=HYPERLINK(...)`` formula in a
CSV file opened in Excel). They are pure: no I/O, same text in, same text out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

# XML 1.0 (5th edition), production [2] Char: everything else may not appear in a document at
# all, not even as a character reference. Lone surrogates are outside every range, so they go too.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# HTML forbids as well: DEL and the C1 controls, and the noncharacters (U+FDD0-U+FDEF and the
# last two code points of every plane): "control-character-in-input-stream" and
# "noncharacter-in-input-stream" parse errors. U+FFFE and U+FFFF are not XML characters already.
_NOT_HTML = re.compile(
    "[\u007f-\u009f\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
    + "]"
)
# What a URL may never hold unencoded (RFC 3986 leaves these out of every component); the same
# set is excluded from a Turtle IRIREF, so a link safe_link accepts is also a valid IRI in catalog.ttl.
_NOT_IN_URL = frozenset('<>"{}|\\^`')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# The address part of the HTML "valid e-mail address", without ` { | } ^ (which an IRI cannot
# hold), with a domain of at least two labels: a contact point is a public address.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?_~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_BACKTICKS = re.compile("`+")
# Controls that reorder how the text around them is displayed ("Trojan source"): shown escaped in Markdown.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"), with the
# full-width forms some Excel versions read the same way.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 forbids: what may go into feed.xml or a Turtle literal.

    ElementTree escapes ``<`` and ``&`` but writes a form feed or a NUL as it is, and the file is
    then not well-formed for every reader; a reference such as ``&#12;`` is forbidden too.
    So they are removed (tab, line feed and carriage return stay)."""
    return _NOT_XML.sub("", text)


def html_text(text: str) -> str:
    """The text without what XML forbids and what HTML flags as a parse error (DEL, C1 controls,
    noncharacters); still to be escaped with ``html.escape``."""
    return _NOT_HTML.sub("", xml_text(text))


def safe_link(url: str | None, schemes: Iterable[str] = ("http", "https")) -> str | None:
    """The URL, unchanged, when it is an absolute URL of one of ``schemes`` with a host; else None.

    Refused as well: any whitespace or control character anywhere (a browser strips a tab or a
    leading space and then runs ``java\\tscript:``), any character RFC 3986 never allows
    unencoded (``<>"{}|\\^`` and the backtick: also invalid in a Turtle IRI), credentials
    before the host (``https://trusted.example@evil.example``), and an invalid port. The
    scheme is compared case-insensitively, so ``JaVaScRiPt:`` is refused like ``javascript:``."""
    if not isinstance(url, str) or not url or any(_unsafe_in_url(c) for c in url):
        return None
    scheme, colon, _ = url.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme) or scheme.lower() not in {s.lower() for s in schemes}:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number in range)
    except ValueError:
        return None
    if not parts.hostname or "@" in parts.netloc:
        return None
    return url


def mailto_link(address: str | None) -> str | None:
    """``mailto:`` + the address when it is a plausible e-mail address (with or without a
    ``mailto:`` prefix already); else None. ``#``, ``%``, ``/`` and ``?`` of the local part are
    percent-encoded, so the link is one address and a valid IRI."""
    if not isinstance(address, str):
        return None
    if address[:7].lower() == "mailto:":
        address = address[7:]
    if not _EMAIL.fullmatch(address):
        return None
    local, _, domain = address.rpartition("@")
    return "mailto:" + quote(local, safe="!$&'*+=") + "@" + domain


def relative_link(path: str | None) -> str | None:
    """The path when it is a relative reference inside the site (no scheme, no host, not from
    the root), free of whitespace and characters a URL cannot hold; else None.

    For links the catalogue builds from names in datapackage.json: a file named
    ``javascript:alert(1)`` would otherwise become a link with that scheme."""
    if not isinstance(path, str) or not path or any(_unsafe_in_url(c) for c in path):
        return None
    first_segment = re.split("[/?#]", path, maxsplit=1)[0]
    if path.startswith("/") or ":" in first_segment:  # "//host/..." or "scheme:..."
        return None
    return path


def markdown_code(text: str, in_table: bool = False) -> str:
    """The text as a Markdown inline code span: shown literally, never turned into HTML or a link.

    In a code span CommonMark reads no HTML, no link, no emphasis, no entity and no backslash
    escape, so ``<script>``, ``[x](javascript:...)`` and ``**bold**`` show as typed. The fence
    is one backtick longer than the longest run of backticks in the text; a space pads both
    sides when the text starts or ends with a backtick (or with a space on both sides, which a
    renderer would strip). Line breaks, tabs, other control characters, lone surrogates and
    bidirectional controls become visible escapes (``\\n``, ``\\t``, ``\\x0c``, ``\\u202e``), so
    the span stays on one line and shows the same in a plain-text viewer. A backslash stays
    itself: the span is for showing a value, not for recovering it.

    ``in_table``: the span goes into a GFM table cell, where an unescaped ``|`` ends the cell
    even inside a code span; it is written ``\\|``, which GFM shows as ``|``. Empty text gives
    a span holding one space. The span is inline: put it where plain text goes (not inside an
    HTML tag or a link's text of the surrounding document), and do not cut it afterwards."""
    shown = "".join(_visible(c) for c in text)
    if in_table:
        shown = shown.replace("|", "\\|")
    if not shown:
        return "` `"
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    both_spaces = shown.startswith(" ") and shown.endswith(" ") and shown.strip(" ")
    pad = " " if shown[0] == "`" or shown[-1] == "`" or both_spaces else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def spreadsheet_cell(text: str) -> str:
    """The text with a leading ``'`` when a spreadsheet would read it as a formula.

    For the private CSV files maintainers open in Excel or LibreOffice (rejected.csv,
    personal_data.csv): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (or the full-width ``＝ ＋ － ＠``) could run ``=HYPERLINK(...)`` or a DDE command
    (OWASP "CSV injection"). The rule: a plain number (optional sign, digits, one ``.`` or ``,``
    decimal part, optional exponent: ``-5``, ``-1.5``, ``+3``, ``-1,5``, ``1e-3``) is kept as it
    is, since a spreadsheet reads it as that number and nothing else; every other text starting
    with one of those characters gets the ``'`` (``-`` as a placeholder, ``+32 475 12 34 56``,
    ``-1+2``, ``=SUM(A1)``). The spreadsheet hides the ``'`` and shows the text; a program
    reading the CSV sees it, so use this only for files meant for people."""
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _unsafe_in_url(character: str) -> bool:
    """Whitespace, controls, format characters, surrogates, unassigned or private-use code
    points, and the ASCII characters no URL holds unencoded."""
    return character in _NOT_IN_URL or unicodedata.category(character)[0] in "CZ"


def _visible(character: str) -> str:
    """The character, or a Python-style escape when it would break the line or hide itself."""
    if character in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[character]
    category = unicodedata.category(character)
    if category in ("Cc", "Cs", "Zl", "Zp") or character in _BIDI_CONTROLS:
        code = ord(character)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return character
