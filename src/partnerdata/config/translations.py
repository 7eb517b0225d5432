"""The catalogue's texts in each language: schemas/translations/<language>.yaml, with English as the fallback.

English is the schemas' own language: the field titles and descriptions stay in schemas/*.schema.json and
the dataset's and resources' texts in schemas/package.json, written once. So en.yaml holds only what the
schemas lack, a label for each code of each enum field; another language's file translates all of it.
Whatever a language lacks falls back to English (``missing_translations`` lists it), and a code without
any label shows as itself. Country names are never written here: pycountry has them in every language.
"""

from __future__ import annotations

import functools
import gettext
import string
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pycountry
import yaml

from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.config.schemas import RESOURCE_NAMES, Schemas, digest_files
from partnerdata.errors import ConfigError

LANGUAGES = ("en", "nl")  # English first: the schemas' language, and every other language's fallback
ENGLISH = LANGUAGES[0]
TRANSLATIONS_DIR = SCHEMAS_DIR / "translations"
MAX_FILE_BYTES = 1_000_000  # a translation file is a few dozen KB of text; more is not a translation file

# Their codes are ISO 3166-1 alpha-2 (plus XK), named by pycountry in each language, never in a file here.
COUNTRY_FIELDS = frozenset({"country", "partner_countries", "participating_countries"})
# Kosovo is not in ISO 3166-1 (so not in pycountry); the EU and IATI write it XK. "Kosovo" in English and Dutch.
USER_ASSIGNED_COUNTRIES = {"XK": "Kosovo"}

TEXT_KEYS = ("title", "description")
FILE_KEYS = ("language", "name", "dataset", "resources", "labels", "interface")
ENGLISH_ONLY_ELSEWHERE = ("dataset", "resources")  # English's are package.json's and the schemas' own
DATASET_KEYS = ("title", "description", "keywords")
RESOURCE_KEYS = ("title", "description", "fields")


@dataclass(frozen=True)
class Translation:
    """One language's texts, keyed as ``missing_translations`` reports them ("dataset.title",
    "resources.activities.fields.title.description", "labels.activity_type.workshop", "interface.<key>").

    ``fallback`` is English for every other language (None for English itself): an interface text or a
    label this language lacks is English's. The dataset's, resources' and fields' English texts live in the
    schemas, so their methods take the English text from the caller as ``default``."""

    code: str
    name: str
    texts: Mapping[str, str]
    dataset_keywords: tuple[str, ...] | None = None
    fallback: Translation | None = None

    def ui(self, key: str, **values: object) -> str:
        """An interface text, ``str.format``-ed with ``values``; a key en.yaml lacks is a programming error."""
        english = self.fallback or self
        full_key = f"interface.{key}"
        if full_key not in english.texts:
            raise KeyError(f"no interface text {key!r} in {ENGLISH}.yaml (every interface text needs its English one)")
        return self.template(key).format(**values)

    def template(self, key: str) -> str:
        """An interface text unformatted, its placeholders in braces (for a script to fill in)."""
        english = self.fallback or self
        full_key = f"interface.{key}"
        if full_key not in english.texts:
            raise KeyError(f"no interface text {key!r} in {ENGLISH}.yaml (every interface text needs its English one)")
        return self.texts.get(full_key, english.texts[full_key])

    def dataset(self, key: str, default: str) -> str:
        """The dataset's "title" or "description" in this language, else ``default`` (package.json's)."""
        return self.texts.get(f"dataset.{_text_key(key)}", default)

    def keywords(self, default: list[str]) -> list[str]:
        return list(self.dataset_keywords) if self.dataset_keywords is not None else list(default)

    def resource(self, resource: str, key: str, default: str) -> str:
        """A resource's "title" or "description" in this language, else ``default`` (package.json's)."""
        return self.texts.get(f"resources.{resource}.{_text_key(key)}", default)

    def field(self, resource: str, field: str, key: str, default: str) -> str:
        """A field's "title" or "description" in this language, else ``default`` (the schema's)."""
        return self.texts.get(f"resources.{resource}.fields.{field}.{_text_key(key)}", default)

    def label(self, field: str, code: str) -> str:
        """What a code of an enum field means, in this language, else in English, else the code itself."""
        if self.is_country_field(field):
            return country_name(code, self.code)
        key = f"labels.{field}.{code}"
        english = self.fallback or self
        return self.texts.get(key) or english.texts.get(key) or code

    def is_country_field(self, field: str) -> bool:
        return field in COUNTRY_FIELDS

    def holds(self, key: str) -> bool:
        """Whether this language's file has the text of ``key`` itself (no fallback)."""
        return self.dataset_keywords is not None if key == "dataset.keywords" else key in self.texts


def _text_key(key: str) -> str:
    if key not in TEXT_KEYS:
        raise KeyError(f"{key!r}: a translated text is one of {', '.join(TEXT_KEYS)}")
    return key


@functools.lru_cache(maxsize=4096)
def country_name(code: str, language: str) -> str:
    """pycountry's name of a country in ``language`` (its common name where it has one: "Zuid-Korea", not
    "Korea, Republiek"); the code itself when it names no country."""
    if code in USER_ASSIGNED_COUNTRIES:
        return USER_ASSIGNED_COUNTRIES[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return code
    return _country_catalogue(language).gettext(getattr(country, "common_name", None) or country.name)


@functools.lru_cache(maxsize=len(LANGUAGES))
def _country_catalogue(language: str) -> gettext.NullTranslations:
    """pycountry's gettext catalogue of country names; English has none (the names are English already)."""
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)


def load_translations(folder: Path = TRANSLATIONS_DIR) -> dict[str, Translation]:
    """Read and check <folder>/<language>.yaml for every language of LANGUAGES, English first."""
    english = _read_translation(folder / f"{ENGLISH}.yaml", ENGLISH, None)
    translations = {ENGLISH: english}
    for code in LANGUAGES[1:]:
        translations[code] = _read_translation(folder / f"{code}.yaml", code, english)
    return translations


def translation_digest(folder: Path = TRANSLATIONS_DIR) -> str:
    """sha256 over every language's file, so a changed text makes the catalogue out of date."""
    paths = [folder / f"{code}.yaml" for code in LANGUAGES]
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: translation file is missing (one per language: {', '.join(LANGUAGES)})")
    return digest_files(paths)


def label_codes(schemas: Schemas) -> dict[str, list[str]]:
    """Every code a label is needed for, by field name: the union of the enums of the fields of that name
    in all resources (programme is in activities and projects), country fields left out."""
    codes: dict[str, list[str]] = {}
    for resource in RESOURCE_NAMES:
        for spec in schemas.fields(resource):
            enum = spec.get("constraints", {}).get("enum") or spec.get("itemEnum") or []
            if enum and spec["name"] not in COUNTRY_FIELDS:
                known = codes.setdefault(spec["name"], [])
                known.extend(code for code in enum if code not in known)
    return codes


def translatable_keys(schemas: Schemas) -> list[str]:
    """The key of every text a complete translation holds, interface texts aside: the dataset's title,
    description and keywords, each resource's title and description, each published field's title and
    description (a personal field is never shown), and the label of each code of ``label_codes``."""
    package = schemas.package
    keys = [f"dataset.{key}" for key in DATASET_KEYS if package.get(key)]
    for resource in RESOURCE_NAMES:
        meta = package.get("resources", {}).get(resource, {})
        keys += [f"resources.{resource}.{key}" for key in TEXT_KEYS if meta.get(key)]
        for spec in schemas.published_fields(resource):
            keys += [f"resources.{resource}.fields.{spec['name']}.{key}" for key in TEXT_KEYS if spec.get(key)]
    for field, codes in label_codes(schemas).items():
        keys += [f"labels.{field}.{code}" for code in codes]
    return keys


def missing_translations(translations: Mapping[str, Translation], schemas: Schemas) -> dict[str, list[str]]:
    """Per language other than English, the sorted keys of the texts it lacks, which show in English."""
    expected = translatable_keys(schemas)
    english = translations[ENGLISH]
    interface = [key for key in english.texts if key.startswith("interface.")]
    return {
        code: sorted(key for key in [*expected, *interface] if not translation.holds(key))
        for code, translation in translations.items()
        if code != ENGLISH
    }


def unknown_translations(translations: Mapping[str, Translation], schemas: Schemas) -> dict[str, list[str]]:
    """Per language, the sorted keys its file holds that name nothing in the schemas (a field or code renamed
    or removed since): texts no page shows. Interface keys are not the schemas' and are left out."""
    expected = set(translatable_keys(schemas))
    return {
        code: sorted(key for key in translation.texts if key not in expected and not key.startswith("interface."))
        for code, translation in translations.items()
    }


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's, ten times faster, where PyYAML has it) that refuses a key written twice in
    one block: PyYAML would keep the last one silently, and a label pasted twice would hide which text the
    catalogue shows."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key '{key.value}' is written twice in this block; keep one", key.start_mark
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: translation file is missing; every language of {', '.join(LANGUAGES)} needs one "
            f"(start from a copy of {ENGLISH}.yaml)"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the translation file: {error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; a translation file holds only texts")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}); save the file as UTF-8") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data, no Python objects
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {_yaml_problem(error)}") from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's problem with its line, without its echo of the text ("in '<unicode string>'")."""
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return f"not valid YAML: {error}"
    mark = error.problem_mark
    context = f" ({error.context}, line {error.context_mark.line + 1})" if error.context and error.context_mark else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {error.problem}{context}"


def _read_translation(path: Path, code: str, english: Translation | None) -> Translation:
    document = _read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with the keys {', '.join(FILE_KEYS)}, got {document!r:.80}")
    _check_top_level(document, path, code)
    texts: dict[str, str] = {}
    dataset = _mapping(document.get("dataset"), path, "dataset", DATASET_KEYS)
    texts.update(_texts(dataset, path, "dataset", TEXT_KEYS))
    keywords = _keywords(dataset["keywords"], path) if "keywords" in dataset else None
    texts.update(_resource_texts(document.get("resources"), path))
    texts.update(_label_texts(document.get("labels"), path))
    texts.update(_interface_texts(document.get("interface"), path, english))
    return Translation(
        code=code,
        name=_text(document.get("name"), path, "name"),
        texts=MappingProxyType(texts),
        dataset_keywords=keywords,
        fallback=english,
    )


def _check_top_level(document: dict[Any, Any], path: Path, code: str) -> None:
    for key in document:
        if code == ENGLISH and key in ENGLISH_ONLY_ELSEWHERE:
            raise ConfigError(
                f"{path}: key '{key}': the English texts of the dataset, its resources and fields are those of "
                "schemas/package.json and schemas/*.schema.json; remove the key here and edit them there"
            )
        if key not in FILE_KEYS:
            raise ConfigError(f"{path}: unknown key '{key}' (a translation file has {', '.join(FILE_KEYS)})")
    if document.get("language") != code:
        raise ConfigError(
            f"{path}: key 'language': expected '{code}', the file's name, got {document.get('language')!r}"
        )


def _resource_texts(value: Any, path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for resource, entry in _mapping(value, path, "resources", RESOURCE_NAMES).items():
        where = f"resources.{resource}"
        entry = _mapping(entry, path, where, RESOURCE_KEYS)
        texts.update(_texts(entry, path, where, TEXT_KEYS))
        for field, field_texts in _mapping(entry.get("fields"), path, f"{where}.fields").items():
            field_where = f"{where}.fields.{field}"
            texts.update(_texts(_mapping(field_texts, path, field_where, TEXT_KEYS), path, field_where, TEXT_KEYS))
    return texts


def _label_texts(value: Any, path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for field, labels in _mapping(value, path, "labels").items():
        if field in COUNTRY_FIELDS:
            raise ConfigError(
                f"{path}: key 'labels.{field}': country names come from pycountry in each language; remove the key"
            )
        texts.update(_texts(_mapping(labels, path, f"labels.{field}"), path, f"labels.{field}", None))
    return texts


def _interface_texts(value: Any, path: Path, english: Translation | None) -> dict[str, str]:
    """Interface texts are ``str.format`` templates: each must parse, and use the placeholders English's does
    (a page fills in English's), and a language other than English may only translate English's texts."""
    texts = _texts(_mapping(value, path, "interface"), path, "interface", None)
    for key, text in texts.items():
        placeholders = _placeholders(text, path, key)
        if english is None:
            continue
        if key not in english.texts:
            raise ConfigError(f"{path}: key '{key}': {ENGLISH}.yaml has no such text; add the English one there first")
        expected = _placeholders(english.texts[key], path, key)
        if placeholders != expected:
            raise ConfigError(
                f"{path}: key '{key}': uses the placeholders {sorted(placeholders)}, "
                f"{ENGLISH}.yaml's text {sorted(expected)}; use the same names in braces"
            )
    return texts


def _placeholders(text: str, path: Path, key: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise ConfigError(
            f"{path}: key '{key}': not a text template ({error}); write a literal brace twice: {{{{ or }}}}"
        ) from None


def _mapping(value: Any, path: Path, where: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A block of the file (empty when left out or left empty), its keys text and, when given, among ``allowed``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: key '{where}': expected a block of 'key: value' lines, got {value!r:.80}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(
                f"{path}: block '{where}': YAML read a key as {key!r}, not as text; quote the key as written "
                "('no': ...), since YAML reads no, yes, on and off as false or true and digits as a number"
            )
        if allowed is not None and key not in allowed:
            raise ConfigError(f"{path}: unknown key '{where}.{key}' (known there: {', '.join(allowed)})")
    return value


def _texts(block: dict[str, Any], path: Path, where: str, keys: tuple[str, ...] | None) -> dict[str, str]:
    """The texts of ``keys`` (all of the block's when None) found in ``block``, keyed "<where>.<key>"."""
    return {
        f"{where}.{key}": _text(value, path, f"{where}.{key}")
        for key, value in block.items()
        if keys is None or key in keys
    }


def _text(value: Any, path: Path, where: str) -> str:
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{path}: key '{where}': the text is empty; write it, or remove the key to show English's")
    if not isinstance(value, str):
        raise ConfigError(
            f"{path}: key '{where}': expected a text, got {value!r:.80}; quote it if YAML read it as "
            "something else (yes/no, a number, a date)"
        )
    return value


def _keywords(value: Any, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: key 'dataset.keywords': expected a list of texts, [a, b, ...], got {value!r:.80}")
    return tuple(_text(item, path, f"dataset.keywords[{index}]") for index, item in enumerate(value))
