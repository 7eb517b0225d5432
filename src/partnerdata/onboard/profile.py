"""``partnerdata profile FILE``: a draft sources.yaml entry for a partner's file, with its reasons.

The file is read as a run would read it (the project's readers, bounded: ``onboard.sample``), its
columns are matched by name to the canonical fields of the resource they fit best, the partner's
labels to codes (``onboard.matching``), and its dialect is found (``onboard.sniff``). The draft is
then checked as ``partnerdata check`` checks an entry, and the rows profiled are validated with it
as a run validates one source; an optional column that would reject most rows is left out. The
draft goes to stdout as YAML, the reasons to stderr: what was detected, which column became which
field and how sure the match is, which columns were not placed, which required fields are missing.

Personal data stays out: a column whose name says it holds a contact person, an e-mail address, a
phone number or an address is never mapped on a near name, and its values are not shown.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from partnerdata.config.schemas import RESOURCE_NAMES, Schemas
from partnerdata.config.sources import Source
from partnerdata.errors import ConfigError, UsageError
from partnerdata.mapping.coercion import FALSE_VALUES, TRUE_VALUES, Dialect
from partnerdata.mapping.columns import map_columns
from partnerdata.onboard import matching, sniff
from partnerdata.onboard.sample import Sample, read_sample
from partnerdata.readers import READERS
from partnerdata.readers.base import Lines, ReadResult
from partnerdata.validate.checks import Problem, validate_table
from partnerdata.validate.configuration import load_config

PLACEHOLDER_ID = "new-partner"
PLACEHOLDER_ORGANISATION = {"id": "TODO-PARTNER", "name": "TODO partner name", "country": "BE"}
HEADER = (
    "# Draft entry written by `partnerdata profile`: put it under `sources:` in sources.yaml and fill in the TODOs.",
    "# Its reasons (what was detected, which column became which field, what is missing) went to stderr.",
)
COMMENTS = {
    "source_id": "TODO: this partner's id (a-z, 0-9, -); it becomes a folder name: never change it",
    "organisation": "TODO: the partner that delivers the file (id, name, ISO country, type): placeholders",
    "url": "the file profiled; a relative path is read relative to sources.yaml",
}
GUESS = "TODO: a guess (no column matched this required field): set the right code"
SET_BY_PARTNERDATA = {"source_id", "organiser_id"}  # organiser_id defaults to the organisation's id
MOST_ROWS = 0.5  # an optional column whose values fail in more rows than this share is left out
KEY_RULES = {"primary-key", "unique", "required"}
MOST_LABELS = 200  # distinct labels of one column matched to codes, at most
EXAMPLES = 3
EXAMPLE_WIDTH = 30


@dataclass
class Draft:
    """The entry being drafted; ``entry()`` is what sources.yaml gets."""

    format: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)  # the <format>: block
    resource: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> partner column
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    guessed: set[str] = field(default_factory=set)  # constants that are guesses
    date_format: str | None = None
    list_separator: str | None = None
    left_out: dict[str, str] = field(default_factory=dict)  # partner column -> why it is not mapped
    matches: dict[str, matching.Match] = field(default_factory=dict)  # partner column -> how it matched its field

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"source_id": PLACEHOLDER_ID, "organisation": dict(PLACEHOLDER_ORGANISATION),
                                 "url": self.url, "format": self.format}  # fmt: skip
        if self.resource:  # a generic format: columns is required, even when nothing matched
            entry["resource"] = self.resource
        if self.options:
            entry[self.format] = dict(self.options)
        optional = {"date_format": self.date_format, "list_separator": self.list_separator, "columns": self.columns,
                    "values": self.values, "constants": self.constants}  # fmt: skip
        entry.update({key: value for key, value in optional.items() if value})
        if self.resource and not self.columns:
            entry["columns"] = {}
        return entry

    def leave_out(self, name: str, why: str) -> None:
        column = self.columns.pop(name)
        self.values.pop(name, None)
        self.left_out[column] = why


@dataclass
class Reasons:
    """What stderr says, section by section."""

    detected: list[str] = field(default_factory=list)
    resource: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    check: list[str] = field(default_factory=list)

    def text(self, path: Path) -> str:
        sections = [("detected", self.detected), ("resource", self.resource), ("columns", self.columns),
                    ("values", self.values), ("fields", self.fields), ("check", self.check)]  # fmt: skip
        lines = [f"partnerdata profile {path}"]
        for title, items in sections:
            if items:
                lines.append(f"{title}:")
                lines += [f"  {item}" for item in items]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Profile:
    draft: Draft
    yaml: str  # the draft entry, a list item as sources.yaml holds them
    reasons: str


def profile_file(path: Path, schemas: Schemas, fmt: str | None = None, sheet: str | None = None) -> Profile:
    """Profile a partner's file and draft its source entry (``fmt``: read it as this format; ``sheet``:
    this sheet of a workbook)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    reasons = Reasons()
    with tempfile.TemporaryDirectory(prefix="partnerdata-profile-") as work:
        sample = read_sample(path, fmt, sheet, Path(work), lambda columns: best_resource(columns, schemas)[1])
        reasons.detected += sample.notes
        if sample.standard:
            draft = Draft(sample.format, str(path))
            filled = ", ".join(READERS[sample.format].RESOURCES or ())
            reasons.resource.append(
                f"{sample.format} is a standard format: it maps its own columns onto {filled}, so the entry names "
                "only the format (no resource, columns or values; values and constants may still be added)"
            )
        else:
            draft = _draft(sample, schemas, reasons)
        _self_check(draft, sample, schemas, Path(work), reasons)
        if not sample.standard:
            reasons.columns = _column_lines(sample.table, draft)
    return Profile(draft, render(draft), reasons.text(path))


def best_resource(
    columns: list[str], schemas: Schemas
) -> tuple[str, float, list[matching.ColumnMatch], dict[str, float]]:
    """The resource whose fields the columns match best (the sum of the match scores; ties: the first
    of RESOURCE_NAMES), its score, its matches, and every resource's score."""
    found = {name: matching.match_columns(columns, schemas.fields(name), schemas.primary_key(name))
             for name in RESOURCE_NAMES}  # fmt: skip
    scores = {name: sum(m.match.score for m in matches) for name, matches in found.items()}
    best = max(RESOURCE_NAMES, key=lambda name: scores[name])
    return best, scores[best], found[best], scores


def _draft(sample: Sample, schemas: Schemas, reasons: Reasons) -> Draft:
    resource, score, matches, scores = best_resource(sample.table.column_names, schemas)
    others = ", ".join(f"{name} {value:.1f}" for name, value in scores.items() if name != resource)
    if not matches:
        reasons.resource.append(
            f"no resource's fields match any column (is it the right file, or sheet?): {resource} for now"
        )
    else:
        reasons.resource.append(f"{resource}: its fields match {len(matches)} columns (score {score:.1f}; {others})")
    tied = [name for name, value in scores.items() if name != resource and value == score and matches]
    if tied:
        reasons.resource.append(f"{' and '.join(tied)} match as well: check that {resource} is the right resource")
    draft = Draft(sample.format, str(sample.path), dict(sample.options), resource)
    draft.columns = {m.match.target: m.column for m in matches}
    draft.matches = {m.column: m.match for m in matches}
    specs = {spec["name"]: spec for spec in schemas.fields(resource)}
    _number_marks(draft, sample.table, specs, reasons)
    _dates(draft, sample.table, specs, reasons)
    _list_separator(draft, sample.table, specs, reasons)
    for name in list(draft.columns):
        _labels(draft, sample.table, specs[name], reasons)
    _missing_fields(draft, specs.values(), reasons)
    return draft


# ---------------------------------------------------------------- dialect


def _cells(table: pa.Table, column: str) -> list[str]:
    """The column's non-empty cells, trimmed."""
    texts = pc.utf8_trim_whitespace(table.column(column).combine_chunks().cast(pa.string()))
    return [text for text in texts.to_pylist() if text]


def _mapped(draft: Draft, specs: dict[str, dict[str, Any]], types: Iterable[str]) -> list[str]:
    return [name for name in draft.columns if specs[name]["type"] in types]


def _number_marks(draft: Draft, table: pa.Table, specs: dict[str, dict[str, Any]], reasons: Reasons) -> None:
    """The decimal mark and thousands separator of the number cells (a csv option: the xlsx and json
    readers give numbers in canonical form)."""
    names = _mapped(draft, specs, ("number", "integer"))
    cells = [cell for name in names for cell in _cells(table, draft.columns[name])]
    if not cells:
        return
    decimal, thousands = sniff.number_marks(cells)
    if decimal == "." and thousands is None:
        return
    if draft.format != "csv":
        reasons.detected.append(
            f"numbers written as text with decimal mark {decimal!r}: the {draft.format} format reads numbers with a "
            "point only, so those cells are rejected; ask the partner for number cells"
        )
        return
    delimiter = draft.options.get("delimiter", ",")
    if delimiter in (decimal, thousands):
        reasons.detected.append(
            f"decimal mark {decimal!r} and thousands separator {thousands!r}: one of them is the delimiter "
            f"{delimiter!r}, which a csv source cannot have; those numbers are rejected"
        )
        return
    if decimal != ".":
        draft.options["decimal"] = decimal
    if thousands is not None:
        draft.options["thousands"] = thousands
    reasons.detected.append(
        f"decimal mark {decimal!r}" + (f", thousands separator {thousands!r}" if thousands else "")
        + f" (in the columns {', '.join(draft.columns[n] for n in names)})"
    )  # fmt: skip


def _dates(draft: Draft, table: pa.Table, specs: dict[str, dict[str, Any]], reasons: Reasons) -> None:
    names = _mapped(draft, specs, ("date",))
    cells = [cell for name in names for cell in _cells(table, draft.columns[name])]
    if not cells:
        return
    found = sniff.date_format(cells)
    if found.format is not None:
        draft.date_format = found.format
        reasons.detected.append(f"date format {found.format} (it and ISO read {found.read} of {found.total} dates)")
    elif found.read < found.total:
        reasons.detected.append(
            f"dates: no date format reads most of the {found.total - found.read} dates that are not ISO (YYYY-MM-DD)"
        )
    else:
        reasons.detected.append("dates: ISO (YYYY-MM-DD), always read: no date_format needed")


def _list_separator(draft: Draft, table: pa.Table, specs: dict[str, dict[str, Any]], reasons: Reasons) -> None:
    """The separator inside multi-valued cells: the one the lists of codes use (a code holds no separator),
    else the one most list cells hold. A list column that separates its items otherwise is left out."""
    names = _mapped(draft, specs, ("list",))
    counts = {name: sniff.list_separators(_cells(table, draft.columns[name])) for name in names}
    coded = [name for name in names if matching.vocabulary(specs[name])] or names
    total = sum((counts[name] for name in coded), Counter())
    if not total:
        return
    separator = total.most_common(1)[0][0]
    if separator != ";":
        draft.list_separator = separator
    reasons.detected.append(f"list separator {separator!r} (in {', '.join(draft.columns[n] for n in coded)})")
    for name in names:
        other = counts[name].most_common(1)
        if other and other[0][0] != separator and other[0][1] > counts[name][separator]:
            draft.leave_out(
                name, f"its items are separated by {other[0][0]!r}, the source's other lists by {separator!r}"
            )


# ---------------------------------------------------------------- labels and constants


def _labels(draft: Draft, table: pa.Table, spec: dict[str, Any], reasons: Reasons) -> None:
    """values: for a field with codes (or a boolean), each label that is not a code, matched to one."""
    name = spec["name"]
    codes = set(matching.vocabulary(spec))
    if spec["type"] == "boolean":
        codes = set(spec.get("trueValues", TRUE_VALUES) + spec.get("falseValues", FALSE_VALUES))
    elif not codes:
        return
    labels = Counter(_items(_cells(table, draft.columns[name]), spec, draft.list_separator or ";"))
    mapped: dict[str, str] = {}
    unknown = []
    for label, count in labels.most_common(MOST_LABELS):
        if label in codes:
            continue
        match = matching.match_label(label, spec)
        if match is None:
            unknown.append(f"{label!r} ({count} row{'s' if count > 1 else ''})")
            continue
        mapped[label] = match.target
        reasons.values.append(f"{name}: {label!r} -> {match.target} ({match.why()})")
    if mapped:
        draft.values[name] = mapped
    if unknown:
        reasons.values.append(
            f"{name}: no code matched {', '.join(unknown)}; such rows are rejected until you add the label under "
            f"values.{name} (`partnerdata fields {draft.resource}` lists the codes)"
        )
    if len(labels) > MOST_LABELS:
        reasons.values.append(f"{name}: {len(labels):,} distinct labels; the {MOST_LABELS} commonest were matched")


def _items(cells: list[str], spec: dict[str, Any], separator: str) -> list[str]:
    if spec["type"] != "list":
        return cells
    return [item.strip() for cell in cells for item in cell.split(separator) if item.strip()]


def _missing_fields(draft: Draft, specs: Iterable[dict[str, Any]], reasons: Reasons) -> None:
    """A required field no column matched: a guessed constant when its codes have "other", else a warning."""
    missing = []
    for spec in specs:
        name = spec["name"]
        if name in draft.columns or name in SET_BY_PARTNERDATA or not spec.get("constraints", {}).get("required"):
            continue
        if "other" in matching.vocabulary(spec):
            draft.constants[name] = "other"
            draft.guessed.add(name)
            codes = ", ".join(matching.vocabulary(spec))
            reasons.fields.append(
                f"{name} is required and no column matched it: the draft sets constants.{name}: other, a guess; "
                f"set this source's code ({codes})"
            )
        else:
            missing.append(name)
    if missing:
        reasons.fields.append(
            f"required fields no column matched: {', '.join(missing)}; every row is rejected until you map a column "
            "to each under columns, or give its value under constants"
        )


# ---------------------------------------------------------------- the check


def _self_check(draft: Draft, sample: Sample, schemas: Schemas, work: Path, reasons: Reasons) -> None:
    """Load the draft as `partnerdata check` loads sources.yaml, and validate the rows profiled with it as
    a run validates one source (before the checks across sources); leave out an optional column that
    fails in most rows, and check again."""
    for _ in range(3):
        source = _loaded(draft, work, schemas)
        if isinstance(source, ConfigError):
            reasons.check.append(f"the draft does NOT pass `partnerdata check`: {source}")
            return
        if sample.standard:
            reasons.check.append("the draft passes `partnerdata check` (its placeholders are valid values)")
            return
        rows = sample.table.num_rows
        problems = _validated(source, draft, sample.table, schemas)
        failing = _failing_columns(problems, rows, draft, schemas)
        if not failing:
            break
        for name, why in failing.items():
            draft.leave_out(name, why)
    reasons.check.append("the draft passes `partnerdata check` (its placeholders are valid values)")
    rejected = len({problem.row for problem in problems})
    counts = Counter((problem.field, problem.rule) for problem in problems)
    found = ", ".join(f"{name} {rule} ({count})" for (name, rule), count in counts.most_common(8))
    reasons.check.append(
        f"the {rows:,} rows profiled, validated with the draft as a run validates one source: {rows - rejected:,} "
        f"accepted, {rejected:,} rejected" + (f": {found}" if found else "")
    )
    if not sample.matches_file:
        reasons.check.append(
            "the rows were read from a copy without the lines above the header: the file as it is fails"
        )


def _loaded(draft: Draft, work: Path, schemas: Schemas) -> Source | ConfigError:
    """The draft as printed, under `sources:` of a sources.yaml of its own, loaded as `partnerdata check` loads it."""
    path = work / "sources.yaml"
    path.write_text("sources:\n" + render(draft), encoding="utf-8")
    try:
        return load_config(path, schemas).sources[0]
    except ConfigError as error:  # the message names the sources.yaml of its own: say "the draft"
        return ConfigError(str(error).replace(f"{path}: sources[0] ({PLACEHOLDER_ID}): ", ""))


def _validated(source: Source, draft: Draft, table: pa.Table, schemas: Schemas) -> list[Problem]:
    resource = source.resource
    read = ReadResult(table, Lines(table.num_rows), draft.options.get("decimal", "."), draft.options.get("thousands"))
    mapped = map_columns(read, source, schemas, resource)
    dialect = Dialect(read.decimal, read.thousands, source.date_format, source.list_separator)
    return validate_table(mapped.mapped, schemas.resource(resource), dialect, schemas.rules.get(resource, [])).problems


def _failing_columns(problems: list[Problem], rows: int, draft: Draft, schemas: Schemas) -> dict[str, str]:
    """The optional fields mapped to a column whose values fail in more than MOST_ROWS of the rows."""
    rules = {rule["name"] for rule in schemas.rules.get(draft.resource or "", [])}
    failing: dict[str, set[int]] = {}
    kinds: dict[str, Counter[str]] = {}
    for problem in problems:
        if problem.field in draft.columns and problem.rule not in KEY_RULES | rules:
            failing.setdefault(problem.field, set()).add(problem.row)
            kinds.setdefault(problem.field, Counter())[problem.rule] += 1
    required = {
        spec["name"] for spec in schemas.fields(draft.resource or "") if spec.get("constraints", {}).get("required")
    }
    return {
        name: f"its values fail in {len(failed)} of {rows} rows ({', '.join(kinds[name])}), as {name}"
        for name, failed in failing.items()
        if name not in required and len(failed) > MOST_ROWS * rows
    }


# ---------------------------------------------------------------- stderr: the columns


def _column_lines(table: pa.Table, draft: Draft) -> list[str]:
    """One line per column: how full it is, examples, and the field it became (or why it did not);
    three or more unplaced columns that differ only in a number (Partner 1 name, Partner 2 name) share a line."""
    placed = {column: name for name, column in draft.columns.items()}
    matched = draft.matches
    families: dict[str, list[str]] = {}
    for column in table.column_names:
        families.setdefault(re.sub(r"(?<![0-9])[0-9]+(?![0-9])", "N", column), []).append(column)
    rows = max(table.num_rows, 1)
    lines = [f"({table.num_rows:,} rows profiled; fill: the share of them with a value, of a group its fullest column)"]
    for family, members in families.items():
        grouped = len(members) >= 3 and not any(m in placed or m in draft.left_out for m in members)
        for column in [members[0]] if grouped else members:
            cells = [cell for m in (members if grouped else [column]) for cell in _cells(table, m)]
            filled = max(len(_cells(table, m)) for m in members) if grouped else len(cells)
            name = f"{family} ({len(members)} columns)" if grouped else column
            where = _placement(column, placed, matched, draft.left_out)
            lines.append(f"{_short(name, 40):<40} {filled / rows:>5.0%}  {_examples(column, cells)}  -> {where}")
    return lines


def _placement(
    column: str, placed: dict[str, str], matched: dict[str, matching.Match], left_out: dict[str, str]
) -> str:
    if column in placed:
        match = matched.get(column)
        return placed[column] + (f" ({match.why()})" if match else "")
    if column in left_out:
        return f"not mapped: {left_out[column]}"
    if matching.looks_personal(column):
        return "not mapped: its name says personal data"
    return "not placed: no field's name matches it"


def _examples(column: str, cells: list[str]) -> str:
    if matching.looks_personal(column):
        return "(values not shown: personal data)"
    examples = list(dict.fromkeys(cells))[:EXAMPLES]
    return " | ".join(_short(text, EXAMPLE_WIDTH) for text in examples) if examples else "(empty)"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- stdout: the draft


class _Dumper(yaml.SafeDumper):
    """YAML as a maintainer writes sources.yaml: no aliases, which sources.yaml refuses."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml_lines(mapping: dict[str, Any]) -> list[str]:
    text = yaml.dump(mapping, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    return text.splitlines()


def render(draft: Draft) -> str:
    """The draft entry as YAML, a list item indented as in sources.yaml, with TODO comments."""
    lines = list(HEADER)
    for key, value in draft.entry().items():
        if key == "constants":
            block = ["constants:"]
            for name, constant in value.items():
                line = "  " + _yaml_lines({name: constant})[0]
                block.append(line + (f"  # {GUESS}" if name in draft.guessed else ""))
        else:
            block = _yaml_lines({key: value})
        if key in COMMENTS:
            block[0] += f"  # {COMMENTS[key]}"
        lines += block
    body = [f"  {line}" if line.startswith("#") else f"    {line}" for line in lines]
    first = len(HEADER)
    body[first] = "  - " + body[first][4:]
    return "\n".join(body) + "\n"
