"""sources.yaml and the schemas, loaded by ``config`` and checked against the rules rows are checked with.

``config`` reads and checks what it can alone (keys, types, URLs, the schemas' structure); two checks
need the field rules of ``mapping`` and ``validate``, so they are made here, where those rules live:
a constraint's values (enum, minimum, maximum) must read as its field reads a cell, and a source's
``organisation`` block must pass the organisations schema, since it becomes a row of it. Every command
loads the configuration through these two functions (``run.plan.load``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from partnerdata.config import schemas as schema_files
from partnerdata.config import sources
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import ORGANISATION_KEYS, Config
from partnerdata.errors import ConfigError
from partnerdata.mapping.coercion import Dialect, coerce_table, constraint_values
from partnerdata.validate.checks import check_fields


def load_schemas(folder: Path | str) -> Schemas:
    """Read the schemas and check them, their constraints' values included."""
    schemas = schema_files.load_schemas(folder)
    for name in RESOURCE_NAMES:
        for spec in schemas.fields(name):
            _check_constraint_values(spec, f"{schemas.folder / (name + '.schema.json')}: field '{spec['name']}'")
    return schemas


def load_config(
    path: Path | str,
    schemas: Schemas,
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Config:
    """Read sources.yaml (``config.sources.load_config``) and check each organisation block as the row it becomes."""
    config = sources.load_config(path, schemas, environ, secrets)
    for index, source in enumerate(config.sources):
        where = f"{config.path}: sources[{index}] ({source.source_id}): key 'organisation'"
        _check_organisation(source.organisation, schemas, where)
    return config


def _check_constraint_values(spec: dict, where: str) -> None:
    constraints = spec.get("constraints", {})
    for name in ("enum", "minimum", "maximum"):
        if name in constraints and spec["type"] != "list":
            try:
                constraint_values(spec, constraints[name] if name == "enum" else [constraints[name]])
            except ValueError as error:
                raise ConfigError(f"{where}: constraint {name}: {error}") from None


def _check_organisation(organisation: sources.Organisation, schemas: Schemas, where: str) -> None:
    row = {field: getattr(organisation, key) or "" for key, field in ORGANISATION_KEYS.items()}
    row["source_id"] = "x"
    fields = schemas.fields("organisations")
    text = pa.table({spec["name"]: pa.array([row.get(spec["name"], "")], pa.string()) for spec in fields})
    coerced = coerce_table(text, fields, [""], Dialect())
    for problem in check_fields(coerced, fields, Dialect()):
        key = next(k for k, f in ORGANISATION_KEYS.items() if f == problem.field)
        raise ConfigError(f"{where}: key '{key}': {row[problem.field]!r}: {problem.message}")
