"""Check typed tables against their Table Schema, the row rules and the keys.

Every check is a vectorised pass over a whole column (pyarrow compute) that
yields the indices of the rows that fail it; only failures become Python objects.
A column with few distinct values is checked once per distinct value. The error
vocabulary follows frictionless-py: a ``type`` problem for a value that is not of
the field's type, one problem per failed constraint (``required``, ``enum``,
``pattern``, ...), ``unique`` and ``primary-key`` for a repeated value or key
(every occurrence after the first) and ``foreign-key`` for a reference to a
missing row. Where partnerdata deliberately differs from frictionless-py,
tests/validate/test_differential.py says how.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.mapping.coercion import (
    PARALLEL_ROWS,
    CoercedTable,
    Column,
    Dialect,
    coerce_column,
    constraint_values,
    describe_expected,
    in_parallel,
)
from partnerdata.util.cores import CORES

LISTED_CODES = 12  # list the allowed codes in a message when there are at most this many


@dataclass(frozen=True)
class Problem:
    row: int  # index of the row in the table that was checked
    field: str
    rule: str
    message: str


@dataclass(frozen=True)
class Validated:
    table: pa.Table  # typed; every row, the rejected ones included
    problems: list[Problem]  # ordered by row


def validate_table(
    text: pa.Table,
    descriptor: dict[str, Any],
    dialect: Dialect | None = None,
    rules: Iterable[dict[str, Any]] = (),
) -> Validated:
    """A table of text cells checked against one Table Schema (its fields, missingValues and
    primary key) and the resource's row rules of kind not_greater.

    Each field is coerced and checked in one job; for a long table the jobs run in parallel, the
    key fields first, so the primary-key check (the longest job) starts while the others run."""
    fields, dialect = descriptor["fields"], dialect or Dialect()
    missing_values = descriptor.get("missingValues", [""])
    key = descriptor.get("primaryKey") or []
    key = [key] if isinstance(key, str) else list(key)

    def field_job(spec: dict[str, Any]) -> tuple[Column, list[Problem]]:
        column = coerce_column(text.column(spec["name"]), spec, spec.get("missingValues", missing_values), dialect)
        return column, _check_field(column, spec, dialect)

    def key_job(columns: dict[str, Callable[[], tuple[Column, list[Problem]]]]) -> list[Problem]:
        return check_unique(pa.table({name: columns[name]()[0].typed for name in key}), key) if key else []

    ordered = sorted(fields, key=lambda spec: spec["name"] not in key)
    if text.num_rows < PARALLEL_ROWS:
        results = {spec["name"]: field_job(spec) for spec in ordered}
        key_problems = key_job({name: functools.partial(results.__getitem__, name) for name in key})
    else:
        with ThreadPoolExecutor(max_workers=CORES) as pool:
            futures = {spec["name"]: pool.submit(field_job, spec) for spec in ordered if spec["name"] in key}
            key_future = pool.submit(key_job, {name: future.result for name, future in futures.items()})
            futures.update({spec["name"]: pool.submit(field_job, spec) for spec in ordered if spec["name"] not in key})
            results = {name: future.result() for name, future in futures.items()}
            key_problems = key_future.result()
    table = pa.table({spec["name"]: results[spec["name"]][0].typed for spec in fields})
    problems = [problem for spec in fields for problem in results[spec["name"]][1]]
    problems += key_problems + check_row_rules(table, rules)
    return Validated(table=table, problems=sorted(problems, key=lambda p: p.row))


def check_fields(coerced: CoercedTable, fields: list[dict[str, Any]], dialect: Dialect) -> list[Problem]:
    """Type and constraint problems, field by field; a cell that failed its type is not checked further."""
    jobs = [functools.partial(_check_field, coerced.columns[spec["name"]], spec, dialect) for spec in fields]
    return [problem for problems in in_parallel(jobs, coerced.table.num_rows) for problem in problems]


def _check_field(column: Column, spec: dict[str, Any], dialect: Dialect) -> list[Problem]:
    name = spec["name"]
    problems: list[Problem] = []

    def failing(mask: pa.Array, rule: str, message: str) -> None:
        """mask is over column.values; a missing value never fails a constraint."""
        mask = pc.and_(mask, pc.is_valid(column.values))
        problems.extend(Problem(row, name, rule, message) for row in column.rows_where(mask))

    problems += [
        Problem(row, name, "type", f"not {describe_expected(spec, dialect)}")
        for row in column.rows_where(column.value_failed)
    ]
    constraints = spec.get("constraints", {})
    if constraints.get("required"):
        problems += [
            Problem(row, name, "required", f"{name} is required but empty")
            for row in column.rows_where(column.value_missing)
        ]
    if constraints.get("unique"):
        problems += check_unique(pa.table({name: column.typed}), [name], "unique")
    values = column.values
    if spec["type"] == "list":  # the lengths bound the number of items, as frictionless reads them
        lengths = pc.list_value_length(values)
        for bound, compare, word in (("minLength", pc.less, "fewer"), ("maxLength", pc.greater, "more")):
            if bound in constraints:
                failing(compare(lengths, constraints[bound]), bound, f"{word} than {constraints[bound]} items")
        return problems + _check_items(column, spec)
    if "enum" in constraints:
        allowed = constraint_values(spec, constraints["enum"])
        failing(pc.invert(pc.is_in(values, value_set=allowed)), "enum", _enum_message(name, constraints["enum"]))
    if "pattern" in constraints:
        matches = pc.match_substring_regex(values, f"^(?:{constraints['pattern']})$")
        failing(pc.invert(matches), "pattern", _pattern_message(spec))
    for bound, compare, word in (("minimum", pc.less, "less than"), ("maximum", pc.greater, "greater than")):
        if bound in constraints:
            limit = constraint_values(spec, [constraints[bound]])[0]
            failing(compare(values, limit), bound, f"{word} the {bound} {constraints[bound]}")
    lengths = pc.utf8_length(values) if {"minLength", "maxLength"} & set(constraints) else None
    for bound, compare, word in (("minLength", pc.less, "shorter"), ("maxLength", pc.greater, "longer")):
        if bound in constraints:
            failing(compare(lengths, constraints[bound]), bound, f"{word} than {constraints[bound]} characters")
    return problems


def check_row_rules(table: pa.Table, rules: Iterable[dict[str, Any]]) -> list[Problem]:
    """The rules of schemas/rules.yaml that read one row; ``not_greater`` [a, b] means a <= b
    when both are present."""
    problems: list[Problem] = []
    for rule in rules:
        if rule["kind"] != "not_greater":
            continue
        first, second = (_decoded(table.column(name)) for name in rule["fields"])
        greater = pc.greater(first, second)
        problems += _problems(greater, rule["fields"][1], rule["name"], rule["message"])
    return problems


def check_within(table: pa.Table, rule: dict[str, Any], parent: pa.Table) -> list[Problem]:
    """A rule of kind ``within``: the row's [start, end] lies inside the [start, end] of the parent
    row it refers to (by the rule's key). A missing date on either side is not checked; a row whose
    parent is missing is the foreign key's problem, not this rule's."""
    if table.num_rows == 0 or parent.num_rows == 0:
        return []
    start, end = rule["fields"]
    reference = rule["reference"]
    key, parent_key = rule["key"], reference["key"]
    parent_start, parent_end = reference["fields"]
    child = table.select(key).rename_columns(parent_key)
    child = child.append_column("__start", table.column(start)).append_column("__end", table.column(end))
    child = child.append_column("__index", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    parents = parent.select([*parent_key, parent_start, parent_end]).rename_columns(
        [*parent_key, "__parent_start", "__parent_end"]
    )
    joined = child.join(parents, keys=parent_key, join_type="inner", use_threads=False)
    early = pc.fill_null(pc.less(joined.column("__start"), joined.column("__parent_start")), False)
    late = pc.fill_null(pc.greater(joined.column("__end"), joined.column("__parent_end")), False)
    outside = joined.filter(pc.or_(early, late)).sort_by("__index")
    problems = []
    for row in outside.select(["__index", "__parent_start", "__parent_end"]).to_pylist():
        span = f"{_day(row['__parent_start'])} to {_day(row['__parent_end'])}"
        key_text = _key_text(table, key, row["__index"])
        problems.append(
            Problem(
                row["__index"],
                start,
                rule["name"],
                f"{rule['message']} ({reference['resource']} {key_text} runs {span})",
            )
        )
    return problems


def _day(value: Any) -> str:
    return "an open date" if value is None else str(value)


def check_unique(table: pa.Table, key: list[str], label: str = "primary-key") -> list[Problem]:
    """Every row whose key repeats an earlier row's key (the first occurrence is kept).

    As frictionless-py does it: for a primary key, a row whose key cells are all empty is a
    problem of its own, and an empty part of a composite key counts as a value; for a unique
    field, empty values never repeat."""
    if table.num_rows == 0:
        return []
    fields = ", ".join(key)
    problems = []
    if label == "primary-key":
        empty = functools.reduce(pc.and_, [pc.is_null(table.column(f)) for f in key])
        problems += [
            Problem(row, key[-1], label, f"the key ({fields}) is empty")
            for row in pc.indices_nonzero(empty).to_pylist()
        ]
        counted = pc.invert(empty)
    else:
        counted = _all_valid(table, key)
    rows = _repeated_rows(table.select(key), counted)
    problems += [
        Problem(row, key[-1], label, f"the key ({fields}) = ({_key_text(table, key, row)}) appears in an earlier row")
        for row in rows
    ]
    return sorted(problems, key=lambda p: p.row)


def _repeated_rows(keys: pa.Table, counted: pa.Array) -> list[int]:
    """Rows (among the counted ones) whose key equals that of an earlier counted row.

    The counted rows are sorted by key (a stable sort: of equal keys, the earliest row comes first)
    and each is compared with the one before it, a column at a time; an empty cell equals an empty
    cell, and NaN equals NaN. Memory: the sort's row numbers and one sorted column at a time."""
    rows = pc.indices_nonzero(counted)
    if len(rows) < 2:
        return []
    if len(rows) < keys.num_rows:
        keys = keys.take(rows)
    keys = pa.table({name: _decoded(keys.column(name)) for name in keys.column_names})
    order = pc.sort_indices(keys, [(name, "ascending", "at_end") for name in keys.column_names])
    same = pa.array(np.ones(len(rows) - 1, dtype=bool))
    for name in keys.column_names:
        column = keys.column(name).take(order)
        later, earlier = column.slice(1), column.slice(0, len(column) - 1)
        equal = pc.or_(pc.fill_null(pc.equal(later, earlier), False), pc.and_(pc.is_null(later), pc.is_null(earlier)))
        if pa.types.is_floating(column.type):
            equal = pc.or_(equal, pc.fill_null(pc.and_(pc.is_nan(later), pc.is_nan(earlier)), False))
        same = pc.and_(same, equal)
        del column, later, earlier
    repeats = np.flatnonzero(same.to_numpy(zero_copy_only=False)) + 1  # places in key order that repeat the one before
    repeated = rows.to_numpy()[order.to_numpy()[repeats]]
    return np.sort(repeated).tolist()


def _decoded(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as plain values (text stored once per distinct value is expanded)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.dictionary_decode() if isinstance(column, pa.DictionaryArray) else column


def check_foreign_key(
    table: pa.Table, fields: list[str], parent: pa.Table, parent_fields: list[str], parent_name: str
) -> list[Problem]:
    """Rows whose (non-empty) reference is not a key of the parent resource."""
    if table.num_rows == 0:
        return []
    child = table.select(fields).rename_columns(parent_fields)
    known = parent.select(parent_fields).append_column("__known", pa.array(np.ones(parent.num_rows, dtype=bool)))
    child = child.append_column("__index", pa.array(np.arange(table.num_rows, dtype=np.int64)))
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


def _check_items(column: Column, spec: dict[str, Any]) -> list[Problem]:
    allowed = spec.get("itemEnum")
    if not allowed:
        return []
    values = column.values
    flat = pc.list_flatten(values)
    bad_items = pc.invert(pc.is_in(flat, value_set=pa.array(allowed, pa.string())))
    if not pc.any(bad_items).as_py():
        return []
    parents = pc.filter(pc.list_parent_indices(values), bad_items).to_pylist()
    items = pc.filter(flat, bad_items).to_pylist()
    by_value: dict[int, list[str]] = {}
    for value, item in zip(parents, items, strict=True):
        by_value.setdefault(value, []).append(item)
    bad_values = pa.array(list(by_value), pa.int64())
    rows = column.rows_where(pc.is_in(pa.array(np.arange(len(values), dtype=np.int64)), value_set=bad_values))
    value_of = rows if column.indices is None else pc.take(column.indices, pa.array(rows, pa.int64())).to_pylist()
    message = _enum_message(spec["name"], allowed)
    return [
        Problem(row, spec["name"], "enum", f"item(s) {', '.join(repr(i) for i in by_value[value])}: {message}")
        for row, value in zip(rows, value_of, strict=True)
    ]


def _pattern_message(spec: dict[str, Any]) -> str:
    """The field's description says what the identifier looks like, with examples."""
    return f"not the expected form of {spec['name']} ({spec.get('description') or 'pattern ' + spec['constraints']['pattern']})"


def _enum_message(name: str, allowed: list[Any]) -> str:
    if len(allowed) <= LISTED_CODES:
        return f"not an allowed {name} code ({', '.join(map(str, allowed))})"
    return f"not one of the {len(allowed)} allowed {name} codes (see the data dictionary)"


def _problems(mask: pa.Array, field: str, rule: str, message: str) -> list[Problem]:
    """One Problem per true value of the per-row mask."""
    rows = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    return [Problem(row, field, rule, message) for row in rows]


def _key_text(table: pa.Table, key: list[str], row: int) -> str:
    return ", ".join(repr(table.column(f)[row].as_py()) for f in key)
