"""JSON from a partner's web API or export: a list of records somewhere in the document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from partnerdata.errors import ConfigError
from partnerdata.readers import ReadResult
from partnerdata.readers.options import check_options

RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "record_path": (str, ""),  # dotted path to the list of records; "" when the document is the list
    "encoding": (str, "utf-8"),
    "pagination": (dict, None),  # how to ask an API for the next page; see PAGINATION
}
# style -> its options with defaults; the fetcher (partnerdata.fetch) follows them
PAGINATION = {
    "page": {"page_param": "page", "size_param": "per_page", "size": 100, "first_page": 1},
    "offset": {"offset_param": "offset", "size_param": "limit", "size": 100},
    "next_link": {"next_path": "next"},
    "link_header": {},
}


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    if options["pagination"] is not None:
        options["pagination"] = _check_pagination(options["pagination"], f"{where}: option 'pagination'")
    return options


def _check_pagination(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    style = block.get("style")
    if style not in PAGINATION:
        raise ConfigError(f"{where}: 'style' must be one of {', '.join(PAGINATION)}, got {style!r}")
    allowed = {key: (type(default), default) for key, default in PAGINATION[style].items()}
    allowed["max_pages"] = (int, 1000)
    options = check_options({k: v for k, v in block.items() if k != "style"}, allowed, where)
    for key in ("size", "max_pages"):
        if key in options and options[key] < 1:
            raise ConfigError(f"{where}: '{key}' must be at least 1, got {options[key]}")
    return {"style": style, **options}


def read(bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str) -> list[ReadResult]:
    """Flatten each record: nested objects become dotted column names, arrays become
    text joined by the source's list separator, numbers and booleans become text.
    An API's pages are read in order; a position names the page when there are several."""
    record_path = options["record_path"]
    label = record_path or "records"
    flat: list[dict[str, str]] = []
    positions: list[str] = []
    for number, body in enumerate(bodies, start=1):
        where = f"page {number} " if len(bodies) > 1 else ""
        try:
            document = json.loads(Path(body).read_bytes().decode(options["encoding"]))
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}the file is not valid {options['encoding']}: {error}") from None
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{where}not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        for index, record in enumerate(_follow(document, record_path)):
            positions.append(f"{where}{label}[{index}]")
            flat.append(_flatten(record, list_separator, positions[-1]))
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    table = pa.table({name: pa.array([row.get(name, "") for row in flat], pa.string()) for name in names})
    return [ReadResult(table=table, positions=positions)]


def _follow(document: Any, record_path: str) -> list[Any]:
    node = document
    walked = []
    for step in record_path.split(".") if record_path else []:
        if not isinstance(node, dict) or step not in node:
            keys = ", ".join(node) if isinstance(node, dict) else type(node).__name__
            raise ValueError(
                f"json.record_path '{record_path}': no key '{step}' under '{'.'.join(walked) or 'the top'}' (found: {keys})"
            )
        node = node[step]
        walked.append(step)
    if not isinstance(node, list):
        raise ValueError(f"json.record_path '{record_path}' leads to a {type(node).__name__}, not a list of records")
    return node


def _flatten(record: Any, list_separator: str, where: str) -> dict[str, str]:
    if not isinstance(record, dict):
        raise ValueError(f"{where} is a {type(record).__name__}, not an object")
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(node, list):
            flat[prefix] = list_separator.join(_text(item) for item in node if item is not None)
        else:
            flat[prefix] = _text(node)

    walk(record, "")
    return flat


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
