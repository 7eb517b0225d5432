"""``partnerdata fields [RESOURCE]``: the canonical fields a source entry maps a partner's columns to.

Everything shown comes from the schemas (the single source of truth): per field its type, whether a
row needs it, its title and description, the codes it allows and its other constraints in words.
"""

from __future__ import annotations

import textwrap
from typing import Any

from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.errors import UsageError
from partnerdata.mapping.coercion import Dialect, describe_expected

WIDTH = 100
SET_BY_PARTNERDATA = {"source_id"}  # filled from the source entry, never mapped from a partner's column


def describe_fields(schemas: Schemas, resource: str | None = None) -> str:
    """The fields of one resource, or of all four, as text for a terminal."""
    if resource is not None and resource not in RESOURCE_NAMES:
        raise UsageError(f"no resource '{resource}': the resources are {', '.join(RESOURCE_NAMES)}")
    return "\n".join(_resource(schemas, name) for name in ([resource] if resource else RESOURCE_NAMES))


def _resource(schemas: Schemas, name: str) -> str:
    fields = schemas.fields(name)
    key = ", ".join(schemas.primary_key(name))
    lines = [f"{name}: {len(fields)} fields, primary key {key}"]
    for spec in fields:
        lines += _field(spec)
    return "\n".join(lines) + "\n"


def _field(spec: dict[str, Any]) -> list[str]:
    constraints = spec.get("constraints", {})
    need = "required" if constraints.get("required") else "optional"
    if spec["name"] in SET_BY_PARTNERDATA:
        need = "set by partnerdata"
    if spec.get("personal"):
        need += ", personal (never published)"
    head = f"  {spec['name']:<28} {spec['type']:<8} {need}"
    detail = [spec.get("title", ""), spec.get("description", "")]
    expected = describe_expected(spec, Dialect())
    detail += [f"expected: {expected}" if expected not in ("a string", "a list") else "", *_constraints(spec)]
    wrapped = [
        line
        for text in detail
        if text
        for line in textwrap.wrap(text, WIDTH, initial_indent="      ", subsequent_indent="        ")
    ]
    return [head, *wrapped]


def _constraints(spec: dict[str, Any]) -> list[str]:
    """The constraints a value must meet, in words (the codes in full: a label must map to one of them)."""
    constraints = spec.get("constraints", {})
    words = []
    if "enum" in constraints:
        words.append(f"codes ({len(constraints['enum'])}): {', '.join(map(str, constraints['enum']))}")
    if spec["type"] == "list":
        separator = spec.get("delimiter", ",")
        words.append(f"a list of {spec.get('itemType', 'string')} items separated by '{separator}'")
        if "itemEnum" in spec:
            words.append(f"item codes ({len(spec['itemEnum'])}): {', '.join(map(str, spec['itemEnum']))}")
    if "pattern" in constraints:
        words.append(f"the whole value matches the pattern {constraints['pattern']}")
    for name, text in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters")):
        if name in constraints:
            words.append(text.format(constraints[name]))
    for name, text in (("minimum", "at least {}"), ("maximum", "at most {}")):
        if name in constraints:
            words.append(text.format(constraints[name]))
    if constraints.get("unique"):
        words.append("unique within the resource")
    return words
