"""Put the sources together: one table per resource, checked across sources.

Sources are taken in the order of sources.yaml. An organisation delivered by two
sources is merged by organisation_id (the first source wins a conflict, which is
reported; a value only the later source knows fills a gap). An activity or project
key that an earlier source already used is a primary-key problem of the later row.
Foreign keys are checked last, in publication order, so a row whose parent was
rejected is rejected too, with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import Config, Source
from partnerdata.validate.checks import Problem, check_foreign_key, check_unique, check_within
from partnerdata.validate.findings import Finding
from partnerdata.validate.source import POSITION, ROW, PreparedSource, staged_schema

ORGANISATION_BLOCK = "sources.yaml organisation block"


@dataclass(frozen=True)
class Assembly:
    tables: dict[str, pa.Table]  # typed, sorted by primary key, ready to publish
    findings: list[Finding]  # problems found across sources (private)
    conflicts: list[dict[str, Any]]  # organisations described differently by two sources


def assemble(config: Config, schemas: Schemas, prepared: list[PreparedSource]) -> Assembly:
    by_source = {p.source_id: p for p in prepared}
    contributing = [s for s in config.sources if s.source_id in by_source]
    parts: dict[str, list[pa.Table]] = {name: [] for name in RESOURCE_NAMES}
    for source in contributing:
        parts["organisations"].append(_organisation_block(source, schemas))
        for resource, path in by_source[source.source_id].staged.items():
            parts[resource].append(pq.read_table(path))

    # Each resource's parts are let go as it is concatenated, and each table as its publishable copy is
    # made: at most one table is held twice at a time (a million activities are some 300 MB in Arrow).
    tables, findings = {}, []
    organisations, conflicts = _merge_organisations(_concat(parts.pop("organisations"), schemas, "organisations"))
    tables["organisations"] = organisations
    for name in RESOURCE_NAMES[1:]:
        table = _concat(parts.pop(name), schemas, name)
        problems = check_unique(table, schemas.primary_key(name))
        findings += _findings(problems, table, name, "an earlier source (or an earlier row) already has this key")
        table = _drop(table, problems)
        for foreign_key in schemas.resource(name).get("foreignKeys", []):
            target = foreign_key["reference"]["resource"]
            problems = check_foreign_key(
                table, foreign_key["fields"], tables[target], foreign_key["reference"]["fields"], target
            )
            findings += _findings(
                problems, table, name, f"the {target} row it refers to is missing or was rejected; fix that row first"
            )
            table = _drop(table, problems)
        for rule in schemas.rules.get(name, []):
            if rule["kind"] == "within":
                problems = check_within(table, rule, tables[rule["reference"]["resource"]])
                findings += _findings(
                    problems, table, name, "correct the dates, or tell us which project it belongs to"
                )
                table = _drop(table, problems)
        tables[name] = table
    final = {}
    for name in RESOURCE_NAMES:
        final[name] = _publishable(tables.pop(name), schemas, name)
    return Assembly(tables=final, findings=findings, conflicts=conflicts)


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


def _findings(problems: list[Problem], table: pa.Table, name: str, advice: str) -> list[Finding]:
    return [
        Finding(
            source_id=table.column("source_id")[p.row].as_py(),
            resource=name,
            row=table.column(ROW)[p.row].as_py(),
            position=table.column(POSITION)[p.row].as_py(),
            field=p.field,
            value=_text(table.column(p.field)[p.row].as_py()),
            rule=p.rule,
            message=f"{p.message}: {advice}",
        )
        for p in problems
    ]


def _publishable(table: pa.Table, schemas: Schemas, name: str) -> pa.Table:
    """Schema order and types (with field metadata), sorted by primary key; personal fields left out."""
    schema = schemas.arrow_schema(name, published=True)
    ordered = table.select(schema.names).sort_by([(f, "ascending") for f in schemas.primary_key(name)])
    return pa.Table.from_arrays(ordered.columns, schema=schema.with_metadata(None)).replace_schema_metadata(
        schema.metadata
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
