"""JSON from a partner's web API or export: a list of records somewhere in the document."""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from partnerdata.errors import ConfigError, PartnerFileError
from partnerdata.readers.base import ReadResult
from partnerdata.readers.guard import UnreadableFile, parsing
from partnerdata.readers.limits import DEFAULT_LIMITS, Limits
from partnerdata.readers.options import (
    check_dotted_path,
    check_encoding,
    check_name,
    check_options,
    check_whole_number,
    text_codec,
)

RESOURCES = None  # a generic format: the source entry maps the columns
OPTIONS = {
    "record_path": (str, ""),  # dotted path to the list of records; "" when the document is the list
    "encoding": (str, "utf-8"),
    "pagination": (dict, None),  # how to ask an API for the next page; see PAGINATION
}
# style -> its options with defaults; the fetcher (partnerdata.collect.fetch) follows them
PAGINATION: dict[str, dict[str, str | int]] = {
    "page": {"page_param": "page", "size_param": "per_page", "size": 100, "first_page": 1},
    "offset": {"offset_param": "offset", "size_param": "limit", "size": 100},
    "next_link": {"next_path": "next"},
    "link_header": {},
}


# The whole-number options of pagination -> (minimum, maximum)
PAGINATION_RANGES = {"size": (1, 100_000), "first_page": (0, 1_000_000), "max_pages": (1, 100_000)}


def parse_options(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = check_options(block, OPTIONS, where)
    check_dotted_path(options, "record_path", where, empty_allowed=True)
    check_encoding(options, where)  # no auto: the bytes are decoded as they are
    if options["pagination"] is not None:
        options["pagination"] = _check_pagination(options["pagination"], f"{where}: option 'pagination'")
    return options


def _check_pagination(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    style = block.get("style")
    if not isinstance(style, str) or style not in PAGINATION:
        raise ConfigError(f"{where}: 'style' must be one of {', '.join(PAGINATION)}, got {style!r}")
    allowed = {key: (type(default), default) for key, default in PAGINATION[style].items()}
    allowed["max_pages"] = (int, 1000)
    options = check_options({k: v for k, v in block.items() if k != "style"}, allowed, where)
    for key, (minimum, maximum) in PAGINATION_RANGES.items():
        if key in options:
            check_whole_number(options, key, where, minimum, maximum)
    for key in ("page_param", "size_param", "offset_param"):
        if key in options:
            check_name(options, key, where)
    params = [key for key in ("page_param", "offset_param", "size_param") if key in options]
    if len(params) == 2 and options[params[0]] == options[params[1]]:
        raise ConfigError(
            f"{where}: options '{params[0]}' and '{params[1]}' are both {options[params[0]]!r}; "
            "the page and its size need a query parameter each"
        )
    if "next_path" in options:
        check_dotted_path(options, "next_path", where)
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
    columns: dict[str, None] = {}
    shape: pa.Schema | None = None  # the types Arrow read the page before with, for the next to try first
    for number, body in enumerate(bodies, start=1):  # a page at a time: its Python objects are freed at once
        where = f"page {number} " if len(bodies) > 1 else ""
        octets = _bounded(Path(body), limits, where.strip())
        read_by_arrow = (
            _arrow_page(octets, record_path, list_separator, limits, shape)
            if _fast_readable(octets, options["encoding"])
            else None
        )
        del octets
        if read_by_arrow is None:  # anything out of the ordinary: Python's objects, and the messages they give
            table, count = _python_page(
                Path(body), options["encoding"], record_path, list_separator, limits, where, label
            )
        else:
            table, count, shape = read_by_arrow
        indices = pc.cast(pa.array(np.arange(count, dtype=np.int64)), pa.string())
        positions.append(pc.binary_join_element_wise(f"{where}{label}[", indices, "]", ""))
        columns.update(dict.fromkeys(table.column_names))
        limits.check_columns(len(columns), f"{where or 'the file '}(its records' keys, nested ones as dotted names)")
        tables.append((table, count))
        limits.check_time(f"{where}{label}")
        del table
    position_array = pa.concat_arrays(positions) if positions else pa.array([], pa.string())
    table = _stack(tables)
    limits.check_cells(table.num_rows * table.num_columns, f"the {label} of every page together")
    return [ReadResult(table=table, positions=position_array)]


def _python_page(
    body: Path, encoding: str, record_path: str, list_separator: str, limits: Limits, where: str, label: str
) -> tuple[pa.Table, int]:
    """A page's flat text table and its record count, from the records as json.loads builds them."""
    document = load_document(body, encoding, limits, where.strip())
    records = _follow(document, record_path)
    try:
        table = _arrow_flat(records, list_separator, limits)
        if table is None:
            table = _text_columns(records, list_separator, f"{where}{label}", limits)
    except UnicodeEncodeError:  # "\ud800" in the JSON: half of a character, which Arrow cannot store as text
        raise PartnerFileError(
            f"{where}{label}[{_first_unencodable(records)}] holds a lone surrogate escape (such as \\ud800, half "
            "of a character, what cutting an emoji in two leaves): not text; the partner should fix the export"
        ) from None
    return table, len(records)


# Arrow's JSON parser descends the C stack about 450 bytes a level, and nothing stops it (40,000
# levels are a segmentation fault): msgspec checks first that the page nests no deeper than
# Python's recursion limit (1,000; Hypothesis raises it by 2,000 while it tests), which must then
# keep the depth to what a thread's stack holds (8 MiB on Linux; 1 MiB holds 2,000 levels).
ARROW_MAX_RECURSION_LIMIT = 4_000
SYNTAX = msgspec.json.Decoder(msgspec.Raw)
WRAPPER = "records"  # the key a page that is a list of records is put under, for Arrow to read it as an object
DOUBLE_EXACT = 2.0**53  # doubles at or above this may have been integers that Arrow rounded


def _arrow_page(
    octets: bytes, record_path: str, list_separator: str, limits: Limits, shape: pa.Schema | None = None
) -> tuple[pa.Table, int, pa.Schema] | None:
    """The page's flat text table and record count, read by Arrow's JSON parser without a Python
    object for any record: exactly what ``_arrow_flat`` gives of the records json.loads builds,
    or None where it would step aside, and wherever the page is out of the ordinary (a syntax
    error, a duplicate key, a lone surrogate, nulls among the records or where a path leads, a
    number Arrow reads otherwise than json.loads does): the caller then reads it with Python.

    Arrow takes text like 2015-03-01 for a timestamp: such a page is read twice, the second
    time with those fields as text, so that every cell is the partner's text. The types it was
    read with come back too: given as ``shape`` for the next page of the API, they spare that
    page the second reading when it holds the same fields (and nothing else) of the same types."""
    if sys.getrecursionlimit() > ARROW_MAX_RECURSION_LIMIT:
        return None
    try:
        SYNTAX.decode(octets)  # valid JSON, nested no deeper than the recursion limit, text valid UTF-8
    except (msgspec.DecodeError, RecursionError):
        return None
    document = octets if record_path else b'{"%s":%s}' % (WRAPPER.encode(), octets)
    try:
        table = _arrow_document(document, shape)
        records = _arrow_records(table, record_path.split(".") if record_path else [WRAPPER])
        if records is None:
            return None
        flat = _flat_table(records, list_separator, limits, _rounded_by_arrow)
    # What Arrow refuses or trips on (and types nested deeper than Python walks): Python reads it, or says why not.
    except (pa.ArrowException, IndexError, RecursionError):
        return None
    return None if flat is None else (flat, len(records), table.schema)


def _arrow_document(document: bytes, shape: pa.Schema | None) -> pa.Table:
    """The document as Arrow reads it, every text as text: with the types of ``shape`` when they fit
    it exactly (Arrow refuses a value of another type; a field they lack would be added after the
    others, not where this page has it first), else with the types Arrow infers."""
    if shape is not None:
        try:
            table = _read_json(document, shape)
            if table.schema == shape:
                return table
        except pa.ArrowInvalid:
            pass
    table = _read_json(document, None)
    as_text = _json_types(table.schema)
    return table if as_text == table.schema else _read_json(document, as_text)


def _arrow_records(table: pa.Table, path: list[str]) -> pa.StructArray | None:
    """The records at ``path`` in the document, as Arrow reads them; None unless the document is one
    object, each step of the path an object and the records a list of objects."""
    if table.num_rows != 1 or path[0] not in table.column_names or table.column(path[0]).num_chunks != 1:
        return None
    node = table.column(path[0]).chunk(0)
    # Arrow 26 can lose the nulls of an array whose items' type it learns later ([null, null], then
    # [false]): the offsets then span more items than there are, which validation sees at once.
    node.validate()
    for step in path[1:]:
        if not pa.types.is_struct(node.type) or node.null_count or node.type.get_field_index(step) < 0:
            return None
        node = node.field(step)
    if not pa.types.is_list(node.type) or node.null_count:
        return None
    records = node.flatten()
    if not len(records) or not pa.types.is_struct(records.type) or records.null_count:
        return None
    return records


def _read_json(document: bytes, schema: pa.Schema | None) -> pa.Table:
    return pa_json.read_json(
        pa.py_buffer(document),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(document) + 1),
        parse_options=pa_json.ParseOptions(explicit_schema=schema, newlines_in_values=True),
    )


def _json_types(schema: pa.Schema) -> pa.Schema:
    """The schema Arrow inferred with text where it read text as something JSON has not (timestamps)."""

    def plain(kind: pa.DataType) -> pa.DataType:
        if pa.types.is_struct(kind):
            return pa.struct([kind.field(i).with_type(plain(kind.field(i).type)) for i in range(kind.num_fields)])
        if pa.types.is_list(kind):
            return pa.list_(kind.value_field.with_type(plain(kind.value_type)))
        if pa.types.is_null(kind) or pa.types.is_boolean(kind) or kind in (pa.int64(), pa.float64(), pa.string()):
            return kind
        return pa.string()

    return pa.schema([field.with_type(plain(field.type)) for field in schema])


def _rounded_by_arrow(keys: tuple[str, ...], column: pa.Array) -> bool:
    """Whether a column of doubles holds a value that may have been an integer too long for a double
    (json.loads keeps it whole, and pa.array refuses to round it)."""
    if not _holds_floats(column.type):
        return False
    values = column.flatten() if pa.types.is_list(column.type) else column
    largest = pc.max(pc.abs(values)).as_py()
    return largest is not None and largest >= DOUBLE_EXACT


def load_document(body: Path, encoding: str, limits: Limits, page: str = "") -> Any:
    """One document (``page`` names it among an API's pages: "page 2"). Before json.loads builds it,
    what it would build is bounded: its bytes, and its values, counted from above. Each value but the
    first follows a comma or opens a container, and each member of an object (a colon) is a key and a
    value: commas, brackets and twice the colons bound them (one inside a text counts too). Python's
    objects for them take at most about 70 bytes each, so max_cells stay within a few hundred MB."""
    where = f"{page}: " if page else ""  # the prefix of a message
    octets = _bounded(body, limits, page)
    if _fast_readable(octets, encoding):
        try:
            return orjson.loads(octets)
        except orjson.JSONDecodeError:
            pass  # json.loads below reads what orjson refuses (NaN, 1e400, a lone surrogate) and says where it fails
    try:
        text = octets.decode(text_codec(encoding))
    except UnicodeDecodeError as error:
        raise PartnerFileError(f"{where}the file is not valid {encoding}: {error}") from None
    del octets
    try:
        with parsing(f"{where}not readable as JSON"):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise PartnerFileError(
                    f"{where}not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
                ) from None
    except UnreadableFile as error:
        if isinstance(error.__cause__, RecursionError):  # no limit to raise: Python's JSON parser stops there
            raise PartnerFileError(
                f"{where}the JSON is nested more than about {sys.getrecursionlimit():,} levels deep, deeper than "
                f"its parser reads (and than max_depth, {limits.max_depth}, allows)"
            ) from None
        raise


def page_outline(
    body: Path, encoding: str, limits: Limits, record_path: str, next_path: str | None, page: str
) -> tuple[int, Any]:
    """What following an API's pages needs of a page: how many records it holds (at record_path;
    0 when there is no list there) and the value at next_path (None when not asked for or absent).

    The page is bounded as load_document bounds it, and its text must be valid in its encoding;
    then msgspec reads the JSON's syntax without building the records (a fifth of the time of
    building them: the reader builds them once, in validate). Anything out of the ordinary (a
    document msgspec refuses, a record_path that is not an object, NaN) is left to load_document,
    so that the answer and the messages are the ones it gives."""
    octets = _bounded(body, limits, page)
    if codecs.lookup(text_codec(encoding)).name in ("utf-8", "utf-8-sig") and not octets.startswith(codecs.BOM_UTF8):
        try:
            octets.decode("utf-8")  # the syntax only is read below: its text is checked here
            return _outline(octets, record_path, next_path)
        except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            pass
    document = load_document(body, encoding, limits, page)
    records = _node_at(document, record_path)
    return len(records) if isinstance(records, list) else 0, _node_at(document, next_path) if next_path else None


OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


def _outline(octets: bytes, record_path: str, next_path: str | None) -> tuple[int, Any]:
    records = ARRAY.decode(_raw_at(octets, record_path))
    link = msgspec.json.decode(_raw_at(octets, next_path)) if next_path else None
    return len(records), link


def _raw_at(octets: bytes | msgspec.Raw, path: str) -> bytes | msgspec.Raw:
    """The JSON text at a dotted path (``null`` where a step is missing); ValidationError where a
    step is not an object."""
    node = octets
    for step in path.split(".") if path else []:
        node = OBJECT.decode(node).get(step, msgspec.Raw(b"null"))
    return node


def _node_at(document: Any, path: str) -> Any:
    """The value at a dotted path; None where a step is missing or not an object."""
    node = document
    for step in path.split(".") if path else []:
        node = node.get(step) if isinstance(node, dict) else None
    return node


def _bounded(body: Path, limits: Limits, page: str) -> bytes:
    """A document's bytes, once what json.loads would build of them is bounded (load_document)."""
    octets = body.read_bytes()
    limits.check_bytes(len(octets), page or "the file")
    colons = octets.count(b":")
    if len(octets) + colons + 1 > limits.max_cells:  # else the count below cannot pass: each comma or bracket is a byte
        values = octets.count(b",") + octets.count(b"{") + octets.count(b"[") + 2 * colons + 1
        limits.check_cells(values, f"{page or 'the file'} (its JSON values, counted from above)")
    return octets


DIGITS_AS_ZEROS = bytes(b"0"[0] if chr(i).isdigit() and i < 128 else b" "[0] for i in range(256))  # for bytes.translate
LONG_NUMBER = b"0" * 19


def _fast_readable(octets: bytes, encoding: str) -> bool:
    """Whether orjson builds what json.loads would (and faster: 40 ms for a page of 10,000 records
    where json takes 50 ms), and Arrow's parser may read it: UTF-8 without a byte-order mark, and no
    number of 19 digits or more, which orjson would turn into a float and Arrow refuse where json
    keeps every digit (a run of digits inside a text sends the file to json too)."""
    return (
        codecs.lookup(text_codec(encoding)).name in ("utf-8", "utf-8-sig")
        and not octets.startswith(codecs.BOM_UTF8)
        and LONG_NUMBER not in octets.translate(DIGITS_AS_ZEROS)  # ten times as fast as a regular expression
    )


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


def _text_columns(records: list[Any], list_separator: str, label: str, limits: Limits) -> pa.Table:
    """The record-by-record path: each record flattened and its cells put into their columns at
    once, so that no list of flat records (nor of their positions) is ever held beside the records."""
    columns: dict[str, list[str]] = {}
    for index, record in enumerate(records):
        flat = _flatten(record, list_separator, f"{label}[{index}]", limits)
        for name in flat:
            if name not in columns:
                columns[name] = [""] * index  # a key first seen here: empty in the records before
        for name, cells in columns.items():
            cells.append(flat.get(name, ""))
    return pa.table({name: pa.array(cells, pa.string()) for name, cells in columns.items()})


def _arrow_flat(records: list[Any], list_separator: str, limits: Limits = DEFAULT_LIMITS) -> pa.Table | None:
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

    def bools_as_numbers(keys: tuple[str, ...], column: pa.Array) -> bool:
        return _holds_floats(column.type) and _bool_among(records, keys)  # Arrow took true as 1.0 there

    return _flat_table(array, list_separator, limits, bools_as_numbers)


def _flat_table(
    array: pa.StructArray,
    list_separator: str,
    limits: Limits,
    doubtful: Callable[[tuple[str, ...], pa.Array], bool],
) -> pa.Table | None:
    """The records (a struct array) as flat text columns; None where ``doubtful`` says a column's
    type may not tell what the records held, or where only the record-by-record path is exact."""
    limits.check_depth(_type_depth(array.type), "a record")
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
        if doubtful(keys, column):
            return False
        if pa.types.is_list(kind):
            offsets = column.offsets  # of this slice of the array: the first need not be 0
            first = offsets[0].as_py()
            items = column.values.slice(first, offsets[-1].as_py() - first)  # the items of every row
            if pa.types.is_null(items.type):  # arrays of nulls only: every item is dropped
                text = pa.array([""] * len(column), pa.string())
            else:
                offsets = pc.subtract(offsets, pa.scalar(first, offsets.type))
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


def _type_depth(kind: pa.DataType) -> int:
    """How deeply Arrow's type of the records nests (a record of scalars is 1), counted with a stack."""
    deepest, stack = 0, [(kind, 0)]
    while stack:
        node, depth = stack.pop()
        if pa.types.is_struct(node):
            deepest = max(deepest, depth + 1)
            stack.extend((node.field(i).type, depth + 1) for i in range(node.num_fields))
        elif pa.types.is_list(node):
            deepest = max(deepest, depth + 1)
            stack.append((node.value_type, depth + 1))
    return deepest


def _first_unencodable(records: list[Any]) -> int:
    """The index of the first record whose texts cannot be written as UTF-8."""
    for index, record in enumerate(records):
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return index
    return 0


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
    walked: list[str] = []
    for step in record_path.split(".") if record_path else []:
        if not isinstance(node, dict) or step not in node:
            keys = ", ".join(node) if isinstance(node, dict) else type(node).__name__
            raise PartnerFileError(
                f"json.record_path '{record_path}': no key '{step}' under '{'.'.join(walked) or 'the top'}' (found: {keys})"
            )
        node = node[step]
        walked.append(step)
    if not isinstance(node, list):
        raise PartnerFileError(
            f"json.record_path '{record_path}' leads to a {type(node).__name__}, not a list of records"
        )
    return node


def _flatten(record: Any, list_separator: str, where: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """One record as dotted names and text cells; walked with a stack, not recursion, so that
    depth is a limit of the source's (max_depth), never Python's."""
    if not isinstance(record, dict):
        raise PartnerFileError(f"{where} is a {type(record).__name__}, not an object")
    flat: dict[str, str] = {}
    stack: list[tuple[Any, str, int]] = [(record, "", 1)]
    while stack:
        node, prefix, depth = stack.pop()
        if isinstance(node, dict):
            limits.check_depth(depth, where)
            # Reversed onto the stack, so the keys come off in the record's order.
            stack.extend(
                (value, f"{prefix}.{key}" if prefix else str(key), depth + 1) for key, value in reversed(node.items())
            )
        elif isinstance(node, list):
            limits.check_depth(depth + max((_depth(item) for item in node), default=0), where)
            flat[prefix] = list_separator.join(_text(item) for item in node if item is not None)
        else:
            flat[prefix] = _text(node)
    return flat


def _depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar is 0), counted with a stack."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


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
