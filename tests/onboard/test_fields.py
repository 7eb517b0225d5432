"""`partnerdata fields`: every canonical field, as the schemas define it."""

from __future__ import annotations

import json
import re
import shutil

from partnerdata import cli
from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.config.schemas import RESOURCE_NAMES


def _fields(capsys, *args):
    status = cli.main(["fields", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_field_of_every_resource_is_listed_with_its_type_and_need(capsys):
    status, out, _ = _fields(capsys)
    assert status == 0
    for name in RESOURCE_NAMES:
        descriptor = json.loads((SCHEMAS_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert f"{name}: {len(descriptor['fields'])} fields, primary key " in out
        for spec in descriptor["fields"]:
            need = "required" if spec.get("constraints", {}).get("required") else "optional"
            need = "set by partnerdata" if spec["name"] == "source_id" else need
            assert re.search(rf"^  {re.escape(spec['name'])} +{spec['type']} +{need}", out, re.M), spec["name"]


def test_one_resource_shows_its_codes_in_full_and_its_constraints_in_words(capsys):
    status, out, _ = _fields(capsys, "activities")
    assert status == 0 and "projects:" not in out
    descriptor = json.loads((SCHEMAS_DIR / "activities.schema.json").read_text(encoding="utf-8"))
    spec = next(f for f in descriptor["fields"] if f["name"] == "activity_type")
    codes = " ".join(out.split())  # the codes wrap over lines
    assert f"codes ({len(spec['constraints']['enum'])}): {', '.join(spec['constraints']['enum'])}" in codes
    assert "at most 300 characters" in out and "expected: a date as YYYY-MM-DD" in out
    pattern = next(f for f in descriptor["fields"] if f["name"] == "activity_id")["constraints"]["pattern"]
    assert f"the whole value matches the pattern {pattern}\n" in out  # a pattern is never broken over lines


def test_a_field_added_to_a_schema_is_listed_from_the_schema(tmp_path, capsys):
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    path = folder / "activities.schema.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    descriptor["fields"].append(
        {"name": "language", "type": "string", "title": "Language", "constraints": {"enum": ["nl", "fr", "en"]}}
    )
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    status, out, _ = _fields(capsys, "activities", "--schemas", str(folder))
    assert status == 0 and re.search(
        r"^  language +string +optional\n      Language\n      codes \(3\): nl, fr, en$", out, re.M
    )


def test_an_unknown_resource_names_the_resources_and_exits_2(capsys):
    status, out, err = _fields(capsys, "activity")
    assert status == 2 and out == ""
    assert err.strip().splitlines()[-1] == (
        "partnerdata: no resource 'activity': the resources are organisations, projects, activities, project_partners"
    )
