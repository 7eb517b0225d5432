"""schemas/translations/: every code has an English label, Dutch is complete, and whatever a language
lacks falls back to English (then to the code), with a clear error for a file that cannot be used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pycountry
import pytest
import yaml

from partnerdata.config.schemas import RESOURCE_NAMES
from partnerdata.config.translations import (
    COUNTRY_FIELDS,
    LANGUAGES,
    MAX_FILE_BYTES,
    TRANSLATIONS_DIR,
    label_codes,
    load_translations,
    missing_translations,
    translation_digest,
    unknown_translations,
)
from partnerdata.errors import ConfigError

ENGLISH = """\
language: en
name: English
labels:
  activity_type:
    workshop: Workshop
    seminar: Seminar
interface:
  greeting: "Hello {name}, {count} new releases"
  only_english: Only in English
"""
DUTCH = """\
language: nl
name: Nederlands
dataset:
  title: Activiteiten en projecten
  keywords: [onderwijs, Erasmus+]
resources:
  activities:
    title: Activiteiten
    fields:
      activity_type:
        description: Soort evenement.
labels:
  activity_type:
    workshop: Werkwinkel
interface:
  greeting: "Hallo {name}, {count} nieuwe releases"
"""


def _folder(tmp_path: Path, en: str = ENGLISH, nl: str = DUTCH) -> Path:
    folder = tmp_path / "translations"
    folder.mkdir(exist_ok=True)
    (folder / "en.yaml").write_text(en, encoding="utf-8")
    (folder / "nl.yaml").write_text(nl, encoding="utf-8")
    return folder


def _error(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_translations(folder)
    return str(caught.value)


def test_every_code_of_every_enum_field_has_an_english_label(schemas):
    english = load_translations()["en"]
    missing = [
        f"labels.{field}.{code}"
        for field, codes in label_codes(schemas).items()
        for code in codes
        if not english.holds(f"labels.{field}.{code}")
    ]
    assert not missing, f"{TRANSLATIONS_DIR / 'en.yaml'} lacks the labels {', '.join(missing)}"


def test_the_country_fields_are_exactly_the_fields_whose_enum_is_country_codes(schemas):
    countries = {country.alpha_2 for country in pycountry.countries} | {"XK"}
    for resource in RESOURCE_NAMES:
        for spec in schemas.fields(resource):
            enum = spec.get("constraints", {}).get("enum") or spec.get("itemEnum")
            if enum:
                assert (set(enum) <= countries) == (spec["name"] in COUNTRY_FIELDS), (resource, spec["name"])
    assert not COUNTRY_FIELDS & set(label_codes(schemas))


def test_same_named_fields_share_one_vocabulary(schemas):
    """programme is in activities and projects: one set of labels covers the codes of both."""
    enums = [
        spec["constraints"]["enum"]
        for resource in RESOURCE_NAMES
        for spec in schemas.fields(resource)
        if spec["name"] == "programme"
    ]
    assert len(enums) == 2
    assert set(label_codes(schemas)["programme"]) == set(enums[0]) | set(enums[1])


def test_dutch_translates_everything_today(schemas):
    missing = missing_translations(load_translations(), schemas)
    assert list(missing) == ["nl"]
    assert not missing["nl"], f"nl.yaml falls back to English for {', '.join(missing['nl'])}"


def test_no_translation_names_a_field_or_code_the_schemas_lack(schemas):
    unknown = unknown_translations(load_translations(), schemas)
    assert unknown == {code: [] for code in LANGUAGES}, f"texts no page shows (renamed or removed?): {unknown}"


def test_missing_translations_lists_the_keys_that_fall_back(tmp_path, schemas):
    document = yaml.safe_load((TRANSLATIONS_DIR / "nl.yaml").read_text(encoding="utf-8"))
    del document["dataset"]["title"], document["dataset"]["keywords"]
    del document["resources"]["projects"]["description"]
    del document["resources"]["activities"]["fields"]["title"]["description"]
    del document["resources"]["organisations"]["fields"]["country"]
    del document["labels"]["activity_type"]["workshop"]
    del document["labels"]["role"]
    english = yaml.safe_load((TRANSLATIONS_DIR / "en.yaml").read_text(encoding="utf-8"))
    english["interface"]["search"] = "Search the catalogue"  # a text nl.yaml lacks
    folder = _folder(
        tmp_path,
        en=yaml.safe_dump(english, allow_unicode=True, sort_keys=False),
        nl=yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
    )

    missing = missing_translations(load_translations(folder), schemas)["nl"]

    expected = [
        "dataset.keywords",
        "dataset.title",
        "interface.search",
        "labels.activity_type.workshop",
        *(f"labels.role.{code}" for code in sorted(label_codes(schemas)["role"])),
        "resources.activities.fields.title.description",
        "resources.organisations.fields.country.description",
        "resources.organisations.fields.country.title",
        "resources.projects.description",
    ]
    assert missing == expected, f"falls back to English: {', '.join(missing)}"


def test_labels_fall_back_to_english_then_to_the_code(tmp_path):
    translations = load_translations(_folder(tmp_path))
    english, dutch = translations["en"], translations["nl"]
    assert (dutch.code, dutch.name, english.name) == ("nl", "Nederlands", "English")
    assert dutch.label("activity_type", "workshop") == "Werkwinkel"
    assert dutch.label("activity_type", "seminar") == "Seminar"
    assert dutch.label("activity_type", "webinar") == "webinar"
    assert english.label("activity_type", "seminar") == "Seminar"
    assert english.label("status", "planned") == "planned"


def test_texts_of_the_schemas_fall_back_to_the_english_the_caller_gives(tmp_path):
    translations = load_translations(_folder(tmp_path))
    english, dutch = translations["en"], translations["nl"]
    assert dutch.dataset("title", "Activities and projects") == "Activiteiten en projecten"
    assert dutch.dataset("description", "Guest lectures ...") == "Guest lectures ..."
    assert english.dataset("title", "Activities and projects") == "Activities and projects"
    assert dutch.keywords(["education"]) == ["onderwijs", "Erasmus+"]
    assert english.keywords(["education"]) == ["education"]
    assert dutch.resource("activities", "title", "Activities") == "Activiteiten"
    assert dutch.resource("activities", "description", "One row per event.") == "One row per event."
    assert dutch.resource("projects", "title", "Projects") == "Projects"
    assert dutch.field("activities", "activity_type", "description", "Kind of event.") == "Soort evenement."
    assert dutch.field("activities", "activity_type", "title", "Activity type") == "Activity type"
    with pytest.raises(KeyError, match="title, description"):
        dutch.dataset("summary", "")


def test_ui_formats_its_values_and_falls_back_to_english(tmp_path):
    translations = load_translations(_folder(tmp_path))
    english, dutch = translations["en"], translations["nl"]
    assert dutch.ui("greeting", name="Els", count=3) == "Hallo Els, 3 nieuwe releases"
    assert english.ui("greeting", name="Els", count=3) == "Hello Els, 3 new releases"
    assert dutch.ui("only_english") == "Only in English"
    with pytest.raises(KeyError, match="en.yaml"):
        dutch.ui("nowhere")


def test_country_names_are_pycountry_names_in_each_language():
    translations = load_translations()
    english, dutch = translations["en"], translations["nl"]
    assert [dutch.label("country", code) for code in ("BE", "DE", "NL", "XK")] == [
        "België",
        "Duitsland",
        "Nederland",
        "Kosovo",
    ]
    assert dutch.label("partner_countries", "KR") == "Zuid-Korea"  # the common name, not "Korea, Republiek"
    assert dutch.label("participating_countries", "FR") == "Frankrijk"
    assert [english.label("country", code) for code in ("BE", "KR", "XK")] == ["Belgium", "South Korea", "Kosovo"]
    assert dutch.label("country", "ZZ") == "ZZ"
    assert dutch.is_country_field("country") and not dutch.is_country_field("programme")


@pytest.mark.parametrize(
    ("dutch", "expected"),
    [
        ("language: nl\nname: Nederlands\nlabels: [unclosed\n", "line 4, column 1: not valid YAML"),
        ("language: nl\nname: Nederlands\nglossary: {}\n", "unknown key 'glossary'"),
        ("language: de\nname: Deutsch\n", "key 'language': expected 'nl'"),
        ("language: nl\n", "key 'name': expected a text"),
        ("language: nl\nname: Nederlands\nlabels:\n  status:\n    planned: 3\n", "key 'labels.status.planned'"),
        (
            "language: nl\nname: Nederlands\nlabels:\n  status:\n    planned: ''\n",
            "'labels.status.planned': the text is empty",
        ),
        (
            "language: nl\nname: Nederlands\nlabels:\n  answer:\n    no: Nee\n",
            "block 'labels.answer': YAML read a key as False",
        ),
        ("language: nl\nname: Nederlands\nlabels:\n  status: Gepland\n", "key 'labels.status': expected a block"),
        ("language: nl\nname: Nederlands\nlabels:\n  country:\n    BE: België\n", "come from pycountry"),
        (
            "language: nl\nname: A\nlabels:\n  status:\n    planned: A\n    planned: B\n",
            "line 6, column 5: not valid YAML: key 'planned' is written twice",
        ),
        ("language: nl\nname: Nederlands\ndataset:\n  keywords: onderwijs\n", "key 'dataset.keywords'"),
        ("language: nl\nname: Nederlands\ndataset:\n  keywords: [onderwijs, 3]\n", "key 'dataset.keywords[1]'"),
        ("language: nl\nname: Nederlands\ndataset:\n  subtitle: x\n", "unknown key 'dataset.subtitle'"),
        ("language: nl\nname: Nederlands\nresources:\n  events: {}\n", "unknown key 'resources.events'"),
        (
            "language: nl\nname: Nederlands\nresources:\n  activities:\n    fields:\n      city:\n        label: x\n",
            "unknown key 'resources.activities.fields.city.label'",
        ),
        ("language: nl\nname: Nederlands\ninterface:\n  extra: Alleen hier\n", "en.yaml has no such text"),
        ("language: nl\nname: Nederlands\ninterface:\n  greeting: Hallo {naam}\n", "placeholders ['naam']"),
        ("language: nl\nname: Nederlands\ninterface:\n  only_english: Open { haakje\n", "not a text template"),
        ("- language: nl\n", "expected a mapping with the keys language, name"),
    ],
)
def test_a_malformed_file_names_itself_and_the_key(tmp_path, dutch, expected):
    folder = _folder(tmp_path, nl=dutch)
    message = _error(folder)
    assert str(folder / "nl.yaml") in message
    assert expected in message


def test_english_texts_of_the_schemas_are_not_repeated_in_en_yaml(tmp_path):
    folder = _folder(tmp_path, en=ENGLISH + "dataset:\n  title: Activities and projects\n")
    message = _error(folder)
    assert f"{folder / 'en.yaml'}: key 'dataset'" in message
    assert "schemas/package.json" in message


def test_a_missing_large_or_undecodable_file_is_refused(tmp_path):
    folder = _folder(tmp_path)
    (folder / "nl.yaml").unlink()
    assert f"{folder / 'nl.yaml'}: translation file is missing" in _error(folder)

    (folder / "nl.yaml").write_text(DUTCH + "# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    assert f"{folder / 'nl.yaml'}: larger than" in _error(folder)

    (folder / "nl.yaml").write_bytes(DUTCH.replace("Werkwinkel", "Caf\xe9").encode("latin-1"))
    assert "not UTF-8" in _error(folder)


def test_the_digest_changes_with_any_text(tmp_path):
    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, folder)
    before = translation_digest(folder)
    assert before == translation_digest(TRANSLATIONS_DIR)

    nl = folder / "nl.yaml"
    nl.write_text(nl.read_text(encoding="utf-8").replace("Leerweek", "Leer-week"), encoding="utf-8")
    assert translation_digest(folder) != before

    nl.unlink()
    with pytest.raises(ConfigError, match="nl.yaml: translation file is missing"):
        translation_digest(folder)


def test_the_files_are_read_anew_on_each_call(tmp_path):
    folder = _folder(tmp_path)
    assert load_translations(folder)["nl"].label("activity_type", "workshop") == "Werkwinkel"
    (folder / "nl.yaml").write_text(DUTCH.replace("Werkwinkel", "Workshop"), encoding="utf-8")
    assert load_translations(folder)["nl"].label("activity_type", "workshop") == "Workshop"
