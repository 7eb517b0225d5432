"""The world map (catalogue.worldmap) drawn from the real world-atlas shapes that `make setup` unpacks,
read back as XML the way a browser's parser would see it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pycountry
import pytest

from partnerdata.catalogue import worldmap
from partnerdata.catalogue.worldmap import NO_DATA, PALETTE, TEXT, world_map
from partnerdata.config import layout

SVG = "{http://www.w3.org/2000/svg}"
COUNTS = {"BE": 12, "KE": 3, "MT": 2, "SG": 5, "XK": 1, "FR": 0, "ZZ": 4}
LABELS = {"BE": "Belgium", "KE": "Kenya", "MT": "Malta", "SG": "Singapore", "XK": "Kosovo", "FR": "France"}


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def shaded(root: ET.Element) -> dict[str, str]:
    """data-country -> the <title> text, for each path with a shade other than no data."""
    return {
        path.get("data-country", ""): path.findtext(f"{SVG}title", "")
        for path in root.iter(f"{SVG}path")
        if "shade-0" not in path.get("class", "").split()
    }


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(colour: str) -> float:
    return 1.05 / (relative_luminance(colour) + 0.05)


def test_counted_countries_are_shaded_with_their_number_in_a_title():
    result = world_map(COUNTS, LABELS, "Activities per country", "Activities")
    root = parsed(result.svg)
    titles = shaded(root)
    assert titles["BE"] == "Belgium: 12"
    assert titles["KE"] == "Kenya: 3"
    assert titles["XK"] == "Kosovo: 1"  # Natural Earth gives Kosovo no ISO numeric id
    assert result.drawn == ["BE", "KE", "XK"]
    assert sorted(titles) == result.drawn  # one shaded path per drawn code, and no other
    france = [p for p in root.iter(f"{SVG}path") if p.get("data-country") == "FR"]
    assert [p.get("class") for p in france] == ["country shade-0"]  # a count of 0 is no data
    assert france[0].get("fill") == NO_DATA and france[0].find(f"{SVG}title") is None


def test_countries_the_shapes_lack_are_missing_for_the_caller_to_list():
    """Malta and Singapore are not in the 110m file at all; ZZ is no country."""
    result = world_map(COUNTS, LABELS, "Activities per country", "Activities")
    assert result.missing == ["MT", "SG", "ZZ"]
    assert 'data-country="MT"' not in result.svg and "Malta" not in result.svg
    small_but_drawn = world_map({"LU": 1}, {}, "t", "l")  # Luxembourg: about 2 square units at 110m
    assert small_but_drawn.drawn == ["LU"] and small_but_drawn.missing == []


def test_at_50m_too_small_to_see_is_missing_too():
    """50m has Malta's shape, a quarter of a square unit: left out, and listed, rather than a speck."""
    result = world_map({"MT": 2, "MU": 1, "BE": 3}, {}, "t", "l", resolution="50m")
    assert result.drawn == ["BE", "MU"]
    assert result.missing == ["MT"]


def test_the_svg_is_one_titled_image_that_css_scales():
    result = world_map(COUNTS, LABELS, "Activities per country", "Activities")
    assert result.svg.startswith("<svg ") and "<?xml" not in result.svg
    root = parsed(result.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("width") is None and root.get("height") is None
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Activities per country"
    assert root.get("aria-labelledby") == title.get("id")
    assert re.fullmatch(r"0 0 1000 \d+", root.get("viewBox", ""))
    assert len(result.svg.encode()) < 150_000


def test_the_legend_gives_each_bin_in_readable_dark_text():
    counts = {code: n for n, code in enumerate(["BE", "KE", "DE", "FR", "IT", "ES", "PL", "NL", "SE", "BR"], 1)}
    root = parsed(world_map(counts, {}, "t", "Projects per country").svg)
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert float(legend.get("font-size", "0")) >= 11
    assert legend.get("fill") == TEXT and contrast_with_white(TEXT) >= 4.5
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == ["Projects per country", "0", "1\u20132", "3\u20134", "5\u20136", "7\u20138", "9\u201310"]
    swatches = [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    assert swatches == [NO_DATA, *PALETTE]


def test_a_single_distinct_count_makes_one_bin_in_the_darkest_shade():
    root = parsed(world_map({"BE": 4, "KE": 4}, {}, "t", "l").svg)
    fills = {p.get("fill") for p in root.iter(f"{SVG}path") if p.get("data-country") in {"BE", "KE"}}
    assert fills == {PALETTE[-1]}
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")][1:] == ["0", "4"]


def test_a_label_defaults_to_the_code():
    assert shaded(parsed(world_map({"DE": 7}, {}, "t", "l").svg)) == {"DE": "DE: 7"}


def test_every_text_is_escaped():
    hostile = "</title><script>alert(\"x\")</script>&amp; 'q'"
    result = world_map({"BE": 1}, {"BE": hostile}, hostile, hostile)
    assert "<script>" not in result.svg
    root = parsed(result.svg)
    assert root.findtext(f"{SVG}title") == hostile
    assert shaded(root) == {"BE": f"{hostile}: 1"}
    assert hostile in [t.text for t in root.iter(f"{SVG}text")]


def test_same_input_same_bytes():
    first = world_map(COUNTS, LABELS, "Activities per country", "Activities")
    reordered = dict(reversed(list(COUNTS.items())))
    assert world_map(reordered, LABELS, "Activities per country", "Activities") == first
    other = world_map({**COUNTS, "BE": 13}, LABELS, "Activities per country", "Activities")
    assert other.svg != first.svg
    assert parsed(other.svg).get("aria-labelledby") != parsed(first.svg).get("aria-labelledby")


def test_the_shapes_are_decoded_once_per_resolution():
    world_map({"BE": 1}, {}, "t", "l")
    assert worldmap._outline("110m") is worldmap._outline("110m")


def test_the_darker_steps_pass_non_text_contrast_on_white():
    contrasts = [contrast_with_white(colour) for colour in PALETTE]
    assert all(contrast >= 3 for contrast in contrasts[2:])
    assert contrasts == sorted(contrasts)  # light to dark
    assert contrast_with_white(NO_DATA) < contrasts[0]  # no data is lighter than the lightest step


def test_antarctica_is_left_out_and_every_other_shape_has_its_iso_code():
    topology = worldmap._read_topology("110m")
    outline = worldmap._outline("110m")
    codes = [country.code for country in outline.countries]
    coded = [code for code in codes if code]
    assert "AQ" not in codes and len(coded) == len(set(coded))  # a path per country
    named = {g["properties"]["name"] for g in topology["objects"]["countries"]["geometries"] if "id" not in g}
    assert named == {"Kosovo", "N. Cyprus", "Somaliland"}
    assert codes.count(None) == 2  # N. Cyprus and Somaliland, grey
    iso = {country.alpha_2 for country in pycountry.countries}
    assert set(coded) - iso == {"XK"}


def test_negative_counts_and_unknown_resolutions_are_refused():
    with pytest.raises(ValueError, match="negative for BE"):
        world_map({"BE": -1}, {}, "t", "l")
    with pytest.raises(ValueError, match="110m, 50m"):
        world_map({"BE": 1}, {}, "t", "l", resolution="10m")


def test_without_the_shapes_the_error_says_to_run_make_setup(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "WEB_PACKAGES", tmp_path)  # a project whose `make setup` never ran
    with pytest.raises(RuntimeError, match=r"countries-110m\.json not found.*run `make setup`"):
        worldmap._read_topology("110m")
