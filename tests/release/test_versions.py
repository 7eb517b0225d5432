"""One test per rule of the Data Package version recipe, as changes.py applies it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil

import pyarrow as pa
import pytest

from partnerdata.release.diff import bump, data_changes, highest, schema_changes
from partnerdata.release.publish import publish_release
from tests.support.release_data import demo_tables

PROJECTS = {
    "fields": [
        {"name": "project_id", "type": "string", "constraints": {"required": True, "pattern": "P-[0-9]+"}},
        {"name": "title", "type": "string", "title": "Title", "constraints": {"maxLength": 100}},
        {"name": "sector", "type": "string", "constraints": {"enum": ["school", "higher"]}},
        {"name": "budget", "type": "number", "constraints": {"minimum": 0}},
    ],
    "primaryKey": ["project_id"],
}
ACTIVITIES = {
    "fields": [
        {"name": "activity_id", "type": "string"},
        {"name": "project_id", "type": "string"},
    ],
    "primaryKey": ["activity_id"],
    "foreignKeys": [{"fields": ["project_id"], "reference": {"resource": "projects", "fields": ["project_id"]}}],
}
KEYS = {"projects": ["project_id"], "activities": ["activity_id"]}
REFERENCES = {"projects": [("activities", ["project_id"], ["project_id"])]}


def _schemas(change=None):
    schemas = {"projects": copy.deepcopy(PROJECTS), "activities": copy.deepcopy(ACTIVITIES)}
    if change:
        change(schemas)
    return schemas


def _level(change) -> tuple[str | None, set[str]]:
    found = schema_changes(_schemas(), _schemas(change))
    return highest(found), {c.rule for c in found}


def _field(schemas, name):
    return next(f for f in schemas["projects"]["fields"] if f["name"] == name)


@pytest.mark.parametrize(
    "change,level,rule",
    [
        (lambda s: s["projects"]["fields"].append({"name": "status", "type": "string"}), "major", "field-added"),
        (lambda s: s["projects"]["fields"].pop(3), "major", "field-removed"),
        (lambda s: _field(s, "budget").update(name="grant"), "major", "field-removed"),  # a rename
        (lambda s: s["projects"]["fields"].reverse(), "major", "fields-reordered"),
        (lambda s: _field(s, "budget").update(type="integer"), "major", "type-changed"),
        (lambda s: _field(s, "title").update(format="uri"), "major", "format-changed"),
        (lambda s: _field(s, "title")["constraints"].update(required=True), "major", "constraint-tightened"),
        (lambda s: _field(s, "sector")["constraints"].update(enum=["school"]), "major", "constraint-tightened"),
        (lambda s: _field(s, "title")["constraints"].update(maxLength=50), "major", "constraint-tightened"),
        (lambda s: _field(s, "budget")["constraints"].update(minimum=10), "major", "constraint-tightened"),
        (lambda s: _field(s, "project_id")["constraints"].update(pattern="P-[0-9]{4}"), "major", "constraint-tightened"),
        (lambda s: s["projects"].update(primaryKey=["project_id", "title"]), "major", "primary-key-changed"),
        (lambda s: s.pop("activities"), "major", "resource-removed"),
        (lambda s: _field(s, "sector")["constraints"].update(enum=["school", "higher", "adult"]), "minor",
         "constraint-loosened"),
        (lambda s: _field(s, "title")["constraints"].update(maxLength=200), "minor", "constraint-loosened"),
        (lambda s: _field(s, "project_id")["constraints"].pop("required"), "minor", "constraint-loosened"),
        (lambda s: s["activities"].pop("foreignKeys"), "minor", "foreign-key-removed"),
        (lambda s: s.update(partners={"fields": [{"name": "id", "type": "string"}]}), "minor", "resource-added"),
        (lambda s: _field(s, "title").update(description="The title as published"), "patch", "metadata-changed"),
        (lambda s: None, None, None),
    ],
)  # fmt: skip
def test_schema_changes_decide_the_bump(change, level, rule):
    found_level, rules = _level(change)
    assert found_level == level
    assert rule in rules if rule else rules == set()


def _tables(projects, activities):
    return {
        "projects": pa.table(
            {
                "project_id": [p[0] for p in projects],
                "title": [p[1] for p in projects],
                "sector": ["school"] * len(projects),
                "budget": [1.0] * len(projects),
            }
        ),
        "activities": pa.table(
            {"activity_id": [a[0] for a in activities], "project_id": [a[1] for a in activities]},
            schema=pa.schema([("activity_id", pa.string()), ("project_id", pa.string())]),
        ),
    }


OLD = _tables([("P-1", "One"), ("P-2", "Two"), ("P-3", "Three")], [("A-1", "P-1"), ("A-2", None)])


@pytest.mark.parametrize(
    "new,level,rule",
    [
        # P-1 is referred to by activity A-1: deleting it breaks a join; so does giving it a new key.
        (_tables([("P-2", "Two"), ("P-3", "Three")], [("A-1", "P-1"), ("A-2", None)]), "major",
         "referenced-records-removed"),
        (_tables([("P-10", "One"), ("P-2", "Two"), ("P-3", "Three")], [("A-1", "P-10"), ("A-2", None)]), "major",
         "referenced-records-removed"),
        (_tables([("P-1", "One"), ("P-2", "Two")], [("A-1", "P-1"), ("A-2", None)]), "minor", "records-removed"),
        (_tables([("P-1", "One"), ("P-2", "Two"), ("P-3", "Three"), ("P-4", "Four")], [("A-1", "P-1"), ("A-2", None)]),
         "minor", "records-added"),
        (_tables([("P-1", "One"), ("P-2", "Two (corrected)"), ("P-3", "Three")], [("A-1", "P-1"), ("A-2", None)]),
         "patch", "records-corrected"),
        (OLD, None, None),
    ],
)  # fmt: skip
def test_data_changes_decide_the_bump(new, level, rule):
    found, diffs = data_changes(OLD, new, KEYS, REFERENCES)
    assert highest(found) == level
    assert rule in {c.rule for c in found} if rule else found == []


def test_the_diff_lists_keys_and_fields_from_what_to_what():
    new = _tables([("P-1", "One"), ("P-2", "Two (corrected)"), ("P-4", "Four")], [("A-1", "P-1"), ("A-2", None)])
    _, diffs = data_changes(OLD, new, KEYS, REFERENCES)
    assert diffs["projects"]["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert diffs["projects"]["added"] == ["P-4"] and diffs["projects"]["removed"] == ["P-3"]
    assert diffs["projects"]["changed"] == [
        {"key": "P-2", "fields": {"title": {"from": "Two", "to": "Two (corrected)"}}}
    ]
    assert diffs["activities"]["counts"] == {"added": 0, "removed": 0, "changed": 0}


def test_versions_count_up_by_the_level():
    assert [bump("1.4.2", level) for level in ("major", "minor", "patch")] == ["2.0.0", "1.5.0", "1.4.3"]


def _publish(schemas, tables, folder, metadata=None):
    return publish_release(
        tables, schemas, folder, dt.datetime(2026, 11, 25, tzinfo=dt.UTC), "fp", {}, [], {}, metadata or {}
    )


def test_releases_carry_the_rule_and_the_reasons_and_moving_the_files_is_no_change(schemas, tmp_path):
    """Through the release step itself: the first release is 1.0.0; a corrected value is a patch, with the
    rule and reason in changes.json, CHANGES.md and datapackage.json; nothing changed (the files moved to
    another folder, with another base URL) is no release."""
    tables = demo_tables(schemas, tmp_path / "work")
    first = _publish(schemas, tables, tmp_path / "published")
    assert first.version == "1.0.0"
    corrected = dict(tables)
    titles = tables["projects"].column("title").to_pylist()
    titles[0] = titles[0] + " (corrected)"
    corrected["projects"] = tables["projects"].set_column(
        tables["projects"].schema.get_field_index("title"), tables["projects"].schema.field("title"), pa.array(titles)
    )
    second = _publish(schemas, corrected, tmp_path / "published")
    assert second.version == "1.0.1"
    changes = json.loads((second.path / "changes.json").read_text())
    assert changes["bump"] == "patch" and changes["rule"] == "records-corrected"
    assert changes["resources"]["projects"]["changed"][0]["fields"]["title"]["to"].endswith("(corrected)")
    assert "a **patch** change (rule `records-corrected`)" in (second.path / "CHANGES.md").read_text()
    package = json.loads((second.path / "datapackage.json").read_text())
    assert package["changes"] == {
        "previous_version": "1.0.0", "bump": "patch", "rule": "records-corrected", "details": "changes.json",
    }  # fmt: skip
    third = _publish(schemas, corrected, tmp_path / "published")
    assert third.version is None and third.current_version == "1.0.1"
    shutil.copytree(tmp_path / "published", tmp_path / "moved", symlinks=True)
    moved = _publish(schemas, corrected, tmp_path / "moved")
    assert moved.version is None and moved.current_version == "1.0.1"


def test_a_very_large_diff_is_capped_with_a_note_and_complete_counts(monkeypatch):
    from partnerdata.release import diff as changes
    from partnerdata.release.changelog import changes_markdown

    monkeypatch.setattr(changes, "MAX_KEYS", 1)
    monkeypatch.setattr(changes, "MAX_CHANGED_RECORDS", 1)
    new = _tables([("P-1", "One!"), ("P-2", "Two!"), ("P-4", "Four"), ("P-5", "Five")], [("A-1", "P-1"), ("A-2", None)])
    found, diffs = data_changes(OLD, new, KEYS, REFERENCES)
    projects = diffs["projects"]
    assert projects["counts"] == {"added": 2, "removed": 1, "changed": 2}
    assert len(projects["added"]) == 1 and len(projects["changed"]) == 1 and projects["truncated"] is True
    text = changes_markdown(
        {"version": "1.1.0", "previous_version": "1.0.0", "bump": highest(found), "rule": "records-added",
         "reasons": [c.reason for c in found], "resources": diffs}
    )  # fmt: skip
    assert "2 added, 1 removed, 2 changed." in text and "- added: `P-4` and 1 more" in text
    assert "the counts above are complete" in text
