"""The catalogue's world map: a count per country as a choropleth, drawn as inline SVG.

Inline SVG needs no script, no tile server and no second file, like the charts (charts.py). The
shapes are Natural Earth's countries as the npm package world-atlas 2.0.2 ships them (TopoJSON,
public domain), unpacked by `make setup` under web/node_modules. Decoding a file and writing each
country's path is done once per resolution (``_outline`` is cached); a map then only picks colours.

The projection is Equal Earth (Šavrič, Patterson and Jenny, 2018): equal-area, so a country's share
of the colour is its share of the land, and a polynomial, so it needs no library. Antarctica is left
out: it would make the drawing an eighth taller, for a continent that is no country.

Colour says the bin, never the number alone: each shaded country carries its number in a <title>
(a tooltip), the legend gives each bin's range, and ``WorldMap.missing`` names the counted countries
the map cannot show, for the page to list under it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import textwrap
from dataclasses import dataclass
from html import escape
from typing import Any

import pycountry

from partnerdata.config import layout

RESOLUTIONS = ("110m", "50m")  # the files `make setup` unpacks; world-atlas also has 10m
WIDTH = 1000  # viewBox units; the page's CSS scales the svg to its column (figure svg { max-width: 100% })
MARGIN = 2
# ColorBrewer's sequential Blues, light to dark. The three darkest have a contrast of 4.2, 7.9 and 12.8
# with white (WCAG 1.4.11 asks 3:1 of graphics); a country in the two lightest has its number in its title.
PALETTE = ("#bdd7e7", "#6baed6", "#3182bd", "#08519c", "#08306b")
NO_DATA = "#e5e5e5"  # a count of 0, no count, or a shape with no ISO code: lighter than the lightest blue
TEXT = "#1d1d1d"  # the page's text colour: 16.8:1 on white
SWATCH_EDGE = "#767676"  # 4.5:1 on white, so the light swatches have a visible edge
FONT_SIZE = 16  # viewBox units: 11px or more wherever the map is shown 690px wide or wider
MIN_AREA = 1.0  # square viewBox units (about a pixel at 1000px): a country smaller is not drawn but missing
ANTARCTICA = "010"
# Features Natural Earth gives no ISO 3166-1 numeric code. Kosovo has the user-assigned XK that the EU and
# most data sets use; N. Cyprus, Somaliland, Indian Ocean Ter. and Siachen Glacier stay grey, with no code.
UNCODED = {"Kosovo": "XK"}
# Which palette steps a map with 1 to 5 bins uses: spread out, and always the darkest.
STEPS = {1: (4,), 2: (2, 4), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}

Point = tuple[int, int]  # in tenths of a viewBox unit: coordinates rounded to one decimal, exactly


@dataclass(frozen=True)
class WorldMap:
    svg: str  # an <svg> element for inline use (no XML declaration), with its title and legend
    drawn: list[str]  # alpha-2 codes with a count > 0 that the map shows, sorted
    missing: list[str]  # alpha-2 codes with a count > 0 the map lacks (too small at this scale, or unknown), sorted


@dataclass(frozen=True)
class _Country:
    code: str | None  # ISO 3166-1 alpha-2, or None for a shape with no code (drawn grey)
    path: str  # the d attribute


@dataclass(frozen=True)
class _Outline:
    countries: tuple[_Country, ...]  # in the order of the TopoJSON file; one per code
    height: float  # of the map in viewBox units, WIDTH wide


def world_map(
    counts: dict[str, int], labels: dict[str, str], title: str, legend_title: str, resolution: str = "110m"
) -> WorldMap:
    """A choropleth of ``counts`` (alpha-2 code -> count >= 0). ``labels`` names the countries in the
    page's language (the code when a name is missing); every text is escaped, for labels come from data."""
    negative = sorted(code for code, count in counts.items() if count < 0)
    if negative:
        raise ValueError(f"world_map: counts must be >= 0; negative for {', '.join(negative)}")
    outline = _outline(resolution)
    positive = {code: count for code, count in counts.items() if count > 0}
    bins = _bins(sorted(positive.values()))
    steps = STEPS.get(len(bins), ())
    paths = []
    for country in outline.countries:
        code = f' data-country="{escape(country.code)}"' if country.code else ""
        if country.code is None or country.code not in positive:
            paths.append(f'<path class="country shade-0"{code} fill="{NO_DATA}" d="{country.path}"/>')
            continue
        count = positive[country.code]
        step = steps[next(index for index, (_, high) in enumerate(bins) if count <= high)]
        name = escape(labels.get(country.code) or country.code)
        paths.append(
            f'<path class="country shade-{step + 1}"{code} fill="{PALETTE[step]}" d="{country.path}">'
            f"<title>{name}: {count}</title></path>"
        )
    legend, legend_height = _legend(legend_title, bins, steps, top=outline.height + 8)
    label_id = "worldmap-" + _digest(counts, labels, title, legend_title, resolution)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="worldmap" viewBox="0 0 {WIDTH} '
        f'{math.ceil(outline.height + 8 + legend_height)}" role="img" aria-labelledby="{label_id}">'
        f'<title id="{label_id}">{escape(title)}</title>'
        '<g class="countries" stroke="#ffffff" stroke-width=".4" stroke-linejoin="round" fill-rule="evenodd">\n'
        + "\n".join(paths)
        + f"\n</g>{legend}</svg>"
    )
    on_map = {country.code for country in outline.countries}
    return WorldMap(
        svg=svg,
        drawn=sorted(code for code in positive if code in on_map),
        missing=sorted(code for code in positive if code not in on_map),
    )


def _bins(values: list[int]) -> list[tuple[int, int]]:
    """Up to five (low, high) ranges of whole numbers over the sorted positive counts: one per distinct
    value when there are five or fewer, else quintiles of the countries (ties merge, so fewer may remain)."""
    if not values:
        return []
    distinct = sorted(set(values))
    if len(distinct) <= len(PALETTE):
        highs = distinct
    else:
        parts = len(PALETTE)
        highs = sorted({values[math.ceil(k * len(values) / parts) - 1] for k in range(1, parts + 1)})
    lows = [values[0], *(high + 1 for high in highs[:-1])]
    return list(zip(lows, highs, strict=True))


def _legend(legend_title: str, bins: list[tuple[int, int]], steps: tuple[int, ...], top: float) -> tuple[str, float]:
    """The legend below the map: its title, then a swatch per bin (0 first), wrapped when a row is full.
    Text widths are estimated (0.6 em a character), so the layout needs no font metrics."""
    line = FONT_SIZE * 1.4
    lines = textwrap.wrap(legend_title, width=int((WIDTH - 2 * MARGIN) / (0.6 * FONT_SIZE))) or [""]
    parts = [
        f'<text x="{MARGIN}" y="{_fmt(top + line * (row + 1) - 4)}">{escape(text)}</text>'
        for row, text in enumerate(lines)
    ]
    items = [("0", NO_DATA)] + [
        (f"{low}" if low == high else f"{low}\u2013{high}", PALETTE[step])
        for (low, high), step in zip(bins, steps, strict=True)
    ]
    x, y = float(MARGIN), top + line * len(lines) + 6
    for text, colour in items:
        width = 20 + 6 + 0.6 * FONT_SIZE * len(text) + 24
        if x > MARGIN and x + width > WIDTH:
            x, y = float(MARGIN), y + line
        parts.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="20" height="14" fill="{colour}" stroke="{SWATCH_EDGE}"/>'
            f'<text x="{_fmt(x + 26)}" y="{_fmt(y + 13)}">{escape(text)}</text>'
        )
        x += width
    body = "".join(parts)
    group = f'<g class="legend" font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="{TEXT}">{body}</g>'
    return group, y + line - top


def _digest(counts: dict[str, int], labels: dict[str, str], title: str, legend_title: str, resolution: str) -> str:
    """An id for the svg's <title> that two different maps on one page do not share, and the same
    map always has (same input, same bytes)."""
    key = json.dumps([sorted(counts.items()), sorted(labels.items()), title, legend_title, resolution])
    return hashlib.sha256(key.encode()).hexdigest()[:10]


@functools.lru_cache(maxsize=len(RESOLUTIONS))
def _outline(resolution: str) -> _Outline:
    """Every country's path at this resolution, projected and scaled to WIDTH, decoded once."""
    topology = _read_topology(resolution)
    arcs = _arcs(topology)
    features = [
        (_alpha_2(geometry), [_project(part) for ring in _arc_rings(geometry) for part in _cut(_stitch(ring, arcs))])
        for geometry in topology["objects"]["countries"]["geometries"]
        if geometry.get("id") != ANTARCTICA
    ]
    points = [point for _, rings in features for ring in rings for point in ring]
    west, east = min(x for x, _ in points), max(x for x, _ in points)
    south, north = min(y for _, y in points), max(y for _, y in points)
    scale = (WIDTH - 2 * MARGIN) / (east - west)

    def place(x: float, y: float) -> Point:  # y grows downwards in SVG
        return round(((x - west) * scale + MARGIN) * 10), round(((north - y) * scale + MARGIN) * 10)

    paths: dict[str, list[tuple[str, float]]] = {}
    uncoded: list[tuple[str, float]] = []
    for code, rings in features:
        drawn = [_ring_path([place(x, y) for x, y in ring]) for ring in rings]
        kept = [(path, area) for path, area in drawn if path]
        if code is None:
            uncoded.extend(kept)
        else:
            paths.setdefault(code, []).extend(kept)  # 50m: Ashmore and Cartier Is. are Australia's (036) too
    countries = [
        _Country(code, "".join(path for path, _ in parts))
        for code, parts in paths.items()
        if sum(area for _, area in parts) >= MIN_AREA
    ]
    countries += [_Country(None, path) for path, area in uncoded if area >= MIN_AREA]
    return _Outline(tuple(countries), (north - south) * scale + 2 * MARGIN)


def _read_topology(resolution: str) -> dict[str, Any]:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"world_map: resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    path = layout.WEB_PACKAGES / "world-atlas" / f"countries-{resolution}.json"
    if not path.is_file():
        raise RuntimeError(
            f"{path} not found: the world map's shapes come from the npm package world-atlas; run `make setup`"
        )
    topology: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return topology


def _alpha_2(geometry: dict[str, Any]) -> str | None:
    """The alpha-2 code of a TopoJSON feature, from its ISO 3166-1 numeric id (a string: "056")."""
    if "id" in geometry:
        country = pycountry.countries.get(numeric=geometry["id"])
    else:
        name = geometry.get("properties", {}).get("name", "")
        if name in UNCODED:
            return UNCODED[name]
        country = pycountry.countries.get(name=name) if name else None
    return country.alpha_2 if country else None


def _arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The arcs in degrees (longitude, latitude). A quantized topology stores each arc as integer steps
    from the point before (the first from 0, 0), to be scaled and translated into degrees."""
    (scale_x, scale_y), (shift_x, shift_y) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for step_x, step_y in arc:
            x, y = x + step_x, y + step_y
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        decoded.append(points)
    return decoded


def _arc_rings(geometry: dict[str, Any]) -> list[list[int]]:
    """A feature's rings as lists of arc indices; outer rings and holes alike (the paths fill even-odd)."""
    if geometry["type"] == "Polygon":
        rings: list[list[int]] = geometry["arcs"]
        return rings
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["arcs"] for ring in polygon]
    return []  # a null geometry: nothing to draw


def _stitch(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """A ring's points: its arcs joined end to start. Index ~i (negative) is arc i reversed; each arc
    begins where the one before it ends, so that point is not repeated."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def _cut(ring: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring cut in two where it crosses the antimeridian (Fiji, Russia's Chukotka and Wrangel Island).

    world-atlas is made for spherical drawing (d3-geo clips there): a ring may step from 179.9 to -180.
    Unwrapped to run on past 180 (or -180), it is clipped on both sides of that meridian, and the far
    part is moved back by 360 degrees."""
    unwrapped = ring[:1]
    for longitude, latitude in ring[1:]:
        previous = unwrapped[-1][0]
        unwrapped.append((longitude + 360 * round((previous - longitude) / 360), latitude))
    longitudes = [longitude for longitude, _ in unwrapped]
    edge = 180.0 if max(longitudes) > 180 else -180.0 if min(longitudes) < -180 else None
    if edge is None:
        return [ring]
    near = _clip(unwrapped, edge, keep_below=edge > 0)
    far = [(longitude - math.copysign(360, edge), latitude) for longitude, latitude in _clip(unwrapped, edge, edge < 0)]
    return [part for part in (near, far) if len(part) >= 3]


def _clip(ring: list[tuple[float, float]], edge: float, keep_below: bool) -> list[tuple[float, float]]:
    """The part of a ring on one side of the meridian ``edge`` (Sutherland-Hodgman against one line: a
    concave ring may keep zero-width bridges along the line, which fill nothing)."""
    inside = (lambda x: x <= edge) if keep_below else (lambda x: x >= edge)
    kept = []
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        if inside(x0):
            kept.append((x0, y0))
        if inside(x0) != inside(x1):
            kept.append((edge, y0 + (y1 - y0) * (edge - x0) / (x1 - x0)))
    return kept


def _project(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [_equal_earth(longitude, latitude) for longitude, latitude in ring]


def _equal_earth(longitude: float, latitude: float) -> tuple[float, float]:
    """Equal Earth (Šavrič, Patterson and Jenny 2018, eq. 2), on a unit sphere; y grows northwards."""
    a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
    m = math.sqrt(3) / 2
    theta = math.asin(m * math.sin(math.radians(latitude)))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = math.radians(longitude) * math.cos(theta) / (m * (a1 + 3 * a2 * t2 + t6 * (7 * a3 + 9 * a4 * t2)))
    y = theta * (a1 + a2 * t2 + t6 * (a3 + a4 * t2))
    return x, y


def _ring_path(points: list[Point]) -> tuple[str, float]:
    """A ring as compact path data and its area in square units; ("", 0) when rounding left no area.

    A move to the first point, then relative lines (deltas of the rounded points, so no error adds
    up), points that round onto the one before dropped, and "z" instead of the closing point."""
    kept = points[:1]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    if len(kept) > 1 and kept[-1] == kept[0]:
        kept.pop()
    twice_area = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(kept, kept[1:] + kept[:1], strict=True)))
    if len(kept) < 3 or twice_area == 0:
        return "", 0.0
    numbers = [kept[0][0], kept[0][1]]
    for (x0, y0), (x1, y1) in zip(kept, kept[1:], strict=False):
        numbers += [x1 - x0, y1 - y0]
    text = [_tenths(number) for number in numbers]
    data = "M" + text[0] + _joined(text[1:2]) + "l" + text[2] + _joined(text[3:]) + "z"
    return data, twice_area / 200  # tenths squared: 100 to a square unit


def _joined(numbers: list[str]) -> str:
    """Numbers one after another: a minus sign separates them by itself, else a space."""
    return "".join(number if number.startswith("-") else " " + number for number in numbers)


def _tenths(value: int) -> str:
    """An integer count of tenths as the shortest decimal: 12 -> "1.2", -3 -> "-.3", 20 -> "2"."""
    whole, tenth = divmod(abs(value), 10)
    sign = "-" if value < 0 else ""
    if tenth == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{tenth}"


def _fmt(value: float) -> str:
    return _tenths(round(value * 10))
