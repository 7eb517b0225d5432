"""Map a partner's columns and labels to the canonical fields of a resource.

All declared in sources.yaml (``columns``, ``values``, ``constants``): no partner
gets code of its own. The result is still text; coercion.py decides types.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.config.schemas import Schemas
from partnerdata.config.sources import Source
from partnerdata.errors import PartnerFileError
from partnerdata.readers.base import ReadResult


class SchemaDrift(PartnerFileError):
    """The partner's header no longer matches the column mapping."""


@dataclass(frozen=True)
class MappedTable:
    """Canonical text columns of one source, in schema order (source_id included)."""

    original: pa.Table  # the partner's own text per canonical field (labels before value mapping)
    mapped: pa.Table  # the same after value mapping and constants: what coercion reads


def map_columns(read: ReadResult, source: Source, schemas: Schemas, resource: str) -> MappedTable:
    """Select and rename the partner's columns, translate labels, add constants.

    A standard format's reader has named its columns after the canonical fields
    already; for it only the labels and constants of the source entry apply."""
    columns = source.columns if read.resource is None else {c: c for c in read.table.column_names}
    present = set(read.table.column_names)
    missing = [column for column in columns.values() if column not in present]
    if missing:
        unexpected = sorted(present - set(columns.values()))
        raise SchemaDrift(
            f"the column(s) {', '.join(repr(c) for c in missing)} that we read are missing"
            + (f"; columns we do not read: {', '.join(repr(c) for c in unexpected)}" if unexpected else ""),
            "fix the mapping in sources.yaml or ask the partner about the change",
        )
    rows = read.table.num_rows
    original, mapped = {}, {}
    for spec in schemas.fields(resource):
        name = spec["name"]
        if name == "source_id":
            column = constant(source.source_id, rows)
            original[name] = mapped[name] = column
            continue
        if name in source.constants:
            column = constant(source.constants[name], rows)
        elif name in columns:
            column = on_text(pc.utf8_trim_whitespace, read.table.column(columns[name]).combine_chunks())
        elif name == "organiser_id":
            column = constant(source.organisation.id, rows)  # the partner organised it
        else:
            column = constant("", rows)
        original[name] = column
        labels = source.values.get(name)
        if labels:
            if spec["type"] == "list":
                translate = functools.partial(_translate_list, labels=labels, separator=source.list_separator)
            else:
                translate = functools.partial(_translate, labels=labels)
            column = on_text(translate, column)
        mapped[name] = column
    return MappedTable(original=pa.table(original), mapped=pa.table(mapped))


def constant(value: str, rows: int) -> pa.DictionaryArray:
    """The same text in every row, stored once."""
    # safe=False: index 0 of a dictionary of one, in every row, needs no check (which costs a pass)
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value], pa.string()), safe=False
    )


def on_text(function: Callable[[pa.Array], pa.Array], column: pa.Array) -> pa.Array:
    """function applied to a text column; to a dictionary-encoded one, once per distinct value."""
    if isinstance(column, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(column.indices, function(column.dictionary))
    return function(column)


def _translate(column: pa.Array, labels: Mapping[str, str]) -> pa.Array:
    """Replace each partner label by its code, ignoring case and surrounding spaces (config.py
    refuses labels that differ only so and map to different codes); values without a label stay
    as they are."""
    keys = pc.utf8_lower(pc.utf8_trim_whitespace(pa.array(list(labels), pa.string())))
    codes = pa.array(list(labels.values()), pa.string())
    index = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(column)), value_set=keys)
    return pc.if_else(pc.is_valid(index), pc.take(codes, index), column)


def _translate_list(column: pa.Array, labels: Mapping[str, str], separator: str) -> pa.Array:
    """Translate each item of a multi-valued cell, then join the items again with ';'."""
    items = pc.split_pattern(column, separator)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(items))
    translated = _translate(flat, labels)
    rebuilt = pa.ListArray.from_arrays(items.offsets, translated)
    return pc.binary_join(rebuilt, separator)
