"""Turn a partner's text into the schema's types, column by column.

The canonical text forms are read as frictionless-py reads them (an ISO date as
``%Y-%m-%d``, an integer with surrounding spaces, a boolean from the field's
trueValues/falseValues, a number with the field's decimalChar/groupChar, ...).
On top of that a source's dialect accepts the partner's own form (a Dutch date
03/10/2019, a decimal comma, a thousands separator). A value that cannot be read
becomes a ``type`` finding that keeps the original text; it never silently turns
into an empty cell.

A column with few distinct values (a code, a date, a count) is coerced once per
distinct value and mapped back to the rows; the fields of a large table are
coerced in parallel (Arrow's kernels release the GIL).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.config.schemas import ARROW_TYPES
from partnerdata.util.cores import CORES

INTEGER = r"^[+-]?[0-9]{1,18}$"
NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
YEAR = r"^[0-9]{4}$"
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]
ISO_DATE = "%Y-%m-%d"

PARALLEL_ROWS = 50_000  # tables at least this long are coerced and checked field by field in parallel
SAMPLE_ROWS = 10_000  # the rows sampled to decide whether a column has few distinct values
FEW_DISTINCT = 0.2  # "few": at most this share of the sampled cells are distinct

T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """How one source writes numbers, dates and lists in text."""

    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    list_separator: str | None = None  # None: each list field's own delimiter (Table Schema's default ",")


@dataclass(frozen=True)
class Column:
    """One field's cells, typed.

    Checks run on ``values``: the distinct typed values of a column with few of them
    (``indices`` then maps each row to its value), else the rows themselves. The masks
    are over ``values`` too; ``rows_where`` turns one into row numbers."""

    typed: pa.Array  # per row, of the schema's type; null where missing or not readable
    values: pa.Array
    value_missing: pa.Array  # the value is one of the missing values
    value_failed: pa.Array  # the value is not missing and not of the field's type
    indices: pa.Array | None = None

    def per_row(self, mask: pa.Array) -> pa.Array:
        """A mask over ``values`` as a mask over the rows."""
        return mask if self.indices is None else pc.take(mask, self.indices)

    def rows_where(self, mask: pa.Array) -> list[int]:
        """The rows whose value is true in mask (a mask over ``values``)."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return []
        return pc.indices_nonzero(self.per_row(mask)).to_pylist()

    @property
    def missing(self) -> pa.Array:
        return self.per_row(self.value_missing)

    @property
    def failed(self) -> pa.Array:
        return self.per_row(self.value_failed)


@dataclass(frozen=True)
class CoercedTable:
    table: pa.Table  # typed as the schema says
    columns: dict[str, Column]

    @property
    def failures(self) -> dict[str, pa.Array]:  # field -> boolean mask of cells that could not be read
        return {name: column.failed for name, column in self.columns.items()}

    @property
    def missing(self) -> dict[str, pa.Array]:  # field -> boolean mask of empty cells
        return {name: column.missing for name, column in self.columns.items()}


def coerce_table(
    text: pa.Table, fields: list[dict[str, Any]], missing_values: list[str], dialect: Dialect
) -> CoercedTable:
    """Every field of the schema, typed; missing_values are the schema's (a field's own win).
    A string field read from a dictionary-encoded column stays dictionary-encoded."""

    def coerce(spec: dict[str, Any]) -> Column:
        return coerce_column(text.column(spec["name"]), spec, spec.get("missingValues", missing_values), dialect)

    jobs = [functools.partial(coerce, spec) for spec in fields]
    columns = dict(zip([spec["name"] for spec in fields], in_parallel(jobs, text.num_rows), strict=True))
    table = pa.table({spec["name"]: columns[spec["name"]].typed for spec in fields})
    return CoercedTable(table=table, columns=columns)


def coerce_column(
    text: pa.Array | pa.ChunkedArray, spec: dict[str, Any], missing_values: list[str], dialect: Dialect
) -> Column:
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    indices = None
    if not isinstance(text, pa.DictionaryArray) and few_distinct(text):
        text = pc.dictionary_encode(text)
    if isinstance(text, pa.DictionaryArray):
        text, indices = text.dictionary, text.indices
        if indices.null_count:  # an empty row points at a null value of its own
            text = pa.concat_arrays([text, pa.array([None], text.type)])
            indices = pc.fill_null(indices, len(text) - 1)
    # A null cell (a reader that has no text for it) is a missing value.
    is_missing = pc.or_kleene(pc.is_in(text, value_set=pa.array(missing_values, pa.string())), pc.is_null(text))
    values = _COERCE[spec["type"]](null_where(text, is_missing), spec, dialect)
    if spec["type"] == "list":  # a cell of separators only has no items: it is empty, not wrong
        is_missing = pc.is_null(values)
    failed = pc.and_(pc.invert(is_missing), pc.is_null(values))
    column = functools.partial(Column, values=values, value_missing=is_missing, value_failed=failed, indices=indices)
    if indices is None:
        return column(typed=values)
    if spec["type"] == "string":  # the text once per distinct value, rows point at it
        empty = pc.or_(is_missing, failed)
        return column(typed=pa.DictionaryArray.from_arrays(null_where(indices, pc.take(empty, indices)), text))
    return column(typed=pc.take(values, indices))


def null_where(array: pa.Array, mask: pa.Array) -> pa.Array:
    """array with nulls where mask is true; a string array keeps its text buffers (only the
    validity bitmap is new), so no text is copied."""
    if not pc.any(mask).as_py():
        return array
    valid = pc.and_(pc.is_valid(array), pc.invert(mask))
    if pa.types.is_string(array.type) and array.offset == 0 and valid.offset == 0:
        _, offsets, data = array.buffers()
        return pa.Array.from_buffers(array.type, len(array), [valid.buffers()[1], offsets, data])
    return pc.if_else(valid, array, pa.scalar(None, array.type))


def constraint_values(spec: dict[str, Any], values: list[Any]) -> pa.Array:
    """Values of a constraint (enum, minimum, maximum) read as the field reads its cells, as
    frictionless does: a date minimum in the field's format, a number with its decimalChar.
    A value the field cannot read is an error that names it."""
    text = pa.array([v if isinstance(v, str) else json.dumps(v) for v in values], pa.string())
    typed = _COERCE[spec["type"]](text, spec, Dialect())
    unreadable = [v for v, ok in zip(values, pc.is_valid(typed).to_pylist(), strict=True) if not ok]
    if unreadable:
        raise ValueError(
            f"field '{spec['name']}': constraint value(s) {', '.join(map(repr, unreadable))} "
            f"are not {describe_expected(spec, Dialect())}"
        )
    return typed


def few_distinct(column: pa.Array) -> bool:
    """Whether a long column has few distinct values, judged from a sample of its first rows."""
    if len(column) < 4 * SAMPLE_ROWS:
        return False
    return pc.count_distinct(column.slice(0, SAMPLE_ROWS)).as_py() <= FEW_DISTINCT * SAMPLE_ROWS


def in_parallel(jobs: Sequence[Callable[[], T]], rows: int) -> list[T]:
    """The results of jobs (one per field, say), run in parallel for a table of many rows."""
    if rows < PARALLEL_ROWS or len(jobs) < 2:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=min(len(jobs), CORES)) as pool:
        return list(pool.map(lambda job: job(), jobs))


def describe_expected(spec: dict[str, Any], dialect: Dialect) -> str:
    """What a value of this field should look like, for the partner's report."""
    kind = spec["type"]
    if kind == "date":
        return "a date as YYYY-MM-DD" + (f" or in the form {dialect.date_format}" if dialect.date_format else "")
    if kind == "datetime":
        return "a date and time as YYYY-MM-DDThh:mm:ss (with an optional time zone such as Z or +01:00)"
    if kind == "number":
        decimal, thousands = _number_marks(spec, dialect)
        return f"a number with decimal mark '{decimal}'" + (
            f" (thousands separator '{thousands}')" if thousands else ""
        )
    if kind == "integer":
        return "a whole number"
    if kind == "year":
        return "a four-digit year"
    if kind == "boolean":
        return f"one of {', '.join(spec.get('trueValues', TRUE_VALUES) + spec.get('falseValues', FALSE_VALUES))}"
    if spec.get("format") == "email":
        return "an e-mail address"
    if spec.get("format") == "uri":
        return "a web address (URI) with a scheme such as https:"
    return f"a {kind}"


def _string(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    from partnerdata.mapping.formats import FORMATS

    check = FORMATS.get(spec.get("format", "default"))
    if check is None:
        return column
    return pc.if_else(check(column), column, pa.scalar(None, pa.string()))


def _integer(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """As Python's int() after strip(), which frictionless uses; the partner's thousands separator too."""
    return _parse(_drop_thousands(_trimmed(column), dialect), INTEGER, pa.int64())


def _number(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """As frictionless: strip(); with the field's groupChar/decimalChar, drop every group mark and
    refuse a point when the decimal mark is another character. Without them, the source's dialect
    applies (its thousands separator only where it groups digits by three)."""
    column = _trimmed(column)
    if "groupChar" in spec or "decimalChar" in spec:
        if spec.get("groupChar"):
            column = pc.replace_substring(column, spec["groupChar"], "")
        decimal = spec.get("decimalChar", ".")
    else:
        column = _drop_thousands(column, dialect)
        decimal = dialect.decimal
    if decimal != ".":
        column = _swap_decimal(column, decimal)
    return _parse(column, NUMBER, pa.float64())


def _year(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    return _parse(column, YEAR, pa.int32())


def _date(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """Strict, as datetime.strptime: 31/02/2019 is refused, not rolled over to 3 March as
    Arrow's strptime would. Each distinct text is parsed once; a column has few distinct dates."""
    formats = [ISO_DATE if spec.get("format", "default") == "default" else spec["format"]]
    if dialect.date_format:
        formats.append(dialect.date_format)
    return _per_distinct(column, lambda text: _parse_date(text, formats), pa.date32())


def _datetime(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """ISO 8601 as frictionless reads it (dateutil's isoparse, seconds required); a time
    without a zone is taken as UTC, one with a zone is converted to UTC."""
    return _per_distinct(column, _parse_datetime, ARROW_TYPES["datetime"])


def _boolean(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    true = pc.is_in(column, value_set=pa.array(spec.get("trueValues", TRUE_VALUES), pa.string()))
    false = pc.is_in(column, value_set=pa.array(spec.get("falseValues", FALSE_VALUES), pa.string()))
    return pc.if_else(true, True, pc.if_else(false, pa.scalar(False), pa.scalar(None, pa.bool_())))


def _list(column: pa.Array, spec: dict[str, Any], dialect: Dialect) -> pa.Array:
    """Split on the source's separator, trim items, drop empty items."""
    items = pc.split_pattern(column, dialect.list_separator or spec.get("delimiter", ","))
    flat = pc.utf8_trim_whitespace(pc.list_flatten(items))
    keep = pc.not_equal(flat, "")
    # New offsets: how many kept items come before each old offset.
    kept_before = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(pc.cast(keep, pa.int64()))])
    old_offsets = pc.subtract(items.offsets, items.offsets[0])
    offsets = pc.cast(pc.take(kept_before, old_offsets), pa.int32())
    lengths = pc.subtract(offsets[1:], offsets[:-1])
    empty = pc.or_(pc.is_null(column), pc.equal(lengths, 0))  # no items is a missing value, as in the CSV
    return pa.ListArray.from_arrays(offsets, pc.filter(flat, keep), mask=empty)


def _parse_date(text: str, formats: list[str]) -> dt.date | None:
    for date_format in formats:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def _parse_datetime(text: str) -> dt.datetime | None:
    from dateutil.parser import isoparse

    if len(text) < 19 or text[16] != ":":  # frictionless' guard against shorter forms
        return None
    try:
        value = isoparse(text)
    except (ValueError, OverflowError):
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _per_distinct(column: pa.Array, parse: Callable[[str], Any], arrow_type: pa.DataType) -> pa.Array:
    distinct = pc.drop_null(pc.unique(column))
    parsed = pa.array([parse(text) for text in distinct.to_pylist()], arrow_type)
    return pc.take(parsed, pc.index_in(column, value_set=distinct))


def _trimmed(column: pa.Array) -> pa.Array:
    """Surrounding whitespace dropped, as frictionless does before reading a number."""
    return pc.utf8_trim_whitespace(column)


def _number_marks(spec: dict[str, Any], dialect: Dialect) -> tuple[str, str | None]:
    if "groupChar" in spec or "decimalChar" in spec:
        return spec.get("decimalChar", "."), spec.get("groupChar")
    return dialect.decimal, dialect.thousands


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
    if pc.any(pc.starts_with(column, "+")).as_py():
        column = pc.replace_substring_regex(column, r"^\+", "")
    typed = pc.cast(pc.if_else(ok, column, pa.scalar(None, pa.string())), arrow_type)
    if pa.types.is_floating(arrow_type):
        typed = pc.if_else(pc.is_finite(typed), typed, pa.scalar(None, arrow_type))
    return typed


_COERCE = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "year": _year,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "list": _list,
}
