"""Checking a reader's options block from sources.yaml.

A reader's ``parse_options`` is where ``partnerdata check`` refuses every option value that its
``read`` would refuse or trip over at run time; the helpers here are shared by the readers, so
that one option means the same everywhere (an encoding of csv, json and erasmus_plus, a
sheet's row number). ``text_codec`` is the one test of an encoding: parse_options refuses what
it refuses, and read decodes with the name it returns.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any

from partnerdata.errors import ConfigError

KIND_NAMES = {str: "a text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
              dict: "a mapping"}  # fmt: skip
# Text codecs that no partner file is written in: they fail on every byte, or read host names and escapes.
NOT_FILE_ENCODINGS = {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape"}
# The control characters (Unicode category Cc: C0, DEL, C1) and the line and paragraph separators (Zl, Zp).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_options(block: Mapping[str, Any], allowed: Mapping[str, tuple[type, Any]], where: str) -> dict[str, Any]:
    """Return the block with defaults filled in; unknown keys and wrong types are ConfigErrors."""
    if not isinstance(block, Mapping):
        raise ConfigError(f"{where}: expected a mapping of options")
    options = {}
    for key, value in block.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown option '{key}' (known: {', '.join(allowed)})")
        kind = allowed[key][0]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{where}: option '{key}': expected {KIND_NAMES.get(kind, kind.__name__)}, got {value!r}")
        options[key] = value
    for key, (_, default) in allowed.items():
        options.setdefault(key, default)
    return options


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character (C0, DEL, C1) or line or paragraph separator in text that is
    not in ``allowed``; None when there is none."""
    return next((c for c in CONTROL_CHARACTERS.findall(text) if c not in allowed), None)


def text_codec(name: str) -> str:
    """The canonical name of the text encoding ``name`` (``cp1252``, ``utf-8``), to decode a file with.

    LookupError, with a message that says why, for an unknown name and for a codec that is not a
    text encoding: ``rot13`` and ``base64`` exist but turn text into text or bytes into bytes, so
    ``bytes.decode`` refuses them at run time; ``undefined``, ``idna`` and the escape codecs are
    text encodings that no file is written in."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise LookupError(f"unknown encoding {name!r}") from None
    if not info._is_text_encoding:
        raise LookupError(f"{name!r} is not a text encoding (it converts text to text, or bytes to bytes)")
    if info.name in NOT_FILE_ENCODINGS:
        raise LookupError(f"{name!r} is not an encoding that files are written in")
    return info.name


def check_encoding(options: Mapping[str, Any], where: str, auto: bool = False) -> None:
    """Option ``encoding`` must be a text encoding (see ``text_codec``), or ``auto`` where the reader finds it out."""
    name = options["encoding"]
    if auto and name == "auto":
        return
    try:
        text_codec(name)
    except LookupError as error:
        hint = "try utf-8 or cp1252" + (", or auto" if auto else "")
        raise ConfigError(f"{where}: option 'encoding': {error}; {hint}") from None


def check_whole_number(options: Mapping[str, Any], key: str, where: str, minimum: int, maximum: int) -> None:
    """An option that is a whole number (check_options has checked the type) must lie in the range."""
    value = options[key]
    if value is not None and not minimum <= value <= maximum:
        raise ConfigError(
            f"{where}: option '{key}': expected a whole number from {minimum:,} to {maximum:,}, got {value!r}"
        )


def check_name(options: Mapping[str, Any], key: str, where: str) -> None:
    """An option naming something in the partner's file (a sheet, a query parameter) is a text on one
    line, not blank; None (not given) passes."""
    value = options[key]
    if value is None:
        return
    if not value.strip():
        raise ConfigError(
            f"{where}: option '{key}': expected a name, got {value!r}; leave the option out for the default"
        )
    bad = control_character(value)
    if bad is not None:
        raise ConfigError(f"{where}: option '{key}': {value!r} holds the control character {bad!r}; remove it")


def check_dotted_path(options: Mapping[str, Any], key: str, where: str, empty_allowed: bool = False) -> None:
    """A dotted path to a key of a JSON document (``data.activities``): no empty step, on one line."""
    value = options[key]
    if value == "" and empty_allowed:
        return
    bad = control_character(value)
    if bad is not None:
        raise ConfigError(f"{where}: option '{key}': {value!r} holds the control character {bad!r}; remove it")
    if any(step == "" for step in value.split(".")):
        raise ConfigError(
            f"{where}: option '{key}': {value!r} has an empty step; write the keys from the top of the "
            "document joined by single dots (data.activities)"
        )


def check_mark(
    options: Mapping[str, Any], key: str, where: str, ascii_only: bool = False, whitespace: str = ""
) -> None:
    """A one-character option of a CSV dialect (delimiter, quote, decimal mark, thousands separator):
    not a letter or digit (it would cut through the data), not a sign (it would change numbers),
    not a line break or another control character; a space or a tab only where ``whitespace`` has
    it; ASCII where Arrow's CSV parser takes the character as one byte."""
    value = options[key]
    if len(value) != 1:
        raise ConfigError(f"{where}: option '{key}': expected one character, got {value!r}")
    if value.isalnum() or value in "+-" or (value.isspace() or control_character(value)) and value not in whitespace:
        raise ConfigError(
            f"{where}: option '{key}': {value!r} cannot be the {key.replace('_', ' ')} (a letter, a digit, a sign, "
            "a line break or another control character would cut through the values); write the character the "
            "file uses"
        )
    if ascii_only and not value.isascii():
        raise ConfigError(
            f"{where}: option '{key}': {value!r} is not an ASCII character, which the CSV parser needs for the {key}"
        )


def check_distinct_marks(options: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    """No two of the dialect's characters may be the same: a cell could not be read back."""
    given = [(key, options[key]) for key in keys if options.get(key) is not None]
    for index, (key, value) in enumerate(given):
        for other, other_value in given[index + 1 :]:
            if value == other_value:
                raise ConfigError(
                    f"{where}: options '{key}' and '{other}' are both {value!r}; each must be a different character"
                )
