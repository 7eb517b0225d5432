"""The catalogue's charts: counts from the latest release, drawn by matplotlib as inline SVG.

SVG in the page needs no script, no CDN and no second file: the catalogue works offline and
from any static file host. Text stays text (svg.fonttype none), so it is selectable and read
by screen readers; each chart also has a text alternative and its numbers as a table.
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

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, after matplotlib.use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_CATEGORIES = 8  # themes or sectors drawn by name; the rest are summed as "other"
MAX_COUNTRIES = 25
COLOURS = ["#1b6ca8", "#e07b39", "#3a9e6f", "#c23b4c", "#7d5ba6", "#8c6d31", "#d664be", "#5f7f8f", "#b0b0b0"]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    summary: str  # the text alternative: what the chart shows, in one or two sentences
    svg: str
    columns: list[str]  # the numbers behind it, as a table
    rows: list[list[str | int]]


Columns = Callable[[str, list[str]], "pa.Table | None"]  # (resource, columns) -> those columns, or None


def charts(release_dir: Path) -> list[Chart]:
    """The three charts of a release folder's data."""
    return _draw(lambda name, columns: _read(release_dir / f"{name}.parquet", columns))


def charts_of_tables(tables: dict[str, pa.Table]) -> list[Chart]:
    """The same charts from the tables of a release about to be written (a run draws them while
    it writes the files)."""
    return _draw(lambda name, columns: tables[name].select(columns) if name in tables else None)


def _draw(read: Columns) -> list[Chart]:
    """A chart with nothing to count is left out, and so is one whose columns a schema change
    renamed or retyped: the page goes without it."""
    made = []
    for draw in (_themes, _sectors, _countries):
        try:
            made.append(draw(read))
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            made.append(None)
    return [chart for chart in made if chart is not None]


def _themes(read: Columns) -> Chart | None:
    return _stacked(
        "activities-per-theme", "Activities per theme and year", read("activities", ["start_date", "theme"]),
        lambda t: pc.year(t.column("start_date")), "theme", "activities",
    )  # fmt: skip


def _sectors(read: Columns) -> Chart | None:
    return _stacked(
        "projects-per-sector", "Projects per sector and call year", read("projects", ["call_year", "sector"]),
        lambda t: t.column("call_year"), "sector", "projects",
    )  # fmt: skip


def _read(path: Path, columns: list[str]) -> pa.Table | None:
    return pq.read_table(path, columns=columns) if path.exists() else None


def _stacked(
    key: str,
    title: str,
    table: pa.Table | None,
    year_of: Callable[[pa.Table], pa.ChunkedArray],
    category: str,
    noun: str,
) -> Chart | None:
    """A bar per year, stacked by category (the most frequent ones; the rest as "other")."""
    if table is None or table.num_rows == 0:
        return None
    years = year_of(table)
    labels = pc.fill_null(table.column(category), "(none)")
    counts = (
        pa.table({"year": years, "label": labels})
        .drop_null()
        .group_by(["year", "label"])
        .aggregate([([], "count_all")])
    )
    if counts.num_rows == 0:
        return None
    totals = (
        counts.group_by("label")
        .aggregate([("count_all", "sum")])
        .sort_by([("count_all_sum", "descending"), ("label", "ascending")])
    )
    named = totals.column("label").to_pylist()[:MAX_CATEGORIES]
    year_list = sorted(set(counts.column("year").to_pylist()))
    grid: dict[str, dict[int, int]] = {label: dict.fromkeys(year_list, 0) for label in [*named, "other"]}
    for row in counts.to_pylist():
        label = row["label"] if row["label"] in named else "other"
        grid[label][row["year"]] += row["count_all"]
    if not any(grid["other"].values()):
        del grid["other"]
    figure, axes = _figure()
    bottoms = dict.fromkeys(year_list, 0)
    for index, (label, by_year) in enumerate(grid.items()):
        values = [by_year[y] for y in year_list]
        axes.bar([str(y) for y in year_list], values, bottom=[bottoms[y] for y in year_list],
                 label=label.replace("_", " "), color=COLOURS[index % len(COLOURS)])  # fmt: skip
        for y, value in zip(year_list, values, strict=True):
            bottoms[y] += value
    axes.set_ylabel(noun)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    total = sum(bottoms.values())
    busiest = max(year_list, key=lambda y: bottoms[y])
    summary = (
        f"Stacked bars: {total} {noun} from {year_list[0]} to {year_list[-1]}, most in {busiest} ({bottoms[busiest]}). "
        f"The largest {category}s: "
        + ", ".join(f"{label.replace('_', ' ')} ({sum(grid[label].values())})" for label in named[:3])
        + "."
    )
    rows: list[list[str | int]] = [[str(y), *[grid[label][y] for label in grid], bottoms[y]] for y in year_list]
    return Chart(key, title, summary, _svg(figure, title), ["year", *grid, "total"], rows)


def _countries(read: Columns) -> Chart | None:
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
    ranked = sorted(per_country.items(), key=lambda item: (-sum(item[1]), item[0]))[:MAX_COUNTRIES]
    names = [country for country, _ in ranked][::-1]
    figure, axes = _figure(height=max(2.5, 0.28 * len(names) + 1))
    axes.barh(names, [per_country[c][0] for c in names], color=COLOURS[0], label="activities")
    axes.barh(
        names,
        [per_country[c][1] for c in names],
        left=[per_country[c][0] for c in names],
        color=COLOURS[1],
        label="projects",
    )
    axes.set_xlabel("activities and projects")
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    title = "Countries involved"
    summary = (
        f"Horizontal bars for {len(per_country)} countries (the {len(names)} most involved shown): "
        + ", ".join(f"{c} ({per_country[c][0]} activities, {per_country[c][1]} projects)" for c, _ in ranked[:3])
        + "."
    )
    rows = [[country, counts[0], counts[1]] for country, counts in ranked]
    return Chart("countries", title, summary, _svg(figure, title), ["country", "activities", "projects"], rows)


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
