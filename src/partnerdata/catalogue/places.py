"""Where a country is, for the catalogue's dct:spatial: its bounding box and a centre, as WKT.

From Natural Earth's 1:50m map subunits (public domain), which the country-bounding-boxes package carries.
A country's box is that of its home part when Natural Earth marks one (France without its overseas
departments, the United States without Alaska and Hawaii), else of all its subunits (Belgium's three
regions); its centre is the centre of that box, an approximation a portal's map search is content with.
"""

from __future__ import annotations

import functools

import country_bounding_boxes

Box = tuple[float, float, float, float]  # west, south, east, north (longitude, latitude)


@functools.cache
def country_box(code: str) -> Box | None:
    """The bounding box of the country with this ISO 3166-1 alpha-2 code, or None when the map has none."""
    subunits = list(country_bounding_boxes.country_subunits_by_iso_code(code))
    home = [s for s in subunits if s.homepart == 1] or subunits
    if not home:
        return None
    return (min(s.bbox[0] for s in home), min(s.bbox[1] for s in home),
            max(s.bbox[2] for s in home), max(s.bbox[3] for s in home))  # fmt: skip


def box_wkt(box: Box) -> str:
    west, south, east, north = (round(value, 4) for value in box)
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


def centre_wkt(box: Box) -> str:
    west, south, east, north = box
    return f"POINT({round((west + east) / 2, 4)} {round((south + north) / 2, 4)})"
