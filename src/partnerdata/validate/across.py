"""Put the sources together: one resource of rows per kind, checked across sources.

Sources are taken in the order of sources.yaml. An organisation delivered by two
sources is merged by organisation_id (the first source wins a conflict, which is
reported; a value only the later source knows fills a gap). An activity or project
key that an earlier source already used is a primary-key problem of the later row.
Foreign keys are checked last, in publication order, so a row whose parent was
rejected is rejected too, with a message that says so.

Only the columns the checks read (keys, references, the dates of the rules) are held for
all sources at once. Each source's kept rows are then sorted by primary key, one source at
a time, into a file of its own beside its staged rows; a resource is read back from those
files a slice at a time, in key order (a merge of the sorted sources): the release is never
in memory whole.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import Config, Source
from partnerdata.validate.checks import Problem, check_foreign_key, check_unique, check_within
from partnerdata.validate.findings import Finding
from partnerdata.validate.privacy import FreeTextScrubber
from partnerdata.validate.source import POSITION, ROW, PreparedSource, read_staged, staged_schema

ORGANISATION_BLOCK = "sources.yaml organisation block"
SLICE_ROWS = 128 * 1024  # rows of a resource read back at a time (a release's Parquet row group)
RUN_BATCH_ROWS = 16 * 1024  # rows per record batch of a source's sorted file
PART, PART_ROW = "__part", "__part_row"  # which source's staged rows a checked row came from, and where


class Run:
    """One source's kept rows of a resource, in key order, in memory or in an Arrow file."""

    def __init__(self, table: pa.Table | None = None, path: Path | None = None, starts: list[int] | None = None):
        self._table, self._path, self._starts = table, path, starts or [0]
        self.num_rows = table.num_rows if table is not None else self._starts[-1]

    @classmethod
    def written(cls, table: pa.Table, path: Path) -> Run:
        """The rows written to ``path`` in record batches, so that a range of them reads back alone."""
        starts = [0]
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=RUN_BATCH_ROWS):
                writer.write_batch(batch)
                starts.append(starts[-1] + batch.num_rows)
        return cls(path=path, starts=starts)

    def rows(self, start: int, stop: int) -> pa.Table:
        if self._table is not None:
            return self._table.slice(start, stop - start)
        first = bisect.bisect_right(self._starts, start) - 1
        last = bisect.bisect_left(self._starts, stop)
        reader = pa.ipc.open_file(pa.memory_map(str(self._path)))  # mapped, not copied: unmapped once the slice is used
        table = pa.Table.from_batches([reader.get_batch(i) for i in range(first, last)], schema=reader.schema)
        return table.slice(start - self._starts[first], stop - start)


@dataclass(frozen=True)
class Assembled:
    """A resource ready to publish: schema order and types (with field metadata), personal fields
    left out, sorted by primary key; read ``slices()`` at a time."""

    schema: pa.Schema
    runs: list[Run]
    order: np.ndarray  # for each row in key order, the run it is in

    @property
    def num_rows(self) -> int:
        return len(self.order)

    def slices(self, rows: int = SLICE_ROWS) -> Iterator[pa.Table]:
        """The rows in key order, ``rows`` at a time: a slice takes the next rows of each run that
        ``order`` names for it (the runs are sorted, so they are its next ones) and interleaves them
        as ``order`` says; no key is compared again."""
        at = [0] * len(self.runs)
        for start in range(0, self.num_rows, rows):
            runs = self.order[start : start + rows]
            counts = np.bincount(runs, minlength=len(self.runs))
            pieces = []
            for index, count in enumerate(counts.tolist()):
                if count:
                    pieces.append(self.runs[index].rows(at[index], at[index] + count))
                    at[index] += count
            merged = pa.concat_tables(pieces)
            if len(pieces) > 1:  # the pieces one after the other are the slice's rows grouped by run: interleave
                grouped = np.argsort(runs, kind="stable")
                interleave = np.empty_like(grouped)
                interleave[grouped] = np.arange(len(grouped))
                merged = merged.take(pa.array(interleave))
            yield merged.replace_schema_metadata(self.schema.metadata)

    def table(self) -> pa.Table:
        """The whole resource in memory (for small releases: a trial, the tests)."""
        slices = list(self.slices())
        return pa.concat_tables(slices) if slices else self.schema.empty_table()


@dataclass(frozen=True)
class Assembly:
    resources: dict[str, Assembled]  # sorted by primary key, ready to publish
    findings: list[Finding]  # problems found across sources (private)
    conflicts: list[dict[str, Any]]  # organisations described differently by two sources

    @property
    def tables(self) -> dict[str, pa.Table]:
        return {name: resource.table() for name, resource in self.resources.items()}


@dataclass(frozen=True)
class _Part:
    source_id: str
    path: Path


def assemble(
    config: Config, schemas: Schemas, prepared: list[PreparedSource], scrubber: FreeTextScrubber | None = None
) -> Assembly:
    """The resources to publish, checked across sources; with a scrubber, free text scrubbed of
    personal data (``scrubber.removals()`` says what was taken out)."""
    by_source = {p.source_id: p for p in prepared}
    contributing = [s for s in config.sources if s.source_id in by_source]
    parts: dict[str, list[_Part]] = {name: [] for name in RESOURCE_NAMES}
    organisation_tables = []  # organisations are few: held whole
    for source in contributing:
        organisation_tables.append(_organisation_block(source, schemas))
        for resource, path in by_source[source.source_id].staged.items():
            if resource == "organisations":
                organisation_tables.append(read_staged(path))
            else:
                parts[resource].append(_Part(source.source_id, Path(path)))
    organisations, conflicts = _merge_organisations(_concat(organisation_tables, schemas, "organisations"))
    checked: dict[str, pa.Table] = {"organisations": organisations}  # what the checks read, kept rows only
    resources = {"organisations": _in_memory(organisations, schemas, "organisations", scrubber)}
    findings: list[Finding] = []
    for name in RESOURCE_NAMES[1:]:
        table = _checked_columns(parts[name], schemas, name)
        problems = check_unique(table, schemas.primary_key(name))
        findings += _findings(
            problems, table, parts[name], name, "an earlier source (or an earlier row) already has this key"
        )
        table = _drop(table, problems)
        for foreign_key in schemas.resource(name).get("foreignKeys", []):
            target = foreign_key["reference"]["resource"]
            problems = check_foreign_key(
                table, foreign_key["fields"], checked[target], foreign_key["reference"]["fields"], target
            )
            findings += _findings(
                problems, table, parts[name], name,
                f"the {target} row it refers to is missing or was rejected; fix that row first",
            )  # fmt: skip
            table = _drop(table, problems)
        for rule in schemas.rules.get(name, []):
            if rule["kind"] == "within":
                problems = check_within(table, rule, checked[rule["reference"]["resource"]])
                findings += _findings(
                    problems, table, parts[name], name, "correct the dates, or tell us which project it belongs to"
                )
                table = _drop(table, problems)
        checked[name] = table
        resources[name] = _sorted(parts[name], table, schemas, name, scrubber)
    return Assembly(resources=resources, findings=findings, conflicts=conflicts)


def _checked_columns(parts: list[_Part], schemas: Schemas, name: str) -> pa.Table:
    """Every source's rows of the resource, in source order, with only the columns the checks
    across sources read, and where each row came from."""
    staged = staged_schema(schemas, name)
    schema = pa.schema([staged.field(f) for f in _columns_checked(schemas, name)])
    tables = []
    for index, part in enumerate(parts):
        table = read_staged(part.path, schema.names).cast(schema)
        table = table.append_column(PART, pa.array(np.full(table.num_rows, index, dtype=np.int32)))
        tables.append(table.append_column(PART_ROW, pa.array(np.arange(table.num_rows, dtype=np.int64))))
    if not tables:
        return schema.append(pa.field(PART, pa.int32())).append(pa.field(PART_ROW, pa.int64())).empty_table()
    return pa.concat_tables(tables)


def _columns_checked(schemas: Schemas, name: str) -> list[str]:
    """The fields the checks across sources read in a resource: its key, its references and the
    dates of its rules, and whatever the references and rules of other resources read in it."""
    wanted = list(schemas.primary_key(name))
    for resource in RESOURCE_NAMES:
        for foreign_key in schemas.resource(resource).get("foreignKeys", []):
            if resource == name:
                wanted += foreign_key["fields"]
            if foreign_key["reference"]["resource"] == name:
                wanted += foreign_key["reference"]["fields"]
        for rule in schemas.rules.get(resource, []):
            if rule["kind"] != "within":
                continue
            if resource == name:
                wanted += [*rule["key"], *rule["fields"]]
            if rule["reference"]["resource"] == name:
                wanted += [*rule["reference"]["key"], *rule["reference"]["fields"]]
    return list(dict.fromkeys(wanted))


def _sorted(
    parts: list[_Part], checked: pa.Table, schemas: Schemas, name: str, scrubber: FreeTextScrubber | None
) -> Assembled:
    """The order of the kept rows (from the key columns the checks read), then each source's kept
    rows sorted by key into a file beside its staged rows, scrubbed on the way (one source in memory
    at a time)."""
    schema = schemas.arrow_schema(name, published=True)
    key = schemas.primary_key(name)
    sort_keys = [(f, "ascending") for f in key]
    order = checked.column(PART).take(pc.sort_indices(checked.select(key), sort_keys)).to_numpy()
    kept_parts = checked.column(PART).to_numpy()  # in source order: each source's rows are a range of them
    kept_rows = checked.column(PART_ROW).to_numpy()
    bounds = np.searchsorted(kept_parts, np.arange(len(parts) + 1))
    in_key_order = np.argsort(order, kind="stable")  # each source's places in the whole, a range of it too
    places = np.searchsorted(order[in_key_order], np.arange(len(parts) + 1))
    staged = pa.schema([staged_schema(schemas, name).field(f) for f in schema.names])

    def kept_in_order(index: int) -> pa.Table:
        """A source's kept rows in key order: one take of the rows, in the order of their keys."""
        table = read_staged(parts[index].path, schema.names).cast(staged)
        rows = pa.array(kept_rows[bounds[index] : bounds[index + 1]])
        rows = rows.take(pc.sort_indices(table.select(key).take(rows), sort_keys))
        return _published(table.take(rows), schema)

    runs = []
    for index, table in enumerate(_one_ahead(kept_in_order, len(parts))):  # the next source is read meanwhile
        if scrubber is not None:  # a source's rows are, in key order, its rows of the whole resource
            table = scrubber.scrub(name, table, ranks=in_key_order[places[index] : places[index + 1]])
        path = parts[index].path
        runs.append(Run.written(table, path.with_name(f"{path.stem}.{uuid.uuid4().hex[:8]}.sorted.arrow")))
        del table
    return Assembled(schema, runs, order.astype(np.int32))


def _one_ahead(make: Callable[[int], pa.Table], count: int) -> Iterator[pa.Table]:
    """make(0), make(1), ... make(count - 1), each made in a thread while the one before is used."""
    with ThreadPoolExecutor(1) as pool:
        coming = [pool.submit(make, 0)] if count else []
        for index in range(count):
            ready = coming.pop().result()
            if index + 1 < count:
                coming.append(pool.submit(make, index + 1))
            yield ready


def _in_memory(table: pa.Table, schemas: Schemas, name: str, scrubber: FreeTextScrubber | None) -> Assembled:
    schema = schemas.arrow_schema(name, published=True)
    key = schemas.primary_key(name)
    ordered = _published(table.select(schema.names), schema).sort_by([(f, "ascending") for f in key])
    if scrubber is not None:
        ordered = scrubber.scrub(name, ordered)
    return Assembled(schema, [Run(table=ordered)], np.zeros(ordered.num_rows, dtype=np.int32))


def _published(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The columns under the published schema: its field metadata, its table metadata."""
    return pa.Table.from_arrays(
        table.select(schema.names).columns, schema=schema.with_metadata(None)
    ).replace_schema_metadata(schema.metadata)


def _organisation_block(source: Source, schemas: Schemas) -> pa.Table:
    """The partner that delivers a source is an organisation row of that source."""
    block = source.organisation
    row: dict[str, str | int | None] = {name: None for name in schemas.field_names("organisations")}
    row.update(
        organisation_id=block.id,
        source_id=source.source_id,
        name=block.name,
        organisation_type=block.type,
        city=block.city,
        region=block.region,
        country=block.country,
    )
    row[ROW] = -1
    row[POSITION] = ORGANISATION_BLOCK
    return pa.Table.from_pylist([row], schema=staged_schema(schemas, "organisations"))


def _merge_organisations(table: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """First occurrence wins; later ones fill its gaps; differing values are conflicts."""
    merged: dict[str, dict[str, Any]] = {}
    conflicts = []
    for row in table.to_pylist():
        key = row["organisation_id"]
        if key not in merged:
            merged[key] = row
            continue
        kept = merged[key]
        differing = {}
        for name, value in row.items():
            if name in ("source_id", ROW, POSITION) or value is None:
                continue
            if kept[name] is None:
                kept[name] = value
            elif kept[name] != value:
                differing[name] = {"kept": kept[name], "other": value}
        if differing:
            conflicts.append(
                {
                    "organisation_id": key,
                    "kept_from": kept["source_id"],
                    "other_source": row["source_id"],
                    "other_position": row[POSITION],
                    "fields": differing,
                }
            )
    return pa.Table.from_pylist(list(merged.values()), schema=table.schema), conflicts


def _concat(tables: list[pa.Table], schemas: Schemas, name: str) -> pa.Table:
    schema = staged_schema(schemas, name)
    return pa.concat_tables([t.select(schema.names).cast(schema) for t in tables]) if tables else schema.empty_table()


def _drop(table: pa.Table, problems: list[Problem]) -> pa.Table:
    if not problems:
        return table
    rows = pa.array(sorted({p.row for p in problems}), pa.int64())
    keep = pc.invert(pc.is_in(pa.array(range(table.num_rows), pa.int64()), value_set=rows))
    return table.filter(keep)


def _findings(problems: list[Problem], table: pa.Table, parts: list[_Part], name: str, advice: str) -> list[Finding]:
    """The problems as findings: the source, its row and position (read back from the source's
    staged rows, for these rows only), the field and its value."""
    if not problems:
        return []
    picked = table.take(pa.array([p.row for p in problems], pa.int64()))
    where = list(zip(picked.column(PART).to_pylist(), picked.column(PART_ROW).to_pylist(), strict=True))
    located = _located(parts, where)
    values = {f: picked.column(f).to_pylist() for f in {p.field for p in problems}}
    return [
        Finding(
            source_id=parts[part].source_id,
            resource=name,
            row=located[(part, row)][0],
            position=located[(part, row)][1],
            field=p.field,
            value=_text(values[p.field][i]),
            rule=p.rule,
            message=f"{p.message}: {advice}",
        )
        for i, (p, (part, row)) in enumerate(zip(problems, where, strict=True))
    ]


def _located(parts: list[_Part], where: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, str]]:
    """(part, row in its staged file) -> the row's index and position as the partner knows them."""
    by_part: dict[int, set[int]] = {}
    for part, row in where:
        by_part.setdefault(part, set()).add(row)
    located = {}
    for index, wanted in sorted(by_part.items()):
        rows = sorted(wanted)
        staged = read_staged(parts[index].path, [ROW, POSITION]).take(pa.array(rows, pa.int64()))
        for row, number, position in zip(
            rows, staged.column(ROW).to_pylist(), staged.column(POSITION).to_pylist(), strict=True
        ):
            located[(index, row)] = (number, position)
    return located


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
