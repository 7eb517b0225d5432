"""The Table Schemas in schemas/: the single source of truth for types and rules.

Arrow types, the Parquet schema, the validation checks and the data dictionary
are all derived from these descriptors; nothing here restates a field by hand.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from partnerdata.errors import ConfigError

# Publication order: referenced resources first, so foreign keys can be checked in one pass.
RESOURCE_NAMES = ("organisations", "projects", "activities", "project_partners")

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "year": pa.int32(),
    "list": pa.list_(pa.string()),
}
RULE_KINDS = {  # kind -> the keys a rule of that kind has
    "not_greater": {"name", "kind", "fields", "message"},
    "within": {"name", "kind", "fields", "key", "reference", "message"},
}
SUPPORTED_CONSTRAINTS = {"required", "unique", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength"}


@dataclass(frozen=True)
class Schemas:
    """The four resource schemas, the package metadata and the row rules, as read from disk."""

    folder: Path
    resources: dict[str, dict[str, Any]]
    package: dict[str, Any]
    rules: dict[str, list[dict[str, Any]]]

    def resource(self, name: str) -> dict[str, Any]:
        return self.resources[name]

    def fields(self, name: str) -> list[dict[str, Any]]:
        return self.resources[name]["fields"]

    def field_names(self, name: str) -> list[str]:
        return [f["name"] for f in self.resources[name]["fields"]]

    def primary_key(self, name: str) -> list[str]:
        return list(self.resources[name]["primaryKey"])

    def published_fields(self, name: str) -> list[dict[str, Any]]:
        """The fields a release holds: every field not marked ``"personal": true``."""
        return [spec for spec in self.fields(name) if not spec.get("personal")]

    def published_descriptor(self, name: str) -> dict[str, Any]:
        """The Table Schema as published in datapackage.json, without the personal fields."""
        return {**self.resources[name], "fields": self.published_fields(name)}

    def arrow_schema(self, name: str, published: bool = False) -> pa.Schema:
        """Arrow schema of a resource (of its published fields only, when asked), with each
        field's title and description as metadata."""
        arrow_fields = []
        for spec in self.published_fields(name) if published else self.fields(name):
            required = spec.get("constraints", {}).get("required", False)
            metadata = {"title": spec.get("title", ""), "description": spec.get("description", "")}
            arrow_fields.append(
                pa.field(spec["name"], ARROW_TYPES[spec["type"]], nullable=not required, metadata=metadata)
            )
        meta = self.package.get("resources", {}).get(name, {})
        return pa.schema(
            arrow_fields, metadata={"description": meta.get("description", ""), "title": meta.get("title", name)}
        )

    def digest(self) -> str:
        """sha256 over every file in schemas/, so any change of a type, rule or text shows."""
        return digest_files(sorted(p for p in self.folder.iterdir() if p.is_file()))


def load_schemas(folder: Path | str) -> Schemas:
    """Read schemas/<resource>.schema.json, package.json and rules.yaml, and check them."""
    folder = Path(folder)
    resources = {}
    for name in RESOURCE_NAMES:
        path = folder / f"{name}.schema.json"
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: schema file is missing") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not valid JSON: {error}") from None
        _check_schema(descriptor, path)
        resources[name] = descriptor
    try:
        package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        rules = yaml.safe_load((folder / "rules.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ConfigError(f"{folder}: cannot read package.json or rules.yaml: {error}") from None
    _check_descriptive(package, folder / "package.json")
    schemas = Schemas(folder=folder, resources=resources, package=package, rules=rules)
    _check_references(schemas)
    _check_rules(schemas)
    return schemas


# The EU data-theme vocabulary (http://publications.europa.eu/resource/authority/data-theme/...): package.json's
# "themes" name the dataset's themes by these codes, which portals browse by.
DATA_THEMES = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "OP_DATPRO": "Provisional data",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}


def _check_descriptive(package: dict[str, Any], path: Path) -> None:
    """package.json's "themes" are EU data-theme codes, its "languages" ISO 639-1 codes (en, nl, fr ...)."""
    import pycountry

    themes = package.get("themes", [])
    if not isinstance(themes, list) or any(not isinstance(t, str) or t not in DATA_THEMES for t in themes):
        raise ConfigError(f"{path}: key 'themes': expected a list of EU data-theme codes ({', '.join(DATA_THEMES)}), "
                          f"got {themes!r}")  # fmt: skip
    languages = package.get("languages", [])
    if not isinstance(languages, list) or any(
        not isinstance(code, str) or len(code) != 2 or pycountry.languages.get(alpha_2=code) is None
        for code in languages
    ):
        raise ConfigError(
            f"{path}: key 'languages': expected a list of ISO 639-1 codes (en, nl, fr ...), got {languages!r}"
        )


def _check_schema(descriptor: dict[str, Any], path: Path) -> None:
    from frictionless import FrictionlessException, Schema

    try:
        Schema.from_descriptor(descriptor)
    except FrictionlessException as error:
        raise ConfigError(f"{path}: not a valid Table Schema: {error}") from None
    if "uniqueKeys" in descriptor:
        raise ConfigError(
            f"{path}: uniqueKeys is silently ignored by frictionless-py, so a release could not be checked "
            "against it; use primaryKey, a field's unique constraint, or a row rule in rules.yaml"
        )
    names = set()
    for spec in descriptor["fields"]:
        _check_field(spec, f"{path}: field '{spec['name']}'")
        names.add(spec["name"])
    if "source_id" not in names:
        raise ConfigError(f"{path}: every resource needs the field source_id")
    personal = {spec["name"] for spec in descriptor["fields"] if spec.get("personal")}
    keys = list(descriptor.get("primaryKey", [])) + [
        f for fk in descriptor.get("foreignKeys", []) for f in fk["fields"]
    ]
    for key_field in keys:
        if key_field not in names:
            raise ConfigError(f"{path}: a key names '{key_field}', which is not a field")
        if key_field in personal:
            raise ConfigError(f"{path}: field '{key_field}' is in a key, so it cannot be personal (never published)")


def _check_field(spec: dict[str, Any], where: str) -> None:
    """Only what partnerdata checks exactly as frictionless-py does (tests/validate/test_differential.py)."""
    kind = spec["type"]
    if kind not in ARROW_TYPES:
        raise ConfigError(f"{where}: type '{kind}' is not supported (use one of {', '.join(ARROW_TYPES)})")
    unsupported = set(spec.get("constraints", {})) - SUPPORTED_CONSTRAINTS
    if unsupported:
        raise ConfigError(f"{where}: constraint(s) {', '.join(sorted(unsupported))} are not checked by partnerdata")
    if "categories" in spec:
        raise ConfigError(f"{where}: categories are ignored by frictionless-py; use an enum constraint")
    form = spec.get("format", "default")
    allowed = {"string": {"default", "email", "uri"}, "date": None, "datetime": {"default"}}.get(kind, {"default"})
    if allowed is None and form == "any" or allowed is not None and form not in allowed:
        raise ConfigError(f"{where}: format '{form}' is not supported for a {kind} field")
    if spec.get("bareNumber") is False:
        raise ConfigError(f"{where}: bareNumber false is not supported; map the partner's text to plain numbers")


def _check_references(schemas: Schemas) -> None:
    for name in RESOURCE_NAMES:
        for foreign_key in schemas.resource(name).get("foreignKeys", []):
            target = foreign_key["reference"]["resource"]
            where = f"{schemas.folder / (name + '.schema.json')}: foreignKey {foreign_key['fields']}"
            if target not in schemas.resources:
                raise ConfigError(f"{where}: refers to unknown resource '{target}'")
            if RESOURCE_NAMES.index(target) >= RESOURCE_NAMES.index(name):
                raise ConfigError(f"{where}: '{target}' must come before '{name}' in RESOURCE_NAMES")
            missing = set(foreign_key["reference"]["fields"]) - set(schemas.field_names(target))
            if missing:
                raise ConfigError(f"{where}: '{target}' has no field(s) {', '.join(sorted(missing))}")


def _check_rules(schemas: Schemas) -> None:
    """Each rule names its fields, kind and message; a ``within`` rule also the key that finds
    the row of the other resource and that row's [start, end] fields."""
    where = schemas.folder / "rules.yaml"
    for resource, rules in schemas.rules.items():
        if resource not in schemas.resources:
            raise ConfigError(f"{where}: rules for unknown resource '{resource}'")
        for rule in rules:
            name = f"{resource} rule {rule.get('name')!r}"
            kind = rule.get("kind")
            if kind not in RULE_KINDS:
                raise ConfigError(f"{where}: {name}: unknown kind {kind!r} (known: {', '.join(RULE_KINDS)})")
            if set(rule) != RULE_KINDS[kind]:
                raise ConfigError(f"{where}: {name} needs exactly {', '.join(sorted(RULE_KINDS[kind]))}")
            if len(rule["fields"]) != 2 or set(rule["fields"]) - set(schemas.field_names(resource)):
                raise ConfigError(f"{where}: {name}: needs two fields of {resource}")
            if kind == "within":
                _check_within(schemas, resource, rule, f"{where}: {name}")


def _check_within(schemas: Schemas, resource: str, rule: dict[str, Any], where: str) -> None:
    reference = rule["reference"]
    if not isinstance(reference, dict) or set(reference) != {"resource", "key", "fields"}:
        raise ConfigError(f"{where}: reference needs exactly resource, key and fields")
    target = reference["resource"]
    if target not in schemas.resources or RESOURCE_NAMES.index(target) >= RESOURCE_NAMES.index(resource):
        raise ConfigError(f"{where}: reference.resource must be a resource published before {resource}")
    if set(rule["key"]) - set(schemas.field_names(resource)) or len(rule["key"]) != len(reference["key"]):
        raise ConfigError(f"{where}: key must name fields of {resource}, as many as reference.key")
    missing = (set(reference["key"]) | set(reference["fields"])) - set(schemas.field_names(target))
    if missing:
        raise ConfigError(f"{where}: {target} has no field(s) {', '.join(sorted(missing))}")
    if len(reference["fields"]) != 2:
        raise ConfigError(f"{where}: reference.fields needs the two fields [start, end] of {target}")


def digest_files(paths: list[Path]) -> str:
    """One sha256 over the names and contents of several files."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
