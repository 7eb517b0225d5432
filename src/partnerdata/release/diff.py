"""What changed between two releases, and which version number that calls for.

The rules follow the Data Package version recipe (frictionlessdata/datapackage,
recipes/data-package-version):

- MAJOR: an incompatible change. A resource removed; a field added, removed, renamed
  or reordered; a type or format changed; a constraint made more restrictive; a
  primary key or foreign key changed or added; records that another resource
  references deleted (a split or a new key deletes the old key too).
- MINOR: records or resources added, records nothing references removed, a
  constraint loosened.
- PATCH: values of existing records corrected, or only descriptive metadata changed.
- No release: nothing changed. Moving the files to another URL is no change.

Records are compared by primary key, over the published fields; the differences
are counted, and listed (keys, and fields from what to what) up to a cap.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeAlias, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.util.cores import CORES

LEVELS = ("patch", "minor", "major")
MAX_KEYS = 1000  # keys listed per resource and kind of change; the counts are always complete
MAX_CHANGED_RECORDS = 200  # changed records listed with their field changes, per resource
CONSTRAINT_DIRECTIONS = {  # for a number-valued constraint: which way makes it more restrictive
    "minimum": "up",
    "minLength": "up",
    "maximum": "down",
    "maxLength": "down",
}
DESCRIPTIVE = {"title", "description"}  # field and resource properties that only describe


@dataclass(frozen=True)
class Change:
    level: str  # patch | minor | major
    rule: str  # which rule of the version recipe applies
    resource: str | None
    reason: str  # one sentence for a data user

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ParquetColumns:
    """A release's resource read from its Parquet file a column (or a few) at a time, never whole:
    the keyed diff needs its keys, then one field at a time, a slice of rows at a time. It answers
    the questions _diff_table and _referenced ask of a table (column_names, schema, num_rows,
    select, and the rows of a range or a few rows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = pq.ParquetFile(path)
        self.schema = self._file.schema_arrow
        self.column_names = self.schema.names
        self.num_rows = self._file.metadata.num_rows
        sizes = [self._file.metadata.row_group(i).num_rows for i in range(self._file.metadata.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self._kept: tuple[int, list[str], pa.Table] | None = None  # the last row group read, of these columns

    def select(self, names: list[str]) -> pa.Table:
        return pq.read_table(self.path, columns=list(names))

    def range(self, names: list[str], start: int, stop: int) -> pa.Table:
        """Rows start to stop of some columns, reading only the row groups that hold them. The last
        row group read is kept: ranges that follow each other read the group they share once."""
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        last = int(np.searchsorted(self._starts, stop, side="left"))
        groups = [self._group(index, names) for index in range(first, last)]
        return pa.concat_tables(groups).slice(start - int(self._starts[first]), stop - start)

    def _group(self, index: int, names: list[str]) -> pa.Table:
        if self._kept is not None and self._kept[:2] == (index, names):
            return self._kept[2]
        group = self._file.read_row_group(index, columns=list(names))
        self._kept = (index, list(names), group)
        return group

    def row_group_starts(self) -> np.ndarray:
        """The first row of each row group, and the number of rows."""
        return self._starts

    def rows_at(self, names: list[str], rows: np.ndarray) -> pa.Table:
        """A few rows (in the order given) of some columns, a row group at a time."""
        groups = np.searchsorted(self._starts, rows, side="right") - 1
        pieces, positions = [], []
        for group in np.unique(groups):
            inside = np.flatnonzero(groups == group)
            read = self._file.read_row_group(int(group), columns=list(names))
            pieces.append(read.take(pa.array(rows[inside] - self._starts[group])))
            positions.append(inside)
        if not pieces:
            return self.schema.empty_table().select(list(names))
        together = pa.concat_tables(pieces)
        return together.take(pa.array(np.argsort(np.concatenate(positions), kind="stable")))


Table: TypeAlias = "pa.Table | ParquetColumns"
DIFF_SLICE_ROWS = 128 * 1024  # pairs of records compared at a time
DIFF_THREADS = max(2, CORES)  # one reads the next slice while the others compare


def bump(version: str, level: str) -> str:
    major, minor, patch = map(int, version.split("."))
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def highest(changes: list[Change]) -> str | None:
    """The bump these changes call for: the most incompatible one, or None for no change."""
    if not changes:
        return None
    return max((c.level for c in changes), key=LEVELS.index)


def schema_changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    """Changes between two sets of published Table Schemas, by resource name."""
    changes = []
    for name in old.keys() - new.keys():
        changes.append(Change("major", "resource-removed", name, f"the resource {name} was removed"))
    for name in new.keys() - old.keys():
        changes.append(Change("minor", "resource-added", name, f"the resource {name} was added"))
    for name in sorted(old.keys() & new.keys()):
        changes += _resource_schema_changes(name, old[name], new[name])
    return changes


def _resource_schema_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    removed = [f for f in old_fields if f not in new_fields]
    added = [f for f in new_fields if f not in old_fields]
    for field in removed:
        changes.append(Change("major", "field-removed", name, f"{name}.{field} was removed (or renamed)"))
    for field in added:
        changes.append(Change("major", "field-added", name, f"{name}.{field} was added"))
    common_old = [f for f in old_fields if f in new_fields]
    common_new = [f for f in new_fields if f in old_fields]
    if common_old != common_new:
        changes.append(Change("major", "fields-reordered", name, f"the fields of {name} are in another order"))
    for field in common_new:
        changes += _field_changes(name, old_fields[field], new_fields[field])
    if _as_list(old.get("primaryKey")) != _as_list(new.get("primaryKey")):
        changes.append(
            Change("major", "primary-key-changed", name, f"the primary key of {name} is now {new.get('primaryKey')}")
        )
    old_fks = [_fk(fk) for fk in old.get("foreignKeys", [])]
    new_fks = [_fk(fk) for fk in new.get("foreignKeys", [])]
    for fk in new_fks:
        if fk not in old_fks:
            changes.append(Change("major", "foreign-key-added", name, f"{name} has a new foreign key {fk}"))
    for fk in old_fks:
        if fk not in new_fks:
            changes.append(Change("minor", "foreign-key-removed", name, f"{name} no longer has the foreign key {fk}"))
    if _descriptive(old) != _descriptive(new) and not changes:
        changes.append(Change("patch", "metadata-changed", name, f"the description of {name} changed"))
    return changes


def _field_changes(resource: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    where = f"{resource}.{new['name']}"
    changes = []
    for key, rule in (("type", "type-changed"), ("format", "format-changed")):
        if old.get(key, "default") != new.get(key, "default"):
            changes.append(Change("major", rule, resource, f"{where}: {key} {old.get(key)} became {new.get(key)}"))
    changes += _constraint_changes(resource, where, old.get("constraints", {}), new.get("constraints", {}))
    for key in ("itemEnum", "delimiter", "trueValues", "falseValues", "missingValues"):
        if old.get(key) != new.get(key):
            if key == "itemEnum" and old.get(key) and new.get(key) and set(old[key]) < set(new[key]):
                changes.append(Change("minor", "constraint-loosened", resource, f"{where}: more list items allowed"))
            else:
                changes.append(Change("major", "constraint-tightened", resource, f"{where}: {key} changed"))
    if not changes and _descriptive(old) != _descriptive(new):
        changes.append(Change("patch", "metadata-changed", resource, f"{where}: its title or description changed"))
    return changes


def _constraint_changes(resource: str, where: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []

    def tightened(what: str) -> None:
        changes.append(Change("major", "constraint-tightened", resource, f"{where}: {what}"))

    def loosened(what: str) -> None:
        changes.append(Change("minor", "constraint-loosened", resource, f"{where}: {what}"))

    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in ("required", "unique"):
            (tightened if after else loosened)(f"{key} is now {bool(after)}")
        elif key == "enum":
            if before is None or after is not None and not set(after) >= set(before):
                tightened("fewer allowed values" if before is not None else "a list of allowed values was added")
            else:
                loosened("more allowed values" if after is not None else "any value is allowed now")
        elif key in CONSTRAINT_DIRECTIONS:
            if before is None or after is None:
                (tightened if before is None else loosened)(f"{key} {'added' if before is None else 'removed'}")
            else:
                up = _compare(after, before) > 0
                (tightened if up == (CONSTRAINT_DIRECTIONS[key] == "up") else loosened)(
                    f"{key} {before} became {after}"
                )
        else:  # a pattern, or anything we cannot order: assume the worst
            tightened(f"{key} {before!r} became {after!r}")
    return changes


def data_changes(
    old: dict[str, Table],
    new: dict[str, Table],
    keys: dict[str, list[str]],
    references: dict[str, list[tuple[str, list[str], list[str]]]],
) -> tuple[list[Change], dict[str, Any]]:
    """Records added, removed and changed per resource, keyed by primary key.

    references maps a resource to the (child resource, child fields, own key fields) that
    point at it, so that a removed record someone refers to is found (in the old release)."""
    changes, diffs = [], {}
    for name in new:
        if name not in old:
            continue
        diff = _diff_table(old[name], new[name], keys[name])
        diffs[name] = diff
        counts = diff["counts"]
        if counts["removed"]:
            referenced = _referenced(old, name, diff["removed_table"], references.get(name, []))
            if referenced:
                changes.append(
                    Change(
                        "major",
                        "referenced-records-removed",
                        name,
                        f"{referenced} removed {name} record(s) were referred to by other resources",
                    )
                )
            if counts["removed"] > referenced:
                changes.append(
                    Change(
                        "minor",
                        "records-removed",
                        name,
                        f"{counts['removed'] - referenced} {name} record(s) nothing refers to were removed",
                    )
                )
        if counts["added"]:
            changes.append(Change("minor", "records-added", name, f"{counts['added']} {name} record(s) added"))
        if counts["changed"]:
            changes.append(
                Change("patch", "records-corrected", name, f"values of {counts['changed']} {name} record(s) changed")
            )
        del diff["removed_table"]
    return changes, diffs


def _diff_table(old: Table, new: Table, key: list[str]) -> dict[str, Any]:
    """Added, removed and changed keys; for changed records, each field from what to what
    (fields whose type changed are left out: that change is a schema change already).

    Only the keys are joined, to pair each old row with its new row; the fields of the pairs
    are then compared a slice of pairs at a time, field by field (each side reads the range of rows
    the slice spans: a release is sorted by key, so the pairs of a slice lie close together in
    both). Every list in the result is in key order."""
    fields = [
        f
        for f in new.column_names
        if f in old.column_names and f not in key and old.schema.field(f).type == new.schema.field(f).type
    ]
    old_rows, new_rows, added, removed = _pair_rows(old, new, key)
    changed = np.zeros(len(old_rows), dtype=bool)

    def read(pairs: slice) -> tuple[pa.Table, pa.Table]:
        return _rows_in_range(old, fields, old_rows[pairs]), _rows_in_range(new, fields, new_rows[pairs])

    def differs(parts: tuple[pa.Table, pa.Table], name: str) -> np.ndarray:
        before, after = (part.column(name) for part in parts)
        return _differs(_comparable(before), _comparable(after)).to_numpy(zero_copy_only=False)

    # A slice of pairs at a time (neither release is ever in memory whole), the next one read while
    # the fields of this one are compared, a field to a thread (Arrow lets go of the GIL).
    slices = _pair_slices(new, new_rows) if fields else []
    with ThreadPoolExecutor(DIFF_THREADS) as pool:
        coming = pool.submit(read, slices[0]) if slices else None
        for index, pairs in enumerate(slices):
            parts = cast("Future[tuple[pa.Table, pa.Table]]", coming).result()
            coming = pool.submit(read, slices[index + 1]) if index + 1 < len(slices) else None
            for found in pool.map(differs, [parts] * len(fields), fields):
                changed[pairs] |= found
            del parts
    changed_old, changed_new = old_rows[changed], new_rows[changed]
    order = pc.sort_indices(_rows_at(new, key, changed_new), [(k, "ascending") for k in key]).to_numpy()
    shown_old, shown_new = changed_old[order[:MAX_CHANGED_RECORDS]], changed_new[order[:MAX_CHANGED_RECORDS]]
    before = _rows_at(old, fields, shown_old).to_pylist() if fields else [{}] * len(shown_old)
    after = _rows_at(new, fields, shown_new).to_pylist() if fields else [{}] * len(shown_new)
    keys = _keys(_rows_at(new, key, shown_new), key)
    changed_records = [
        {
            "key": record_key,
            "fields": {f: {"from": _json(b[f]), "to": _json(a[f])} for f in fields if b[f] != a[f]},
        }
        for record_key, b, a in zip(keys, before, after, strict=True)
    ]
    return {
        "counts": {"added": added.num_rows, "removed": removed.num_rows, "changed": len(changed_old)},
        "added": _first_keys(added, key, MAX_KEYS),
        "removed": _first_keys(removed, key, MAX_KEYS),
        "changed": changed_records,
        "truncated": added.num_rows > MAX_KEYS or removed.num_rows > MAX_KEYS or len(changed_old) > MAX_CHANGED_RECORDS,
        "removed_table": removed,
    }


def _pair_slices(new: Table, new_rows: np.ndarray) -> list[slice]:
    """Slices of the pairs (in the order of the new rows) of about DIFF_SLICE_ROWS: from Parquet, the
    pairs whose new rows are a row group's, so that each group is read once (the old release's
    groups are read once too: its rows go up with the new ones', and ParquetColumns keeps the last)."""
    if isinstance(new, ParquetColumns):
        bounds = np.unique(np.searchsorted(new_rows, new.row_group_starts()))
    else:
        bounds = np.arange(0, len(new_rows) + DIFF_SLICE_ROWS, DIFF_SLICE_ROWS).clip(max=len(new_rows))
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _rows_in_range(table: Table, names: list[str], rows: np.ndarray) -> pa.Table:
    """Some fields at the given rows, reading only the range of rows they span."""
    if len(rows) == 0 or not names:
        return table.schema.empty_table().select(names)
    start, stop = int(rows.min()), int(rows.max()) + 1
    if isinstance(table, ParquetColumns):
        read = table.range(names, start, stop)
    else:
        read = table.select(names).slice(start, stop - start)
    return read.take(pa.array(rows - start))


def _rows_at(table: Table, names: list[str], rows: np.ndarray) -> pa.Table:
    if isinstance(table, ParquetColumns):
        return table.rows_at(names, rows)
    return table.select(names).take(pa.array(rows, pa.int64()))


def _pair_rows(old: Table, new: Table, key: list[str]) -> tuple[np.ndarray, np.ndarray, pa.Table, pa.Table]:
    """The row numbers of the records in both (old, new, aligned, in the order of the new rows),
    and the keys only in new (added) and only in old (removed)."""
    old_keys, new_keys = old.select(key), new.select(key)
    if old_keys.equals(new_keys):  # the same records in the same order: nothing to join
        rows = np.arange(old.num_rows, dtype=np.int64)
        return rows, rows, new_keys.slice(0, 0), old_keys.slice(0, 0)
    if len(key) == 1:  # a lookup of each new key among the old ones: no joined table of every record
        return _pair_by_lookup(old_keys, new_keys, key[0])
    joined = old_keys.append_column("__old", pa.array(np.arange(old.num_rows, dtype=np.int64))).join(
        new_keys.append_column("__new", pa.array(np.arange(new.num_rows, dtype=np.int64))),
        keys=key,
        join_type="full outer",
    )
    in_old, in_new = pc.is_valid(joined.column("__old")), pc.is_valid(joined.column("__new"))
    both = joined.filter(pc.and_(in_old, in_new)).select(["__old", "__new"]).sort_by("__new")
    return (
        both.column("__old").to_numpy(),
        both.column("__new").to_numpy(),
        joined.filter(pc.invert(in_old)).select(key),
        joined.filter(pc.invert(in_new)).select(key),
    )


def _pair_by_lookup(
    old_keys: pa.Table, new_keys: pa.Table, name: str
) -> tuple[np.ndarray, np.ndarray, pa.Table, pa.Table]:
    """_pair_rows for a key of one field: where each new key is among the old keys (a key is unique
    in a release; an empty key is never one, as the join never pairs empty cells)."""
    old_column, new_column = old_keys.column(name), new_keys.column(name)
    found = pc.index_in(new_column, value_set=old_column.combine_chunks(), skip_nulls=True)
    in_old = pc.is_valid(found).to_numpy(zero_copy_only=False)
    new_rows = np.flatnonzero(in_old).astype(np.int64)
    old_rows = pc.drop_null(found).to_numpy().astype(np.int64)
    kept = np.zeros(old_keys.num_rows, dtype=bool)
    kept[old_rows] = True
    return (
        old_rows,
        new_rows,
        new_keys.filter(pa.array(~in_old)),
        old_keys.filter(pa.array(~kept)),
    )


def _comparable(column: pa.ChunkedArray) -> pa.Array:
    """A column whose values can be compared: list values joined into text."""
    if pa.types.is_list(column.type):
        return pc.binary_join(column, "\x1f").combine_chunks()
    return column.combine_chunks()


def _first_keys(table: pa.Table, key: list[str], limit: int) -> list[Any]:
    """The first ``limit`` keys of the table in key order."""
    order = pc.sort_indices(table, [(k, "ascending") for k in key])[:limit]
    return _keys(table.take(order), key)


def _differs(a: pa.Array, b: pa.Array) -> pa.Array:
    """True where the values differ; two empty cells are equal."""
    equal = pc.fill_null(pc.equal(a, b), False)
    both_empty = pc.and_(pc.is_null(a), pc.is_null(b))
    return pc.invert(pc.or_(equal, both_empty))


def _referenced(
    old: dict[str, Table], name: str, removed: pa.Table, pointers: list[tuple[str, list[str], list[str]]]
) -> int:
    """How many of the removed keys some row of another resource referred to (in the old release)."""
    if removed.num_rows == 0 or not pointers:
        return 0
    hit = pa.array(np.zeros(removed.num_rows, dtype=bool))
    indexed = removed.append_column("__index", pa.array(np.arange(removed.num_rows, dtype=np.int64)))
    for child, child_fields, own_fields in pointers:
        if child not in old:
            continue
        references = old[child].select(child_fields).rename_columns(own_fields).group_by(own_fields).aggregate([])
        found = indexed.select([*own_fields, "__index"]).join(references, keys=own_fields, join_type="inner")
        rows = pa.array(np.arange(removed.num_rows, dtype=np.int64))
        hit = pc.or_(hit, pc.is_in(rows, value_set=found.column("__index").combine_chunks()))
    return pc.sum(pc.cast(hit, pa.int64())).as_py() or 0


def _keys(table: pa.Table, key: list[str]) -> list[Any]:
    rows = table.select(key).to_pylist()
    return [_json(row[key[0]]) if len(key) == 1 else [_json(row[k]) for k in key] for row in rows]


def _json(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _fk(foreign_key: dict[str, Any]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    reference = foreign_key["reference"]
    return (tuple(_as_list(foreign_key["fields"])), reference["resource"], tuple(_as_list(reference["fields"])))


def _descriptive(descriptor: dict[str, Any]) -> dict[str, Any]:
    return {k: descriptor.get(k) for k in DESCRIPTIVE}


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)
