"""A release's changes.json and CHANGES.md: what changed since the previous release, in data and in
schemas (from ``release.diff``), and the version bump that means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from partnerdata.config import layout
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.release.diff import LEVELS, Change, ParquetColumns, Table, data_changes, highest, schema_changes
from partnerdata.release.package import DESCRIPTIVE_PACKAGE_KEYS
from partnerdata.util.safe_text import markdown_code

MARKDOWN_KEYS = 20  # keys and changed records shown per resource in CHANGES.md


BUMP_MEANING = {
    "major": "Incompatible: check your code before you switch; `v<MAJOR>` keeps pointing at the previous major version.",
    "minor": "Compatible: records or allowed values were added (or records nothing refers to were removed).",
    "patch": "Compatible: values were corrected or descriptions changed.",
    "initial": "",
}


def release_changes(
    published_dir: Path,
    previous: dict[str, Any] | None,
    tables: dict[str, Table],
    schemas: Schemas,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """changes.json: the bump, the rule that decided it, every reason, and the keyed diff."""
    if previous is None:
        return {
            "previous_version": None,
            "bump": "initial",
            "rule": "first-release",
            "reasons": ["the first release"],
            "changes": [],
            "resources": {
                name: {"counts": {"added": tables[name].num_rows, "removed": 0, "changed": 0}} for name in tables
            },
        }
    folder = layout.release_dir(published_dir, previous["version"])
    old_package = json.loads((folder / layout.DATAPACKAGE_JSON).read_text(encoding="utf-8"))
    old_schemas = {r["name"]: r["schema"] for r in old_package["resources"]}
    new_schemas = {name: schemas.published_descriptor(name) for name in RESOURCE_NAMES}
    found = schema_changes(old_schemas, new_schemas)
    old_tables = {  # read a column at a time, as the diff needs them
        r["name"]: ParquetColumns(folder / r["parquet"]["path"])
        for r in old_package["resources"]
        if r["name"] in tables
    }
    references: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    for name, descriptor in old_schemas.items():
        for fk in descriptor.get("foreignKeys", []):
            target = fk["reference"]["resource"]
            references.setdefault(target, []).append((name, list(fk["fields"]), list(fk["reference"]["fields"])))
    keys = {name: schemas.primary_key(name) for name in RESOURCE_NAMES}
    same_keys = {name for name in tables if _as_list(old_schemas.get(name, {}).get("primaryKey")) == keys[name]}
    data_found, diffs = data_changes(
        {n: t for n, t in old_tables.items() if n in same_keys},
        {n: t for n, t in tables.items() if n in same_keys},
        keys,
        references,
    )
    found += data_found
    described = {k: old_package.get(k) for k in DESCRIPTIVE_PACKAGE_KEYS} != {
        k: {**schemas.package, **metadata}.get(k) for k in DESCRIPTIVE_PACKAGE_KEYS
    }
    if described or not found:  # not found: only files in schemas/ that publish nothing changed (rules, say)
        found.append(Change("patch", "metadata-changed", None, "descriptive metadata changed (no data, no schema)"))
    level = highest(found)
    deciding = next(c for c in found if c.level == level)
    return {
        "previous_version": previous["version"],
        "bump": level,
        "rule": deciding.rule,
        "reasons": [c.reason for c in sorted(found, key=lambda c: -LEVELS.index(c.level))],
        "changes": [c.as_dict() for c in found],
        "resources": diffs,
    }


def changes_markdown(changes: dict[str, Any]) -> str:
    """CHANGES.md: do I need to download again, and what is new?"""
    lines = [f"# Release {changes['version']}", ""]
    if changes["previous_version"] is None:
        lines += ["The first release.", ""]
    else:
        lines += [
            f"Compared with release {changes['previous_version']}: a **{changes['bump']}** change "
            f"(rule `{changes['rule']}`). {BUMP_MEANING[changes['bump']]}",
            "",
            "Why:",
            "",
            *[f"- {reason}" for reason in changes["reasons"]],
            "",
        ]
    for name, diff in changes["resources"].items():
        counts = diff["counts"]
        lines += [
            f"## {name}",
            "",
            f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed.",
            "",
        ]
        if diff.get("added"):
            lines += [f"- added: {', '.join(map(_key_text, diff['added'][:MARKDOWN_KEYS]))}{_more(diff, 'added')}"]
        if diff.get("removed"):
            lines += [
                f"- removed: {', '.join(map(_key_text, diff['removed'][:MARKDOWN_KEYS]))}{_more(diff, 'removed')}"
            ]
        for record in diff.get("changed", [])[:MARKDOWN_KEYS]:
            fields = "; ".join(
                f"{f}: {_value_text(v['from'])} → {_value_text(v['to'])}" for f, v in record["fields"].items()
            )
            lines.append(f"- changed {_key_text(record['key'])}: {fields}")
        if len(diff.get("changed", [])) > MARKDOWN_KEYS or diff.get("truncated"):
            lines.append("- ... the full lists (up to the cap) are in changes.json; the counts above are complete")
        lines.append("")
    return "\n".join(lines)


def _more(diff: dict[str, Any], kind: str) -> str:
    shown = min(len(diff[kind]), MARKDOWN_KEYS)
    return f" and {diff['counts'][kind] - shown} more" if diff["counts"][kind] > shown else ""


def _key_text(key: Any) -> str:
    """A record's key as CHANGES.md shows it: partner text, so in a code span, never Markdown or HTML."""
    return (
        "(" + ", ".join(markdown_code(str(k)) for k in key) + ")" if isinstance(key, list) else markdown_code(str(key))
    )


def _value_text(value: Any) -> str:
    """A field's value as CHANGES.md shows it: JSON (null for empty), in a code span."""
    return markdown_code(json.dumps(value, ensure_ascii=False))


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])
