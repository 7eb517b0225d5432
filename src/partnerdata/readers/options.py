"""Checking a reader's options block from sources.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnerdata.errors import ConfigError


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
            raise ConfigError(f"{where}: option '{key}': expected a {kind.__name__}, got {value!r}")
        options[key] = value
    for key, (_, default) in allowed.items():
        options.setdefault(key, default)
    return options
