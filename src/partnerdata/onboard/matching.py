"""Which canonical field a partner's column means, and which code a partner's label means.

Both are matched by name, in Dutch, French and English: the names in ``synonyms.yaml`` beside this
module, a field's own name and title from the schemas, and for countries the names pycountry knows.
Names are compared normalised (case, accents, punctuation and camelCase ignored) with difflib's
similarity, so a spelling the table does not hold ("Start datum", "Titel activiteit") still
matches; names of three characters or fewer match only exactly ("to" is not "tot").
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pycountry
import yaml

SYNONYMS = Path(__file__).with_name("synonyms.yaml")
LANGUAGES = ("nl", "fr", "en")
THRESHOLD = 0.8  # below this, a column or a label is left for the maintainer
SHORT = 3  # names this short match only exactly
COMPACT = 0.97  # the same name written with or without spaces: "Start datum", "Startdatum"
PREFIX = 0.85  # the column's name starts with a whole name of two words or more: "EU Grant award in euros (...)"
LAST_STEP = 0.95  # a nested JSON key matched by its last step ("period.start" as "start")
# Words in a column's name that say it holds personal data: such a column is only mapped on an exact
# name ("Contact hours" is contact_hours), never on a near one ("contact.name" is not a title).
PERSONAL_WORDS = frozenset(
    "contact contactpersoon contactpersonen email mail telefoon telefoonnummer phone telephone tel gsm mobile "
    "mobiel adres address adresse geboortedatum birth naissance personne".split()
)
IDENTIFIER_WORDS = (
    "id",
    "nummer",
    "number",
    "numero",
    "code",
    "ref",
    "pic",
    "nr",
)  # within a word too: "Projectnummer"
COUNTRY_MARKERS = {"BE", "NL", "FR", "DE", "GB"}  # a vocabulary holding these is the country list


@dataclass(frozen=True)
class Name:
    """One way to write a field or a code: normalised for matching, as written for the maintainer."""

    text: str
    shown: str
    origin: str  # nl, fr, en, "field name", "title", "identifier", "code", "country name"


@dataclass(frozen=True)
class Match:
    """What a column or a label was matched to, how closely, and through which name."""

    target: str  # the canonical field, or the code
    score: float
    name: Name

    def why(self) -> str:
        return f"{self.score:.2f}, {self.name.origin} '{self.name.shown}'"


@dataclass(frozen=True)
class ColumnMatch:
    column: str
    match: Match


@functools.lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    """Lower case, no accents, words of letters and digits separated by one space; camelCase split."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("+", " plus ")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@functools.lru_cache(maxsize=262_144)
def similarity(text: str, name: str) -> float:
    """How closely ``text`` (a column's name or a label, normalised) matches ``name`` (normalised), 0 to 1;
    a similarity below THRESHOLD is given as 0."""
    if text == name:
        return 1.0
    shorter, longer = sorted((len(text), len(name)))
    if shorter <= SHORT:
        return 0.0
    if text.replace(" ", "") == name.replace(" ", ""):
        return COMPACT
    words, name_words = text.split(), name.split()
    if len(name_words) >= 2 and words[: len(name_words)] == name_words:
        return PREFIX
    if 2 * shorter < THRESHOLD * (shorter + longer):  # difflib's ratio cannot reach THRESHOLD
        return 0.0
    best = 0.0  # below THRESHOLD the exact ratio does not matter: difflib's cheap upper bound rules most out
    for left, right in ((text, name), (" ".join(sorted(words)), " ".join(sorted(name_words)))):
        matcher = _matcher(right)
        matcher.set_seq1(left)
        if matcher.quick_ratio() >= THRESHOLD:
            best = max(best, matcher.ratio())
    return best if best >= THRESHOLD else 0.0


@functools.lru_cache(maxsize=4096)
def _matcher(name: str) -> SequenceMatcher[str]:
    """A matcher for one name, kept: difflib indexes its second sequence, the name, once."""
    return SequenceMatcher(None, "", name, autojunk=False)


def best_match(text: str, candidates: dict[str, list[Name]]) -> Match | None:
    """The candidate (a field or a code) one of whose names matches text best, at THRESHOLD or above;
    None when none does, or when two candidates match equally well (the maintainer decides)."""
    normal = normalise(text)
    scored = sorted(
        ((max(((similarity(normal, n.text), n) for n in names), key=lambda pair: pair[0]), target)
         for target, names in candidates.items() if names),
        key=lambda item: -item[0][0],
    )  # fmt: skip
    if not scored or scored[0][0][0] < THRESHOLD:
        return None
    (score, name), target = scored[0]
    if len(scored) > 1 and scored[1][0][0] == score and score < 1.0:
        return None
    return Match(target, score, name)


# ---------------------------------------------------------------- columns -> fields


def field_names(spec: dict[str, Any], is_key: bool) -> list[Name]:
    """Every name a column holding this field may have: the synonyms, the field's name and title,
    and for a resource's one-field primary key the words for an identifier."""
    table = _synonyms()
    names = [Name(normalise(spec["name"].replace("_", " ")), spec["name"], "field name")]
    if spec.get("title"):
        names.append(Name(normalise(spec["title"]), spec["title"], "title"))
    for language in LANGUAGES:
        names += [Name(normalise(s), s, language) for s in table["fields"].get(spec["name"], {}).get(language, [])]
        if is_key:
            names += [Name(normalise(s), s, "identifier") for s in table["identifiers"].get(language, [])]
    return names


def match_columns(columns: Sequence[str], specs: Sequence[dict[str, Any]], key: Sequence[str]) -> list[ColumnMatch]:
    """Each column to at most one field and each field to at most one column, best scores first
    (ties: the column further left). A personal-looking column matches only exactly."""
    names = {spec["name"]: field_names(spec, list(key) == [spec["name"]]) for spec in specs}
    candidates = []
    families: dict[str, dict[str, Match]] = {}  # "partner # name": Partner 1 name's scores, for Partner 2 name ...
    for index, column in enumerate(columns):
        family = re.sub(r"[0-9]+", "#", normalise(column))
        if family not in families:
            families[family] = _column_scores(column, names)
        for field, match in families[family].items():
            if match.score >= THRESHOLD and (match.score == 1.0 or not looks_personal(column)):
                candidates.append((-match.score, index, column, field, match))
    chosen: list[ColumnMatch] = []
    taken_columns: set[str] = set()
    taken_fields: set[str] = set()
    for _, _, column, field, match in sorted(candidates, key=lambda c: (c[0], c[1])):
        if column not in taken_columns and field not in taken_fields:
            chosen.append(ColumnMatch(column, match))
            taken_columns.add(column)
            taken_fields.add(field)
    order = {column: index for index, column in enumerate(columns)}
    return sorted(chosen, key=lambda c: order[c.column])


def _column_scores(column: str, names: dict[str, list[Name]]) -> dict[str, Match]:
    """The best name of each field for one column; a dotted JSON path also by its last step. A field
    of identifiers (``*_id``) matches a column without a word for an identifier only exactly: the
    "Coordinating organisation name" is not the "coordinating organisation id"."""
    forms = [(normalise(column), 1.0)]
    if "." in column.strip("."):
        forms.append((normalise(column.rsplit(".", 1)[1]), LAST_STEP))
    says_identifier = any(word in forms[0][0] for word in IDENTIFIER_WORDS)
    scores = {}
    for field, candidates in names.items():
        best: Match | None = None
        for text, factor in forms:
            for name in candidates:
                score = similarity(text, name.text) * factor
                if score < 1.0 and field.endswith("_id") and not says_identifier:
                    continue
                if best is None or score > best.score:
                    best = Match(field, score, name)
        if best is not None:
            scores[field] = best
    return scores


def looks_personal(column: str) -> bool:
    """Whether a column's name says it holds personal data (a contact person, an e-mail, a phone, an address)."""
    return bool(PERSONAL_WORDS & set(normalise(column).split()))


# ---------------------------------------------------------------- labels -> codes


def vocabulary(spec: dict[str, Any]) -> list[str]:
    """The codes a field allows: its enum, or a list's itemEnum (empty when it has none)."""
    if spec["type"] == "list":
        return list(spec.get("itemEnum", []))
    return list(spec.get("constraints", {}).get("enum", []))


def is_country_list(codes: Sequence[str]) -> bool:
    return COUNTRY_MARKERS <= set(codes)


def match_label(label: str, spec: dict[str, Any]) -> Match | None:
    """The code a partner's label means for this field: by the code itself and its labels in
    synonyms.yaml (fuzzy), a country by its name or alias (exactly: Niger is not Nigeria), a yes/no
    word for a boolean. None when nothing matches well enough."""
    if spec["type"] == "boolean":
        return _exact(label, _booleans(), "yes/no word")
    codes = vocabulary(spec)
    if not codes:
        return None
    if is_country_list(codes):
        match = _exact(label, _countries(), "country name")
        return match if match is not None and match.target in codes else None
    labels = _synonyms()["codes"].get(spec["name"], {})
    candidates = {
        code: [Name(normalise(code.replace("_", " ")), code, "code")]
        + [Name(normalise(text), text, "label") for text in labels.get(code, [])]
        for code in codes
    }
    return best_match(label, candidates)


def _exact(label: str, names: dict[str, tuple[str, str]], origin: str) -> Match | None:
    found = names.get(normalise(label))
    return None if found is None else Match(found[0], 1.0, Name(normalise(label), found[1], origin))


@functools.cache
def _synonyms() -> dict[str, Any]:
    with open(SYNONYMS, encoding="utf-8") as file:
        table: dict[str, Any] = yaml.safe_load(file)
    return table


@functools.cache
def _booleans() -> dict[str, tuple[str, str]]:
    """Normalised yes/no word -> ("true" or "false", the word)."""
    return {normalise(word): (value, word) for value, words in _synonyms()["booleans"].items() for word in words}


@functools.cache
def _countries() -> dict[str, tuple[str, str]]:
    """Normalised country name (English, Dutch, French; common and official) or code -> (ISO code, name)."""
    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]) for lang in ("nl", "fr")]
    names: dict[str, tuple[str, str]] = {}
    for country in pycountry.countries:
        english = [text for key in ("name", "common_name", "official_name") if (text := getattr(country, key, None))]
        for text in [country.alpha_2, *english, *(t.gettext(text) for t in translations for text in english)]:
            names.setdefault(normalise(text), (country.alpha_2, text))
    for alias, code in _synonyms()["country_aliases"].items():
        names[normalise(alias)] = (code, alias)
    return names
