"""JSON from a partner's web API or export: a list of records somewhere in the document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.errors import ConfigError
from partnerdata.readers import ReadResult
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
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


def read(
    bodies: Sequence[Path], options: Mapping[str, Any], list_separator: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    """Flatten each record: nested objects become dotted column names, arrays become
    text joined by the source's list separator, numbers and booleans become text.
    An API's pages are read in order; a position names the page when there are several."""
    record_path = options["record_path"]
    label = record_path or "records"
    tables, positions = [], []
    for number, body in enumerate(bodies, start=1):  # a page at a time: its Python objects are freed at once
        where = f"page {number} " if len(bodies) > 1 else ""
        try:
            document = json.loads(Path(body).read_bytes().decode(options["encoding"]))
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}the file is not valid {options['encoding']}: {error}") from None
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{where}not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        records = _follow(document, record_path)
        indices = pc.cast(pa.array(np.arange(len(records), dtype=np.int64)), pa.string())
        positions.append(pc.binary_join_element_wise(f"{where}{label}[", indices, "]", ""))
        table = _arrow_flat(records, list_separator)
        if table is None:
            where_each = positions[-1].to_pylist()
            table = _text_columns([_flatten(r, list_separator, where_each[i]) for i, r in enumerate(records)])
        tables.append((table, len(records)))
        del document, records
    position_array = pa.concat_arrays(positions) if positions else pa.array([], pa.string())
    return [ReadResult(table=_stack(tables), positions=position_array)]


def _stack(tables: list[tuple[pa.Table, int]]) -> pa.Table:
    """The pages' text tables (with their record counts) one under the other: columns in first-seen
    order, a column a page lacks is empty there (as a key missing from a record is; a page of
    empty records has no columns at all, but its rows count)."""
    names: dict[str, None] = {}
    for table, _ in tables:
        names.update(dict.fromkeys(table.column_names))
    filled = [
        pa.table(
            {
                name: table.column(name) if name in table.column_names else pa.array([""] * rows, pa.string())
                for name in names
            }
        )
        for table, rows in tables
    ]
    return pa.concat_tables(filled) if filled else pa.table({})


def _text_columns(flat: list[dict[str, str]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    return pa.table({name: pa.array([row.get(name, "") for row in flat], pa.string()) for name in names})


def _arrow_flat(records: list[Any], list_separator: str) -> pa.Table | None:
    """The same flat text table as ``_flatten`` gives, built by Arrow in bulk; or None when the
    records hold something only the record-by-record path handles exactly (a value whose type
    differs between records, an object that is null in some record, an array of objects or with
    nulls, a record that is not an object)."""
    if not records or not all(type(record) is dict for record in records):
        return None
    try:
        array = pa.array(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None
    columns: dict[str, pa.Array] = {}

    def walk(column: pa.Array, name: str, keys: tuple[str, ...]) -> bool:
        kind = column.type
        if pa.types.is_struct(kind):
            if column.null_count:
                return False
            return all(
                walk(child, f"{name}.{kind.field(i).name}" if name else kind.field(i).name, (*keys, kind.field(i).name))
                for i, child in enumerate(column.flatten())
            )
        if _holds_floats(kind) and _bool_among(records, keys):  # Arrow took true as 1.0 there
            return False
        if pa.types.is_list(kind):
            items = column.values  # the items of every row; the offsets say whose
            if pa.types.is_null(items.type):  # arrays of nulls only: every item is dropped
                text = pa.array([""] * len(column), pa.string())
            else:
                offsets = column.offsets
                if items.null_count:  # null items are left out, as _flatten does
                    kept = pc.is_valid(items)
                    before = np.concatenate([[0], np.cumsum(kept.to_numpy(zero_copy_only=False))])
                    offsets = pa.array(before[offsets.to_numpy()].astype(np.int32))
                    items = items.filter(kept)
                item_text = _scalar_text(items)
                if item_text is None:
                    return False
                lists = pa.ListArray.from_arrays(offsets, item_text)
                text = pc.fill_null(pc.binary_join(lists, list_separator), "")
        else:
            text = _scalar_text(column)
            if text is None:
                return False
        if name in columns:  # "a.b" given both as a key and as a nested object
            return False
        columns[name] = text
        return True

    if not walk(array, "", ()) or not columns:
        return None
    return pa.table(columns)


def _holds_floats(kind: pa.DataType) -> bool:
    return pa.types.is_floating(kind) or (pa.types.is_list(kind) and pa.types.is_floating(kind.value_type))


def _bool_among(records: list[dict[str, Any]], keys: tuple[str, ...]) -> bool:
    """Whether a true or false sits at this path (or in the array there) in some record."""
    for record in records:
        value: Any = record
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if type(value) is bool or (type(value) is list and any(type(item) is bool for item in value)):
            return True
    return False


def _scalar_text(column: pa.Array) -> pa.Array | None:
    """Text cells for an array of JSON scalars, as ``_text`` writes them; None for other types."""
    kind = column.type
    if pa.types.is_null(kind):
        return pa.array([""] * len(column), pa.string())
    if pa.types.is_string(kind):
        return pc.fill_null(column, "")
    if pa.types.is_integer(kind):
        return pc.fill_null(pc.cast(column, pa.string()), "")
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(column, "true", "false"), "")
    if pa.types.is_floating(kind):  # Python's own repr, once per distinct value
        if pc.any(pc.is_nan(column)).as_py():
            return None
        distinct = pc.unique(column)
        texts = pa.array([_text(value) for value in distinct.to_pylist()], pa.string())
        return pc.fill_null(pc.take(texts, pc.index_in(column, distinct)), "")
    return None


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
