"""The catalogue's charts: counts from the latest release, drawn as inline SVG (svgchart.py).

SVG in the page needs no script, no CDN and no second file: the catalogue works offline and
from any static file host. Text stays text, so it is selectable and read by screen readers;
each chart also has a text alternative and its numbers as a table.

The numbers are counted once per release (``Counts``), then drawn in each language.

Every text is one language's (a Translation: the interface texts ``chart_*`` and the vocabulary
labels); the counts, their order and the charts' keys are the same in every language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.catalogue.svgchart import Series, bars
from partnerdata.catalogue.svgchart import columns as columns_chart
from partnerdata.config.translations import ENGLISH, Translation, load_translations

MAX_CATEGORIES = 8  # themes or sectors drawn by name; the rest are summed as "other"
MAX_COUNTRIES = 25
# A stacked chart's categories are codes; these two stand for a row without one and for the rest. Codes are
# snake_case (the schemas' enums), so neither can be a code.
NO_CATEGORY = "(none)"
OTHER_CATEGORIES = "(other)"
COLOURS = ["#1b6ca8", "#e07b39", "#3a9e6f", "#c23b4c", "#7d5ba6", "#8c6d31", "#d664be", "#5f7f8f", "#b0b0b0"]


@dataclass(frozen=True)
class Chart:
    key: str  # the element id's part: the same in every language
    title: str
    summary: str  # the text alternative: what the chart shows, in one or two sentences
    svg: str
    columns: list[str]  # the numbers behind it, as a table: its header texts
    rows: list[list[str | int]]  # the first cell heads the row (a year; a country's name with its code)


Columns = Callable[[str, list[str]], "pa.Table | None"]  # (resource, columns) -> those columns, or None


@dataclass(frozen=True)
class Stacking:
    """What a stacked chart counts, and the interface texts (en.yaml's keys) that say so."""

    key: str
    resource: str
    year_column: str
    year_of: Callable[[pa.ChunkedArray], pa.ChunkedArray]  # the year of each value of year_column
    category: str  # the enum field whose codes stack
    title: str
    noun: str  # what is counted, in the plural: the axis label
    summary: str  # placeholders: total, first_year, last_year, busiest_year, busiest_total, largest


THEMES = Stacking(
    "activities-per-theme", "activities", "start_date", pc.year, "theme",
    "chart_themes_title", "chart_activities", "chart_themes_summary",
)  # fmt: skip
SECTORS = Stacking(
    "projects-per-sector", "projects", "call_year", lambda years: years, "sector",
    "chart_sectors_title", "chart_projects", "chart_sectors_summary",
)  # fmt: skip


@dataclass(frozen=True)
class Stacked:
    """A stacked chart's numbers, in codes: the same in every language."""

    stacking: Stacking
    years: list[int]
    grid: dict[str, dict[int, int]]  # code -> year -> count: the named codes in rank order, then the rest
    named: list[str]  # the codes drawn by name, the most frequent first


@dataclass(frozen=True)
class Counts:
    """What the charts of one release count, before any text is chosen: counted once, drawn per language.
    A chart with nothing to count is None, and so is one whose columns a schema change renamed or retyped."""

    themes: Stacked | None
    sectors: Stacked | None
    countries: dict[str, list[int]] | None  # country code -> [activities, projects]


def charts(release_dir: Path, translation: Translation | None = None) -> list[Chart]:
    """The three charts of a release folder's data, in ``translation``'s language (English when None)."""
    return draw_charts(chart_counts(release_dir), translation)


def charts_of_tables(tables: dict[str, pa.Table], translation: Translation | None = None) -> list[Chart]:
    """The same charts from the tables of a release about to be written (a run draws them while
    it writes the files)."""
    return draw_charts(counts_of_tables(tables), translation)


def charts_in_every_language(tables: dict[str, pa.Table]) -> dict[str, list[Chart]]:
    """The charts of a release's tables in every language the catalogue has, counted once: what a
    run draws while it writes the release's files, so that the catalogue step after it draws none."""
    counts = counts_of_tables(tables)
    return {code: draw_charts(counts, translation) for code, translation in load_translations().items()}


def charts_of_release(release_dir: Path) -> dict[str, list[Chart]]:
    """charts_in_every_language of a release folder, read from its Parquet files (the columns the
    charts count, never a whole table)."""
    counts = chart_counts(release_dir)
    return {code: draw_charts(counts, translation) for code, translation in load_translations().items()}


def chart_counts(release_dir: Path) -> Counts:
    """The numbers behind a release folder's charts, read from its Parquet files."""
    return _count(lambda name, columns: _read(release_dir / f"{name}.parquet", columns))


def counts_of_tables(tables: dict[str, pa.Table]) -> Counts:
    """The numbers behind the charts of a release's tables."""
    return _count(lambda name, columns: _select(tables, name, columns))


def draw_charts(counts: Counts, translation: Translation | None = None) -> list[Chart]:
    """The charts of ``counts`` in ``translation``'s language (English when None); a chart with
    nothing to count is left out, and the page goes without it."""
    texts = translation or load_translations()[ENGLISH]
    made = [
        _draw_stacked(counts.themes, texts) if counts.themes else None,
        _draw_stacked(counts.sectors, texts) if counts.sectors else None,
        _draw_countries(counts.countries, texts) if counts.countries else None,
    ]
    return [chart for chart in made if chart is not None]


def _count(read: Columns) -> Counts:
    def counted(count: Callable[[], Any]) -> Any:
        # Not KeyError: a missing column is ArrowInvalid however it is read.
        try:
            return count()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None

    return Counts(
        counted(lambda: _stack(THEMES, read)),
        counted(lambda: _stack(SECTORS, read)),
        counted(lambda: _per_country(read)),
    )


def _read(path: Path, columns: list[str]) -> pa.Table | None:
    return pq.read_table(path, columns=columns) if path.exists() else None


def _select(tables: dict[str, pa.Table], name: str, columns: list[str]) -> pa.Table | None:
    """``columns`` of the table ``name``, refused as pq.read_table refuses a file without one of them."""
    if name not in tables:
        return None
    missing = [column for column in columns if column not in tables[name].column_names]
    if missing:
        raise pa.ArrowInvalid(f"{name} has no column {', '.join(missing)}")
    return tables[name].select(columns)


def _stack(stacking: Stacking, read: Columns) -> Stacked | None:
    """A bar per year, stacked by category (the most frequent ones; the rest as "other"). The categories are
    ranked by their codes, so every language draws the same bars in the same order."""
    table = read(stacking.resource, [stacking.year_column, stacking.category])
    if table is None or table.num_rows == 0:
        return None
    years = stacking.year_of(table.column(stacking.year_column))
    codes = pc.fill_null(table.column(stacking.category), NO_CATEGORY)
    counts = (
        pa.table({"year": years, "code": codes}).drop_null().group_by(["year", "code"]).aggregate([([], "count_all")])
    )
    if counts.num_rows == 0:
        return None
    totals = (
        counts.group_by("code")
        .aggregate([("count_all", "sum")])
        .sort_by([("count_all_sum", "descending"), ("code", "ascending")])
    )
    named = totals.column("code").to_pylist()[:MAX_CATEGORIES]
    year_list = sorted(set(counts.column("year").to_pylist()))
    grid: dict[str, dict[int, int]] = {code: dict.fromkeys(year_list, 0) for code in [*named, OTHER_CATEGORIES]}
    for row in counts.to_pylist():
        code = row["code"] if row["code"] in named else OTHER_CATEGORIES
        grid[code][row["year"]] += row["count_all"]
    if not any(grid[OTHER_CATEGORIES].values()):
        del grid[OTHER_CATEGORIES]
    return Stacked(stacking, year_list, grid, named)


def _draw_stacked(stacked: Stacked, texts: Translation) -> Chart:
    stacking, year_list, grid, named = stacked.stacking, stacked.years, stacked.grid, stacked.named
    category = stacking.category
    labels = {code: _category_label(texts, category, code) for code in grid}
    bottoms = {y: sum(grid[code][y] for code in grid) for y in year_list}
    busiest = max(year_list, key=lambda y: bottoms[y])
    summary = texts.ui(
        stacking.summary,
        total=sum(bottoms.values()),
        first_year=year_list[0],
        last_year=year_list[-1],
        busiest_year=busiest,
        busiest_total=bottoms[busiest],
        largest=", ".join(f"{labels[code]} ({sum(grid[code].values())})" for code in named[:3]),
    )
    table_columns = [texts.ui("chart_year"), *labels.values(), texts.ui("chart_total")]
    rows: list[list[str | int]] = [[str(y), *[grid[code][y] for code in grid], bottoms[y]] for y in year_list]
    title = texts.ui(stacking.title)
    series = [Series(labels[code], COLOURS[i % len(COLOURS)], [grid[code][y] for y in year_list])
              for i, code in enumerate(grid)]  # fmt: skip
    svg = columns_chart(title, [str(y) for y in year_list], series, texts.ui(stacking.noun))
    return Chart(stacking.key, title, summary, svg, table_columns, rows)


def _category_label(texts: Translation, category: str, code: str) -> str:
    if code == NO_CATEGORY:
        return texts.ui("chart_none")
    if code == OTHER_CATEGORIES:
        return texts.ui("chart_other")
    return texts.label(category, code)


def _per_country(read: Columns) -> dict[str, list[int]] | None:
    """Per country: the activities held there or with it as partner country, and the projects
    one of its organisations takes part in."""
    activities = read("activities", ["country", "partner_countries"])
    partners = read("project_partners", ["project_id", "organisation_id"])
    organisations = read("organisations", ["organisation_id", "country"])
    per_country: dict[str, list[int]] = {}
    if activities is not None and activities.num_rows:
        for country, count in _activities_per_country(activities).items():
            per_country.setdefault(country, [0, 0])[0] = count
    if partners is not None and organisations is not None and partners.num_rows:
        joined = partners.join(organisations, keys="organisation_id").select(["project_id", "country"])
        for country, count in _distinct_per_country(joined, "project_id").items():
            per_country.setdefault(country, [0, 0])[1] = count
    return per_country or None


def _draw_countries(per_country: dict[str, list[int]], texts: Translation) -> Chart:
    # Ranked by count, then code: the same countries in the same order in every language.
    ranked = sorted(per_country.items(), key=lambda item: (-sum(item[1]), item[0]))[:MAX_COUNTRIES]
    names = {country: texts.label("country", country) for country, _ in ranked}
    drawn = [country for country, _ in ranked]  # the most involved on top
    series = [
        Series(texts.ui("chart_activities"), COLOURS[0], [per_country[c][0] for c in drawn]),
        Series(texts.ui("chart_projects"), COLOURS[1], [per_country[c][1] for c in drawn]),
    ]
    title = texts.ui("chart_countries_title")
    largest = ", ".join(
        texts.ui("chart_countries_summary_item", country=names[c], activities=counts[0], projects=counts[1])
        for c, counts in ranked[:3]
    )
    summary = texts.ui("chart_countries_summary", countries=len(per_country), shown=len(drawn), largest=largest)
    columns = [texts.ui("chart_country"), texts.ui("chart_activities"), texts.ui("chart_projects")]
    table_rows: list[list[str | int]] = [[_named_code(names[c], c), *counts] for c, counts in ranked]
    svg = bars(title, [names[c] for c in drawn], series, texts.ui("chart_activities_and_projects"))
    return Chart("countries", title, summary, svg, columns, table_rows)


def _named_code(name: str, code: str) -> str:
    """A country's name with its code, the code the data holds ("Belgium (BE)"); a code without a name alone."""
    return code if name == code else f"{name} ({code})"


def _activities_per_country(activities: pa.Table) -> dict[str, int]:
    """How many activities each country has, held there or as a partner country: once per activity, however
    often its row names the country. In numbers, not a group-by: a million rows name two and a half
    million countries, and a group-by of (activity, country) pairs took most of a second."""
    held, lists = activities.column("country"), activities.column("partner_countries")
    named = pa.chunked_array(
        [*held.cast(pa.string()).chunks, *pc.list_flatten(lists).cast(pa.string()).chunks], type=pa.string()
    )
    encoded = pc.dictionary_encode(named.combine_chunks())  # one code per country, for held and listed alike
    codes = pc.fill_null(encoded.indices, -1).to_numpy()
    countries = encoded.dictionary.to_pylist()
    held_codes, listed_codes = codes[: activities.num_rows], codes[activities.num_rows :]
    parents = pc.list_parent_indices(lists).to_numpy()
    # A listed country that is where the activity was held counts there already; one listed twice, once.
    listed_only = (listed_codes >= 0) & (listed_codes != held_codes[parents])
    pairs = np.sort(parents[listed_only].astype(np.int64) * len(countries) + listed_codes[listed_only], kind="stable")
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs
    counts = np.bincount(held_codes[held_codes >= 0], minlength=len(countries))
    counts += np.bincount(pairs % len(countries), minlength=len(countries)) if len(pairs) else 0
    return {country: int(count) for country, count in zip(countries, counts, strict=True) if count}


def _distinct_per_country(table: pa.Table, key: str) -> dict[str, int]:
    """How many distinct ``key`` values each country has in the table."""
    pairs = table.drop_null().group_by([key, "country"]).aggregate([])
    return {
        row["country"]: row["count_all"] for row in pairs.group_by("country").aggregate([([], "count_all")]).to_pylist()
    }
