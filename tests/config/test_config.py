"""sources.yaml mistakes are reported with the entry and the key at fault, before anything is fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT, SCHEMAS_DIR
from partnerdata.errors import ConfigError
from partnerdata.validate.configuration import load_config
from tests.conftest import dump_yaml


def _entry(**overrides):
    entry = {
        "source_id": "college-a",
        "organisation": {"id": "ORG-A", "name": "College A", "country": "BE", "type": "teacher_education_college"},
        "url": "data.csv",
        "format": "csv",
        "resource": "activities",
        "columns": {"activity_id": "ID", "title": "Title"},
    }
    entry.update(overrides)
    return entry


def _write(tmp_path: Path, *entries, settings=None) -> Path:
    (tmp_path / "data.csv").write_text("ID,Title\nA-1,First\n", encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(dump_yaml({"settings": settings or {}, "sources": list(entries)}), encoding="utf-8")
    return path


def _error(tmp_path: Path, schemas, *entries, environ=None, settings=None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, *entries, settings=settings), schemas, environ=environ or {})
    return str(caught.value)


def test_a_good_entry_loads_with_paths_relative_to_sources_yaml(tmp_path, schemas):
    config = load_config(_write(tmp_path, _entry()), schemas, environ={})
    source = config.source("college-a")
    assert source.url == str(tmp_path / "data.csv")
    assert source.url_template == "data.csv"
    assert source.list_separator == ";"
    assert source.format_options["delimiter"] == ","


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"source_id": "College A"}, "sources[0]: key 'source_id': 'College A' must match"),
        ({"colums": {}}, "sources[0] (college-a): unknown key 'colums' (did you mean 'columns'?)"),
        (
            {"format": "xls"},
            "sources[0] (college-a): key 'format': 'xls' is not one of csv, erasmus_plus, iati, json, xlsx",
        ),
        ({"resource": "events"}, "key 'resource': 'events' is not one of"),
        (
            {"columns": {"titel": "Title"}},
            "key 'columns.titel': activities has no field 'titel' (did you mean 'title'?)",
        ),
        ({"values": {"theme": {"Gender": None}}}, "key 'values.theme': 'Gender' must map to a text"),
        ({"csv": {"delimiter": ";;"}}, "key 'csv': option 'delimiter': expected one character"),
        ({"csv": {"encoding": "klingon"}}, "option 'encoding': unknown encoding 'klingon'"),
        ({"json": {"record_path": "x"}}, "key 'json': options for format json on a source of format csv"),
        ({"url": "ftp://example.org/x.csv"}, "only http, https and local paths are supported"),
        ({"organisation": {"id": "ORG-A", "name": "College A"}}, "key 'organisation': key 'country' is missing"),
        ({"enabled": "yes"}, "key 'enabled': expected true or false"),
    ],
)
def test_mistakes_name_the_entry_and_the_key(tmp_path, schemas, overrides, expected):
    assert expected in _error(tmp_path, schemas, _entry(**overrides))


def test_an_unset_environment_variable_is_named(tmp_path, schemas):
    entry = _entry(url="https://partner.example/export.csv", headers={"Authorization": "Bearer ${PARTNER_TOKEN}"})
    message = _error(tmp_path, schemas, entry)
    assert (
        "sources[0] (college-a): key 'headers.Authorization': environment variable PARTNER_TOKEN is not set" in message
    )


def test_environment_variables_are_expanded_but_the_template_is_kept(tmp_path, schemas):
    entry = _entry(url="https://partner.example/export.csv?key=${PARTNER_KEY}")
    config = load_config(_write(tmp_path, entry), schemas, environ={"PARTNER_KEY": "s3cr3t-value"})
    source = config.source("college-a")
    assert source.url == "https://partner.example/export.csv?key=s3cr3t-value"
    assert source.url_template == "https://partner.example/export.csv?key=${PARTNER_KEY}"


def test_duplicate_source_ids_are_refused(tmp_path, schemas):
    assert "source_id 'college-a' is used twice" in _error(tmp_path, schemas, _entry(), _entry())


def test_settings_are_checked(tmp_path, schemas):
    message = _error(tmp_path, schemas, _entry(), settings={"max_rejected_share": 5})
    assert "settings: key 'max_rejected_share': expected a share between 0 and 1" in message
    message = _error(tmp_path, schemas, _entry(), settings={"lock_timout_seconds": 5})
    assert "unknown key 'lock_timout_seconds' (did you mean 'lock_timeout_seconds'?)" in message


def test_the_bundled_sources_yaml_is_valid(schemas):
    from partnerdata.config.layout import PROJECT_ROOT

    config = load_config(PROJECT_ROOT / "sources.yaml", schemas)
    assert len(config.enabled_sources) >= 4
    assert {s.format for s in config.sources} >= {"csv", "json", "xlsx"}


def test_check_command_reports_the_error_as_its_last_line_and_exits_2(tmp_path, capsys):
    path = _write(tmp_path, _entry(format="xls"))
    assert cli.main(["check", "--sources", str(path)]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("partnerdata: configuration error:")
    assert "'xls' is not one of csv, erasmus_plus, iati, json, xlsx" in last_line


def test_run_with_a_configuration_error_exits_2_and_fetches_nothing(tmp_path, capsys):
    path = _write(tmp_path, _entry(columns={"activity_id": "ID", "titel": "Title"}))
    raw = tmp_path / "raw"
    status = cli.main(["run", "--sources", str(path), "--raw", str(raw), "--published", str(tmp_path / "pub")])
    assert status == 2
    assert not raw.exists()
    assert "no field 'titel'" in capsys.readouterr().err.strip().splitlines()[-1]


def test_run_only_with_an_unknown_source_is_a_configuration_error(tmp_path, capsys):
    path = _write(tmp_path, _entry())
    assert cli.main(["run", "--sources", str(path), "--only", "nobody"]) == 2
    assert "no source 'nobody' (known sources: college-a)" in capsys.readouterr().err


def test_check_passes_on_the_bundled_configuration(capsys):
    from partnerdata.config.layout import PROJECT_ROOT

    assert cli.main(["check", "--sources", str(PROJECT_ROOT / "sources.yaml")]) == 0
    assert "all fine" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("organisation", "expected"),
    [
        ({"country": "Belgium"}, "key 'country': 'Belgium': not one of the 250 allowed country codes"),
        ({"type": "college"}, "key 'type': 'college': not an allowed organisation_type code"),
        ({"id": "ORG A"}, "key 'id': 'ORG A': not the expected form of organisation_id"),
    ],
)
def test_the_organisation_block_must_pass_the_organisations_schema(tmp_path, schemas, organisation, expected):
    block = {"id": "ORG-A", "name": "College A", "country": "BE", "type": "teacher_education_college", **organisation}
    assert expected in _error(tmp_path, schemas, _entry(organisation=block))


@pytest.mark.parametrize(
    "rule,expected",
    [
        ({"kind": "sum"}, "unknown kind 'sum'"),
        ({"fields": ["start_date", "nope"]}, "needs two fields of activities"),
        ({"reference": {"resource": "project_partners", "key": ["project_id"], "fields": ["a", "b"]}},
         "must be a resource published before activities"),
        ({"reference": {"resource": "projects", "key": ["project_id"], "fields": ["start_date", "ends"]}},
         "projects has no field(s) ends"),
        ({"message": None, "extra": 1}, "needs exactly"),
    ],
)  # fmt: skip
def test_a_wrong_row_rule_is_named_with_its_mistake(tmp_path, rule, expected):
    import shutil

    from partnerdata.config.schemas import load_schemas

    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    within = {
        "name": "inside",
        "kind": "within",
        "fields": ["start_date", "end_date"],
        "key": ["project_id"],
        "reference": {"resource": "projects", "key": ["project_id"], "fields": ["start_date", "end_date"]},
        "message": "outside",
    }
    within.update(rule)
    within = {k: v for k, v in within.items() if v is not None}
    (folder / "rules.yaml").write_text(dump_yaml({"activities": [within]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_schemas(folder)


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"uniqueKeys": [["title"]]}, "uniqueKeys is silently ignored by frictionless-py"),
        ({"field": {"categories": ["a"]}}, "categories are ignored by frictionless-py"),
        ({"field": {"format": "any", "type": "date"}}, "format 'any' is not supported for a date field"),
        ({"field": {"format": "uuid"}}, "format 'uuid' is not supported for a string field"),
        ({"field": {"type": "number", "bareNumber": False}}, "bareNumber false is not supported"),
        ({"field": {"type": "geopoint"}}, "type 'geopoint' is not supported"),
    ],
)
def test_a_schema_feature_partnerdata_cannot_check_exactly_is_refused(tmp_path, change, expected):
    import json
    import shutil

    from partnerdata.config.schemas import load_schemas

    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    path = folder / "activities.schema.json"
    descriptor = json.loads(path.read_text())
    descriptor["fields"].append({"name": "extra", "type": "string", **change.pop("field", {})})
    descriptor.update(change)
    path.write_text(json.dumps(descriptor))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_schemas(folder)


@pytest.mark.parametrize(
    "field,expected",
    [
        (
            {"type": "integer", "constraints": {"minimum": "many"}},
            "field 'extra': constraint minimum: field 'extra': constraint value(s) 'many' are not",
        ),
        (
            {"type": "date", "constraints": {"enum": ["2024-01-01", "1 January"]}},
            "constraint enum: field 'extra': constraint value(s) '1 January' are not",
        ),
    ],
)
def test_a_constraint_value_its_field_cannot_read_is_refused_by_check(tmp_path, capsys, field, expected):
    """validate.configuration reads a constraint's values as the field reads a cell; `check` says which."""
    import json
    import shutil

    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    path = folder / "activities.schema.json"
    descriptor = json.loads(path.read_text())
    descriptor["fields"].append({"name": "extra", **field})
    path.write_text(json.dumps(descriptor))
    status = cli.main(["check", "--sources", str(PROJECT_ROOT / "sources.yaml"), "--schemas", str(folder)])
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and f"{path}: " in last_line and expected in last_line, last_line


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"themes": ["EDUCATION"]}, "key 'themes': expected a list of EU data-theme codes (AGRI"),
        ({"themes": "EDUC"}, "key 'themes'"),
        ({"languages": ["eng"]}, "key 'languages': expected a list of ISO 639-1 codes"),
        ({"languages": ["xx"]}, "key 'languages'"),
    ],
)
def test_the_datasets_themes_and_languages_are_checked(tmp_path, change, expected):
    """package.json is the one home of the dataset's title, description, keywords, themes and languages."""
    import json
    import shutil

    from partnerdata.config.schemas import load_schemas

    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    (folder / "package.json").write_text(json.dumps({**package, **change}), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_schemas(folder)


def test_the_publishers_type_is_an_adms_publisher_type(tmp_path, schemas):
    settings = {"publisher": {"name": "A college", "type": "NonProfitOrganization"}}
    message = _error(tmp_path, schemas, _entry(), settings=settings)
    assert "key 'type': expected one of the ADMS publisher types" in message
    assert "(did you mean 'NonProfitOrganisation'?)" in message


def _load_at_once(monkeypatch, run, threads: int = 8) -> tuple[list, int]:
    """``plan.load(run)`` in ``threads`` threads released together: what each got, and how many times
    the configuration was read."""
    import threading

    from partnerdata.run import plan

    reads = []
    real = plan.load_config

    def counted(*args, **kwargs):
        reads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, "load_config", counted)
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def load(n: int) -> None:
        barrier.wait()
        try:
            results[n] = plan.load(run)
        except ConfigError as error:
            results[n] = error

    workers = [threading.Thread(target=load, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results, len(reads)


def test_tasks_that_load_the_configuration_together_read_it_once(tmp_path, monkeypatch):
    from partnerdata.run.plan import RunPaths

    run = RunPaths(str(_write(tmp_path, _entry())), str(tmp_path / "raw"), str(tmp_path / "p"), str(tmp_path / "r"))
    results, reads = _load_at_once(monkeypatch, run)
    assert reads == 1
    assert all(result is results[0] for result in results)
    assert results[0][0].source("college-a").url == str(tmp_path / "data.csv")


def test_a_configuration_that_fails_to_load_is_reported_to_every_task_that_waited(tmp_path, monkeypatch):
    from partnerdata.run.plan import RunPaths

    path = _write(tmp_path, _entry(colums={}))
    run = RunPaths(str(path), str(tmp_path / "raw"), str(tmp_path / "p"), str(tmp_path / "r"))
    results, reads = _load_at_once(monkeypatch, run)
    assert all(isinstance(result, ConfigError) and "unknown key 'colums'" in str(result) for result in results)
    assert reads == 8  # nothing cached: each waiter tries, and reports, itself
