"""Stacked bar charts written as inline SVG: bars of years up, bars of countries across.

The catalogue's charts are a few dozen rectangles, ticks and labels, so they are written here as
text: a chart costs a millisecond, where a plotting library took a third of a second each, in every
language, on every publish. Text stays text (selectable, read by screen readers), every text is
escaped (labels come from the data and the translations), and the same numbers give the same bytes.

Widths of texts are estimated from their length (``_width``): generous for a sans-serif face, so a
label never runs into the bars; the page's CSS scales the drawing to its column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

TEXT = "#1d1d1d"  # the page's text colour
GRID = "#d9d9d9"
AXIS = "#767676"  # 4.5:1 on white
FONT = 12  # px, the ticks and the legend
CHAR = 0.62  # an average sans-serif character's width, in ems (a little wide, to be safe)
SWATCH = 11
PLOT_WIDTH = 500  # of a column chart's bars
PLOT_HEIGHT = 220
ROW = 18  # of a bar chart's rows
BAR = 0.72  # a bar's share of its band
TICKS = 5  # about this many gridlines


@dataclass(frozen=True)
class Series:
    """One colour of a stacked chart: its name and a value per category (a year, a country)."""

    label: str
    colour: str
    values: Sequence[int]


def columns(title: str, categories: Sequence[str], series: Sequence[Series], value_label: str) -> str:
    """Stacked columns, a column per category (left to right), the series stacked bottom up, the legend
    on the right."""
    totals = _totals(categories, series)
    ticks = _ticks(max(totals, default=0))
    tick_width = max(_width(_number(t)) for t in ticks)
    left = 8 + FONT + 8 + tick_width + 6  # the rotated value label, the tick labels
    top, bottom = 10, FONT + 14
    legend_left = left + PLOT_WIDTH + 20
    legend_width = max((SWATCH + 6 + _width(s.label) for s in series), default=0)
    width = math.ceil(legend_left + legend_width + 8)
    height = max(top + PLOT_HEIGHT + bottom, top + len(series) * (FONT + 8))
    scale = PLOT_HEIGHT / ticks[-1]
    band = PLOT_WIDTH / max(len(categories), 1)
    base = top + PLOT_HEIGHT
    parts = _gridlines_across(ticks, left, left + PLOT_WIDTH, lambda v: base - v * scale)
    parts.append(
        f'<text x="{8 + FONT:.1f}" y="{top + PLOT_HEIGHT / 2:.1f}" transform="rotate(-90 {8 + FONT:.1f} '
        f'{top + PLOT_HEIGHT / 2:.1f})" text-anchor="middle">{escape(value_label)}</text>'
    )
    every = max(1, math.ceil((_width("0000") + 6) / band))  # a label per band, or per few when they crowd
    for index, category in enumerate(categories):
        x = left + index * band + band * (1 - BAR) / 2
        stacked = 0
        for one in series:
            value = one.values[index]
            if value:
                y = base - (stacked + value) * scale
                parts.append(_rect(x, y, band * BAR, value * scale, one.colour, f"{one.label}, {category}: {value}"))
            stacked += value
        if index % every == 0:
            parts.append(
                f'<text x="{left + (index + 0.5) * band:.1f}" y="{base + FONT + 4:.1f}" text-anchor="middle">'
                f"{escape(category)}</text>"
            )
    parts.append(f'<path d="M{left:.1f} {base:.1f}H{left + PLOT_WIDTH:.1f}" stroke="{AXIS}"/>')
    parts += _legend(series, legend_left, top)
    return _svg(title, width, height, parts)


def bars(title: str, categories: Sequence[str], series: Sequence[Series], value_label: str) -> str:
    """Stacked bars, a bar per category (top to bottom), the series stacked left to right, the legend above."""
    totals = _totals(categories, series)
    ticks = _ticks(max(totals, default=0))
    left = 8 + max((_width(c) for c in categories), default=0) + 8
    plot_width = 440
    legend_height = FONT + 12
    top = 8 + legend_height
    plot_height = ROW * max(len(categories), 1)
    width = math.ceil(left + plot_width + 8 + _width(_number(ticks[-1])) / 2)
    height = math.ceil(top + plot_height + 2 * FONT + 22)
    scale = plot_width / ticks[-1]
    parts = _legend_row(series, left, 8)
    parts += _gridlines_down(ticks, top, top + plot_height, lambda v: left + v * scale)
    for index, category in enumerate(categories):
        y = top + index * ROW
        stacked = 0
        for one in series:
            value = one.values[index]
            if value:
                x = left + stacked * scale
                parts.append(_rect(x, y + ROW * (1 - BAR) / 2, value * scale, ROW * BAR, one.colour,
                                   f"{category}, {one.label}: {value}"))  # fmt: skip
            stacked += value
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + ROW / 2 + FONT * 0.35:.1f}" text-anchor="end">{escape(category)}</text>'
        )
    parts.append(f'<path d="M{left:.1f} {top:.1f}V{top + plot_height:.1f}" stroke="{AXIS}"/>')
    parts.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{top + plot_height + 2 * FONT + 14:.1f}" text-anchor="middle">'
        f"{escape(value_label)}</text>"
    )
    return _svg(title, width, height, parts)


def _totals(categories: Sequence[str], series: Sequence[Series]) -> list[int]:
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(f"series {one.label!r}: {len(one.values)} values for {len(categories)} categories")
        if any(v < 0 for v in one.values):
            raise ValueError(f"series {one.label!r}: a stacked chart counts, and a count is never negative")
    return [sum(one.values[i] for one in series) for i in range(len(categories))]


def _ticks(most: int) -> list[int]:
    """Whole numbers from 0 past ``most``, a step of 1, 2 or 5 times a power of ten: about TICKS of them."""
    if most <= 0:
        return [0, 1]
    rough = most / TICKS
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= rough)
    top = math.ceil(most / step) * step
    return list(range(0, top + 1, step))


def _gridlines_across(ticks: list[int], x0: float, x1: float, y_of: Callable[[int], float]) -> list[str]:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<path d="M{x0:.1f} {y:.1f}H{x1:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{x0 - 6:.1f}" y="{y + FONT * 0.35:.1f}" text-anchor="end">{_number(tick)}</text>')
    return parts


def _gridlines_down(ticks: list[int], y0: float, y1: float, x_of: Callable[[int], float]) -> list[str]:
    parts = []
    for tick in ticks:
        x = x_of(tick)
        parts.append(f'<path d="M{x:.1f} {y0:.1f}V{y1:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y1 + FONT + 4:.1f}" text-anchor="middle">{_number(tick)}</text>')
    return parts


def _legend(series: Sequence[Series], left: float, top: float) -> list[str]:
    """The series top down, the last drawn (the top of a stack) first, as a reader sees the stack."""
    parts = []
    for index, one in enumerate(reversed(series)):
        y = top + index * (FONT + 8)
        parts.append(_swatch(left, y, one.colour))
        parts.append(f'<text x="{left + SWATCH + 6:.1f}" y="{y + SWATCH - 1:.1f}">{escape(one.label)}</text>')
    return parts


def _legend_row(series: Sequence[Series], left: float, top: float) -> list[str]:
    parts, x = [], left
    for one in series:
        parts.append(_swatch(x, top, one.colour))
        parts.append(f'<text x="{x + SWATCH + 6:.1f}" y="{top + SWATCH - 1:.1f}">{escape(one.label)}</text>')
        x += SWATCH + 6 + _width(one.label) + 18
    return parts


def _swatch(x: float, y: float, colour: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{SWATCH}" height="{SWATCH}" fill="{colour}"/>'


def _rect(x: float, y: float, width: float, height: float, colour: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def _svg(title: str, width: int, height: int, parts: list[str]) -> str:
    return (
        f'<svg role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="{FONT}" fill="{TEXT}">' + "".join(parts) + "</svg>"
    )


def _width(text: str) -> float:
    return len(text) * FONT * CHAR


def _number(value: int) -> str:
    return f"{value:,}"
