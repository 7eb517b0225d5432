"""The catalogue's charts: counts from the latest release, drawn by matplotlib as inline SVG.

SVG in the page needs no script, no CDN and no second file: the catalogue works offline and
from any static file host. Text stays text (svg.fonttype none), so it is selectable and read
by screen readers; each chart also has a text alternative and its numbers as a table.

Every text is one language's (a Translation: the interface texts ``chart_*`` and the vocabulary
labels); the counts, their order and the charts' keys are the same in every language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.config.translations import ENGLISH, Translation, load_translations

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, after matplotlib.use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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


def charts(release_dir: Path, translation: Translation | None = None) -> list[Chart]:
    """The three charts of a release folder's data, in ``translation``'s language (English when None)."""
    return _draw(lambda name, columns: _read(release_dir / f"{name}.parquet", columns), translation)


def charts_of_tables(tables: dict[str, pa.Table], translation: Translation | None = None) -> list[Chart]:
    """The same charts from the tables of a release about to be written (a run draws them while
    it writes the files)."""
    return _draw(lambda name, columns: _select(tables, name, columns), translation)


def _draw(read: Columns, translation: Translation | None) -> list[Chart]:
    """A chart with nothing to count is left out, and so is one whose columns a schema change
    renamed or retyped: the page goes without it."""
    texts = translation or load_translations()[ENGLISH]
    made = []
    for draw in (
        lambda: _stacked(THEMES, read, texts),
        lambda: _stacked(SECTORS, read, texts),
        lambda: _countries(read, texts),
    ):
        # Not KeyError: a missing column is ArrowInvalid however it is read, and a KeyError is a text
        # en.yaml lacks, a mistake to show rather than a chart to leave out.
        try:
            made.append(draw())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            made.append(None)
    return [chart for chart in made if chart is not None]


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


def _stacked(stacking: Stacking, read: Columns, texts: Translation) -> Chart | None:
    """A bar per year, stacked by category (the most frequent ones; the rest as "other"). The categories are
    ranked by their codes, so every language draws the same bars in the same order."""
    category = stacking.category
    table = read(stacking.resource, [stacking.year_column, category])
    if table is None or table.num_rows == 0:
        return None
    years = stacking.year_of(table.column(stacking.year_column))
    codes = pc.fill_null(table.column(category), NO_CATEGORY)
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
    labels = {code: _category_label(texts, category, code) for code in grid}
    figure, axes = _figure()
    bottoms = dict.fromkeys(year_list, 0)
    for index, (code, by_year) in enumerate(grid.items()):
        values = [by_year[y] for y in year_list]
        axes.bar([str(y) for y in year_list], values, bottom=[bottoms[y] for y in year_list],
                 label=labels[code], color=COLOURS[index % len(COLOURS)])  # fmt: skip
        for y, value in zip(year_list, values, strict=True):
            bottoms[y] += value
    axes.set_ylabel(texts.ui(stacking.noun))
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
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
    columns = [texts.ui("chart_year"), *labels.values(), texts.ui("chart_total")]
    rows: list[list[str | int]] = [[str(y), *[grid[code][y] for code in grid], bottoms[y]] for y in year_list]
    title = texts.ui(stacking.title)
    return Chart(stacking.key, title, summary, _svg(figure, title), columns, rows)


def _category_label(texts: Translation, category: str, code: str) -> str:
    if code == NO_CATEGORY:
        return texts.ui("chart_none")
    if code == OTHER_CATEGORIES:
        return texts.ui("chart_other")
    return texts.label(category, code)


def _countries(read: Columns, texts: Translation) -> Chart | None:
    """Per country: the activities held there or with it as partner country, and the projects
    one of its organisations takes part in."""
    activities = read("activities", ["country", "partner_countries"])
    partners = read("project_partners", ["project_id", "organisation_id"])
    organisations = read("organisations", ["organisation_id", "country"])
    per_country: dict[str, list[int]] = {}
    if activities is not None and activities.num_rows:
        listed = pa.table(
            {
                "activity_id": pc.list_parent_indices(activities.column("partner_countries")),
                "country": pc.list_flatten(activities.column("partner_countries")),
            }
        )
        rows = pa.array(np.arange(activities.num_rows, dtype=np.int64))
        held = pa.table({"activity_id": rows, "country": activities.column("country")})
        both = pa.concat_tables([held, listed.cast(held.schema)])
        for country, count in _distinct_per_country(both, "activity_id").items():
            per_country.setdefault(country, [0, 0])[0] = count
    if partners is not None and organisations is not None and partners.num_rows:
        joined = partners.join(organisations, keys="organisation_id").select(["project_id", "country"])
        for country, count in _distinct_per_country(joined, "project_id").items():
            per_country.setdefault(country, [0, 0])[1] = count
    if not per_country:
        return None
    # Ranked by count, then code: the same countries in the same order in every language.
    ranked = sorted(per_country.items(), key=lambda item: (-sum(item[1]), item[0]))[:MAX_COUNTRIES]
    names = {country: texts.label("country", country) for country, _ in ranked}
    drawn = [country for country, _ in ranked][::-1]  # barh draws bottom up: the most involved on top
    figure, axes = _figure(height=max(2.5, 0.28 * len(drawn) + 1))
    places = list(range(len(drawn)))  # by position, not by name: two codes of one name keep two bars
    activity_counts = [per_country[c][0] for c in drawn]
    axes.barh(places, activity_counts, color=COLOURS[0], label=texts.ui("chart_activities"))
    axes.barh(
        places,
        [per_country[c][1] for c in drawn],
        left=activity_counts,
        color=COLOURS[1],
        label=texts.ui("chart_projects"),
    )
    axes.set_yticks(places, [names[c] for c in drawn])
    axes.set_xlabel(texts.ui("chart_activities_and_projects"))
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    title = texts.ui("chart_countries_title")
    largest = ", ".join(
        texts.ui("chart_countries_summary_item", country=names[c], activities=counts[0], projects=counts[1])
        for c, counts in ranked[:3]
    )
    summary = texts.ui("chart_countries_summary", countries=len(per_country), shown=len(drawn), largest=largest)
    columns = [texts.ui("chart_country"), texts.ui("chart_activities"), texts.ui("chart_projects")]
    table_rows: list[list[str | int]] = [[_named_code(names[c], c), *counts] for c, counts in ranked]
    return Chart("countries", title, summary, _svg(figure, title), columns, table_rows)


def _named_code(name: str, code: str) -> str:
    """A country's name with its code, the code the data holds ("Belgium (BE)"); a code without a name alone."""
    return code if name == code else f"{name} ({code})"


def _distinct_per_country(table: pa.Table, key: str) -> dict[str, int]:
    """How many distinct ``key`` values each country has in the table."""
    pairs = table.drop_null().group_by([key, "country"]).aggregate([])
    return {
        row["country"]: row["count_all"] for row in pairs.group_by("country").aggregate([([], "count_all")]).to_pylist()
    }


def _figure(height: float = 3.2) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, height), layout="constrained")
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def _svg(figure: Figure, title: str) -> str:
    """The figure as an <svg> element for inline use: same bytes for the same data."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "partnerdata", "font.family": "sans-serif"}):
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
