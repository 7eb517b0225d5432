"""JSON from a partner's web API or export: a list of records somewhere in the document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from partnerdata.readers import ReadResult
from partnerdata.readers.options import check_options

OPTIONS = {
    "record_path": (str, ""),  # dotted path to the list of records; "" when the document is the list
    "encoding": (str, "utf-8"),
}


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    return check_options(block, OPTIONS, where)


def read(path: Path, options: Mapping[str, Any], list_separator: str) -> ReadResult:
    """Flatten each record: nested objects become dotted column names, arrays become
    text joined by the source's list separator, numbers and booleans become text."""
    try:
        document = json.loads(Path(path).read_bytes().decode(options["encoding"]))
    except UnicodeDecodeError as error:
        raise ValueError(f"the file is not valid {options['encoding']}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    record_path = options["record_path"]
    records = _follow(document, record_path)
    flat = [_flatten(record, list_separator, f"{record_path or 'records'}[{i}]") for i, record in enumerate(records)]
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    table = pa.table({name: pa.array([row.get(name, "") for row in flat], pa.string()) for name in names})
    positions = [f"{record_path or 'records'}[{i}]" for i in range(len(flat))]
    return ReadResult(table=table, positions=positions)


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
