"""Turn a partner's text into the schema's types, column by column.

The partner's form (a Dutch date 03/10/2019, a decimal comma, a thousands
separator) is read with the source's dialect; ISO dates and plain numbers are
always accepted too. A value that cannot be read becomes a ``type`` finding that
keeps the original text; it never silently turns into an empty cell.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.schemas import ARROW_TYPES

INTEGER = r"^[+-]?[0-9]{1,18}$"
NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
YEAR = r"^[0-9]{4}$"
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]


@dataclass(frozen=True)
class Dialect:
    """How one source writes numbers, dates and lists in text."""

    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    list_separator: str = ";"


@dataclass(frozen=True)
class CoercedTable:
    table: pa.Table  # typed as the schema says
    failures: dict[str, pa.Array]  # field -> boolean mask of cells that could not be read
    missing: dict[str, pa.Array]  # field -> boolean mask of empty cells


def coerce_table(
    text: pa.Table, fields: list[dict[str, Any]], missing_values: list[str], dialect: Dialect
) -> CoercedTable:
    columns, failures, missing = {}, {}, {}
    for spec in fields:
        column = text.column(spec["name"]).combine_chunks()
        is_missing = pc.fill_null(
            pc.is_in(column, value_set=pa.array(spec.get("missingValues", missing_values), pa.string())), True
        )
        present = pc.if_else(is_missing, pa.scalar(None, pa.string()), column)
        typed = _COERCE[spec["type"]](present, spec, dialect)
        columns[spec["name"]] = typed
        failures[spec["name"]] = pc.and_(pc.invert(is_missing), pc.is_null(typed))
        missing[spec["name"]] = is_missing
    schema = pa.schema([pa.field(spec["name"], ARROW_TYPES[spec["type"]]) for spec in fields])
    return CoercedTable(table=pa.table(columns, schema=schema), failures=failures, missing=missing)


def describe_expected(spec: dict[str, Any], dialect: Dialect) -> str:
    """What a value of this field should look like, for the partner's report."""
    kind = spec["type"]
    if kind == "date":
        return "a date as YYYY-MM-DD" + (f" or in the form {dialect.date_format}" if dialect.date_format else "")
    if kind == "number":
        return f"a number with decimal mark '{dialect.decimal}'" + (
            f" (thousands separator '{dialect.thousands}')" if dialect.thousands else ""
        )
    if kind == "integer":
        return "a whole number"
    if kind == "year":
        return "a four-digit year"
    if kind == "boolean":
        return f"one of {', '.join(spec.get('trueValues', TRUE_VALUES) + spec.get('falseValues', FALSE_VALUES))}"
    return f"a {kind}"


def _string(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    return column


def _integer(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    return _parse(_drop_thousands(column, dialect), INTEGER, pa.int64())


def _number(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    column = _drop_thousands(column, dialect)
    if dialect.decimal != ".":
        column = _swap_decimal(column, dialect.decimal)
    return _parse(column, NUMBER, pa.float64())


def _year(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    return _parse(column, YEAR, pa.int32())


def _date(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """Strict: 31/02/2019 is refused, not rolled over to 3 March as Arrow's strptime would.

    Each distinct text is parsed once in Python; a column has few distinct dates."""
    distinct = pc.drop_null(pc.unique(column))
    parsed = [_parse_date(text, dialect.date_format) for text in distinct.to_pylist()]
    index = pc.index_in(column, value_set=distinct)
    return pc.take(pa.array(parsed, pa.date32()), index)


def _parse_date(text: str, date_format: str | None) -> dt.date | None:
    if re.match(ISO_DATE, text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    if date_format:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            return None
    return None


def _boolean(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    true = pc.is_in(column, value_set=pa.array(spec.get("trueValues", TRUE_VALUES), pa.string()))
    false = pc.is_in(column, value_set=pa.array(spec.get("falseValues", FALSE_VALUES), pa.string()))
    return pc.if_else(true, True, pc.if_else(false, pa.scalar(False), pa.scalar(None, pa.bool_())))


def _list(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """Split on the source's separator, trim items, drop empty items."""
    items = pc.split_pattern(column, dialect.list_separator)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(items))
    keep = pc.not_equal(flat, "")
    # New offsets: how many kept items come before each old offset.
    kept_before = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(pc.cast(keep, pa.int64()))])
    old_offsets = pc.subtract(items.offsets, items.offsets[0])
    offsets = pc.cast(pc.take(kept_before, old_offsets), pa.int32())
    lengths = pc.subtract(offsets[1:], offsets[:-1])
    empty = pc.or_(pc.is_null(column), pc.equal(lengths, 0))  # no items is a missing value, as in the CSV
    return pa.ListArray.from_arrays(offsets, pc.filter(flat, keep), mask=empty)


def _drop_thousands(column: pa.Array, dialect: Dialect) -> pa.Array:
    """Remove thousands separators, but only where they group digits by three: with '.' as
    separator, '1.250' is 1250 while '2.5' is refused rather than silently read as 25."""
    if not dialect.thousands:
        return column
    sep, dec = re.escape(dialect.thousands), re.escape(dialect.decimal)
    grouped = rf"^[+-]?[0-9]{{1,3}}({sep}[0-9]{{3}})+({dec}[0-9]*)?([eE][+-]?[0-9]+)?$"
    has_separator = pc.fill_null(pc.match_substring(column, dialect.thousands), False)
    well_grouped = pc.fill_null(pc.match_substring_regex(column, grouped), False)
    dropped = pc.replace_substring(column, dialect.thousands, "")
    refused = pc.binary_join_element_wise(column, "?", "")  # fails every number pattern
    return pc.if_else(has_separator, pc.if_else(well_grouped, dropped, refused), column)


def _swap_decimal(column: pa.Array, decimal: str) -> pa.Array:
    """Replace the decimal mark by a point; a value that already holds a point gets an
    extra character so that it fails the number pattern instead of being misread."""
    has_point = pc.fill_null(pc.match_substring(column, "."), False)
    swapped = pc.replace_substring(column, decimal, ".")
    return pc.if_else(has_point, pc.binary_join_element_wise(column, "?", ""), swapped)


def _parse(column: pa.Array, pattern: str, arrow_type: pa.DataType) -> pa.Array:
    """Cast the texts that match pattern; Arrow's cast does not take a leading '+', so drop it.
    A number too large for a float (1e400) is refused, not read as infinity."""
    ok = pc.fill_null(pc.match_substring_regex(column, pattern), False)
    unsigned = pc.replace_substring_regex(column, r"^\+", "")
    typed = pc.cast(pc.if_else(ok, unsigned, pa.scalar(None, pa.string())), arrow_type)
    if pa.types.is_floating(arrow_type):
        typed = pc.if_else(pc.is_finite(typed), typed, pa.scalar(None, arrow_type))
    return typed


_COERCE = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "year": _year,
    "date": _date,
    "boolean": _boolean,
    "list": _list,
}
