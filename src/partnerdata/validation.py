"""Check typed tables against their Table Schema, the row rules and the keys.

Every check is a vectorised pass over a whole column (pyarrow compute) that
yields the indices of the rows that fail it; only failures become Python objects.
The error vocabulary follows frictionless-py: a ``type`` problem for a value that
is not of the field's type, one problem per failed constraint (``required``,
``enum``, ``pattern``, ...), ``primary-key`` for a repeated key (every occurrence
after the first) and ``foreign-key`` for a reference to a missing row.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.coercion import CoercedTable, Dialect, describe_expected

URI = r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*$"
LISTED_CODES = 12  # list the allowed codes in a message when there are at most this many


@dataclass(frozen=True)
class Problem:
    row: int  # index of the row in the table that was checked
    field: str
    rule: str
    message: str


def check_fields(coerced: CoercedTable, fields: list[dict[str, Any]], dialect: Dialect) -> list[Problem]:
    """Type and constraint problems, field by field; a cell that failed its type is not checked further."""
    problems: list[Problem] = []
    table = coerced.table
    for spec in fields:
        name = spec["name"]
        column = table.column(name).combine_chunks()
        failed = coerced.failures[name]
        problems += _problems(failed, name, "type", f"not {describe_expected(spec, dialect)}")
        constraints = spec.get("constraints", {})
        if constraints.get("unique"):
            problems += check_unique(table, [name], "unique")
        if constraints.get("required"):
            missing = pc.and_(coerced.missing[name], pc.invert(failed))
            problems += _problems(missing, name, "required", f"{name} is required but empty")
        if spec["type"] == "list":
            problems += _check_items(column, spec)
            continue
        if "enum" in constraints:
            allowed = pa.array(constraints["enum"], column.type)
            problems += _problems(
                pc.invert(pc.is_in(column, value_set=allowed)),
                name,
                "enum",
                _enum_message(name, constraints["enum"]),
                column,
            )
        if "pattern" in constraints:
            matches = pc.match_substring_regex(column, f"^(?:{constraints['pattern']})$")
            problems += _problems(pc.invert(matches), name, "pattern", _pattern_message(spec), column)
        if spec.get("format") == "uri":
            problems += _problems(
                pc.invert(pc.match_substring_regex(column, URI)), name, "format", "not a web address (URI)", column
            )
        for bound, compare, word in (("minimum", pc.less, "less than"), ("maximum", pc.greater, "greater than")):
            if bound in constraints:
                limit = pa.scalar(constraints[bound]).cast(column.type)
                problems += _problems(
                    compare(column, limit), name, bound, f"{word} the {bound} {constraints[bound]}", column
                )
        for bound, compare, word in (("minLength", pc.less, "shorter"), ("maxLength", pc.greater, "longer")):
            if bound in constraints:
                lengths = pc.utf8_length(column)
                problems += _problems(
                    compare(lengths, constraints[bound]),
                    name,
                    bound,
                    f"{word} than {constraints[bound]} characters",
                    column,
                )
    return problems


def check_row_rules(table: pa.Table, rules: Iterable[dict[str, Any]]) -> list[Problem]:
    """The rules of schemas/rules.yaml; ``not_greater`` [a, b] means a <= b when both are present."""
    problems: list[Problem] = []
    for rule in rules:
        first, second = rule["fields"]
        greater = pc.greater(table.column(first), table.column(second))
        problems += _problems(greater, second, rule["name"], rule["message"])
    return problems


def check_unique(table: pa.Table, key: list[str], label: str = "primary-key") -> list[Problem]:
    """Every row whose key repeats an earlier row's key (the first occurrence is kept).

    As frictionless-py does it: for a primary key, a row whose key cells are all empty is a
    problem of its own, and an empty part of a composite key counts as a value; for a unique
    field, empty values never repeat."""
    if table.num_rows == 0:
        return []
    fields = ", ".join(key)
    indexed = table.select(key).append_column("__index", pa.array(range(table.num_rows), pa.int64()))
    problems = []
    if label == "primary-key":
        empty = functools.reduce(pc.and_, [pc.is_null(indexed.column(f)) for f in key])
        problems += [
            Problem(row, key[-1], label, f"the key ({fields}) is empty")
            for row in pc.indices_nonzero(empty).to_pylist()
        ]
        complete = indexed.filter(pc.invert(empty))
    else:
        complete = indexed.filter(_all_valid(indexed, key))
    first = complete.group_by(key, use_threads=False).aggregate([("__index", "min")])
    repeated = pc.invert(pc.is_in(complete.column("__index"), value_set=first.column("__index_min")))
    rows = sorted(pc.filter(complete.column("__index"), repeated).to_pylist())
    problems += [
        Problem(row, key[-1], label, f"the key ({fields}) = ({_key_text(table, key, row)}) appears in an earlier row")
        for row in rows
    ]
    return sorted(problems, key=lambda p: p.row)


def check_foreign_key(
    table: pa.Table, fields: list[str], parent: pa.Table, parent_fields: list[str], parent_name: str
) -> list[Problem]:
    """Rows whose (non-empty) reference is not a key of the parent resource."""
    if table.num_rows == 0:
        return []
    child = table.select(fields).rename_columns(parent_fields)
    known = parent.select(parent_fields).append_column("__known", pa.array([True] * parent.num_rows, pa.bool_()))
    child = child.append_column("__index", pa.array(range(table.num_rows), pa.int64()))
    joined = child.join(known, keys=parent_fields, join_type="left outer", use_threads=False)
    present = _all_valid(joined, parent_fields)
    broken = pc.and_(present, pc.is_null(joined.column("__known")))
    rows = sorted(pc.filter(joined.column("__index"), broken).to_pylist())
    target = ", ".join(f"{parent_name}.{f}" for f in parent_fields)
    return [
        Problem(
            row, fields[-1], "foreign-key", f"refers to ({_key_text(table, fields, row)}), which is not in {target}"
        )
        for row in rows
    ]


def _all_valid(table: pa.Table, fields: list[str]) -> pa.Array:
    """True where every one of the fields has a value."""
    return functools.reduce(pc.and_, [pc.is_valid(table.column(f)) for f in fields])


def _check_items(column: pa.Array, spec: dict[str, Any]) -> list[Problem]:
    allowed = spec.get("itemEnum")
    if not allowed:
        return []
    flat = pc.list_flatten(column)
    bad_items = pc.invert(pc.is_in(flat, value_set=pa.array(allowed, pa.string())))
    parents = pc.filter(pc.list_parent_indices(column), bad_items).to_pylist()
    items = pc.filter(flat, bad_items).to_pylist()
    by_row: dict[int, list[str]] = {}
    for row, item in zip(parents, items, strict=False):
        by_row.setdefault(row, []).append(item)
    return [
        Problem(
            row,
            spec["name"],
            "enum",
            f"item(s) {', '.join(repr(i) for i in bad)}: {_enum_message(spec['name'], allowed)}",
        )
        for row, bad in sorted(by_row.items())
    ]


def _pattern_message(spec: dict[str, Any]) -> str:
    """The field's description says what the identifier looks like, with examples."""
    return f"does not have the form of a {spec['name']} ({spec.get('description') or 'pattern ' + spec['constraints']['pattern']})"


def _enum_message(name: str, allowed: list[Any]) -> str:
    if len(allowed) <= LISTED_CODES:
        return f"not an allowed {name} code ({', '.join(map(str, allowed))})"
    return f"not one of the {len(allowed)} allowed {name} codes (see the data dictionary)"


def _problems(mask: pa.Array, field: str, rule: str, message: str, column: pa.Array | None = None) -> list[Problem]:
    """One Problem per true value of mask; with column given, a missing value never fails a constraint."""
    mask = pc.fill_null(mask, False)
    if column is not None:
        mask = pc.and_(mask, pc.is_valid(column))
    rows = pc.indices_nonzero(mask).to_pylist()
    return [Problem(row, field, rule, message) for row in rows]


def _key_text(table: pa.Table, key: list[str], row: int) -> str:
    return ", ".join(repr(table.column(f)[row].as_py()) for f in key)
