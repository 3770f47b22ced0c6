"""A neighbourhood's area: checking what an admin enters, its centre and radius, an outline.

An area is a centre plus a radius, or a GeoJSON polygon pasted into a form. It is coarse on
purpose (a neighbourhood, never a house), so flat maths on an equirectangular projection
around the area is accurate enough and no geometry library is needed. Pure functions only:
services store what these return and templates draw `outline()` as SVG.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from node.errors import InvalidInput
from node.i18n import N_

MIN_RADIUS_M = 200  # same limits as node/services/neighbourhoods.py
MAX_RADIUS_M = 20_000
MAX_POINTS = 500  # corners in a ring
MAX_EXTENT_M = 40_000  # no neighbourhood is wider than this
MAX_GEOJSON_CHARS = 200_000
_NOT_GEOJSON = N_("this is not valid GeoJSON: paste the text of a Polygon")

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
# Points closer than this to an edge touch it. The stored 6-decimal grid is ~0.1 m, so
# two honest edges never come this close without meeting.
_TOUCH_M = 0.001
# A ring whose corners all lie this close to one line encloses nothing worth a name.
_FLAT_M = 0.5

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DECIMAL_COMMA = r"[+-]?[0-9]+(?:,[0-9]*)?"
_CENTRE_RE = re.compile(rf"({_NUMBER})\s*(?:[,;]|\s)\s*({_NUMBER})")
# "50,878 4,325" or "50,878; 4,325": a decimal comma is unambiguous only with these separators.
_CENTRE_COMMA_RE = re.compile(rf"({_DECIMAL_COMMA})\s*(?:;|\s)\s*({_DECIMAL_COMMA})")

Point = tuple[float, float]


@dataclass(frozen=True)
class Outline:
    """Screen coordinates for an area drawn in a `view_box` (north up)."""

    kind: str  # "polygon" or "circle"
    view_box: str
    points: str = ""  # SVG `points` of the polygon
    cx: float | None = None  # the circle
    cy: float | None = None
    r: float | None = None
    centre_x: float = 0.0  # the centre to mark
    centre_y: float = 0.0

    @property
    def centre_xy(self) -> tuple[float, float]:
        return (self.centre_x, self.centre_y)


def parse_centre(text: str, field: str = "centre") -> tuple[float, float]:
    """Read "50.878, 4.325" (latitude first) as (lat, lon), rounded to 4 decimals (~10 m).

    The separator may be a comma, a semicolon or spaces; with a semicolon or spaces the
    numbers may use a decimal comma, as Dutch and French keyboards suggest.
    """
    cleaned = text.strip() if isinstance(text, str) else ""
    match = None
    if len(cleaned) <= 100:
        match = _CENTRE_RE.fullmatch(cleaned) or _CENTRE_COMMA_RE.fullmatch(cleaned)
    if match is None:
        raise InvalidInput(field, N_("enter latitude and longitude, e.g. 50.878, 4.325"))
    lat, lon = (float(part.replace(",", ".")) for part in match.groups())
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also refuses inf
        raise InvalidInput(
            field, N_("latitude must be between -90 and 90 and longitude between -180 and 180")
        )
    return (round(lat, 4), round(lon, 4))


def parse_geojson_polygon(text: str, field: str = "polygon") -> list[list[float]]:
    """GeoJSON text -> the outer ring as [[lon, lat], ...], closed (first == last).

    Accepts a Polygon, a Feature with one, a FeatureCollection of exactly one such Feature
    and a MultiPolygon of exactly one polygon. An altitude after lon, lat is dropped.
    """
    if not isinstance(text, str):
        raise InvalidInput(field, _NOT_GEOJSON)
    if len(text) > MAX_GEOJSON_CHARS:
        raise InvalidInput(
            field,
            N_("the GeoJSON is too long (at most %(max)d characters)"),
            max=MAX_GEOJSON_CHARS,
        )
    try:
        data = json.loads(text.strip().lstrip("\ufeff"))
    except (ValueError, RecursionError):  # JSONDecodeError, huge integers, deep nesting
        raise InvalidInput(field, _NOT_GEOJSON) from None
    return _clean_ring(_outer_ring(data, field), field, allow_altitude=True)


def check_ring(points: Sequence[Sequence[float]], field: str = "polygon") -> list[list[float]]:
    """Validate a stored ring of [lon, lat] pairs; returns it rounded to 6 decimals (~0.1 m).

    Repeated consecutive corners are merged; the ring's direction is kept as given.
    """
    return _clean_ring(points, field, allow_altitude=False)


def centre_and_radius(ring: Sequence[Sequence[float]]) -> tuple[float, float, int]:
    """(lat, lon, radius_m): the area centroid and the distance to the farthest corner.

    The centre is rounded to 4 decimals like any stored centre, and the radius is measured
    from that rounded centre, rounded up, so the circle still covers every corner. It is at
    least MIN_RADIUS_M; `check_ring` guarantees it is at most MAX_RADIUS_M.
    """
    corners = _corners(ring)
    if not corners:
        raise InvalidInput("polygon", N_("a polygon needs at least 3 corners"))
    lon, lat = _centroid(corners)
    lat, lon = round(lat, 4), round(lon, 4)
    farthest = max(_haversine_m(lat, lon, c_lat, c_lon) for c_lon, c_lat in corners)
    return (lat, lon, max(MIN_RADIUS_M, math.ceil(farthest)))


def outline(
    *,
    ring: Sequence[Sequence[float]] | None = None,
    centre: tuple[float, float] | None = None,
    radius_m: float | None = None,
    size: int = 240,
    margin: int = 12,
) -> Outline:
    """Screen coordinates to draw an area as SVG in a size x size box, north up.

    With a ring the result is a polygon fitted to the box, longitudes scaled by cos(latitude)
    so shapes keep their proportions; `centre` (lat, lon), if given, is the point marked,
    else the centroid. Without a ring, `centre` and `radius_m` give a circle filling the box.
    """
    view_box = f"0 0 {size} {size}"
    middle = size / 2
    if ring is None:
        if centre is None or radius_m is None:
            raise ValueError("outline() needs a ring, or a centre and a radius")
        r = round(max(size / 2 - margin, 1), 1)
        return Outline(
            "circle", view_box, cx=middle, cy=middle, r=r, centre_x=middle, centre_y=middle
        )
    corners = _corners(ring)
    if not corners:
        raise ValueError("outline() needs a ring with corners")
    mark_lon, mark_lat = _centroid(corners) if centre is None else (centre[1], centre[0])
    lon0, lat0 = _middle(corners)
    projected = [_project(lon, lat, lon0, lat0) for lon, lat in corners]
    mark = _project(mark_lon, mark_lat, lon0, lat0)
    xs = [x for x, _ in projected] + [mark[0]]
    ys = [y for _, y in projected] + [mark[1]]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    scale = (size - 2 * margin) / span if span > 0 else 1.0
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def to_screen(point: Point) -> Point:
        # Screen y grows downwards, so north (larger y in metres) goes up.
        return (middle + (point[0] - mid_x) * scale, middle - (point[1] - mid_y) * scale)

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(to_screen, projected))
    centre_x, centre_y = to_screen(mark)
    return Outline(
        "polygon", view_box, points=points, centre_x=round(centre_x, 1), centre_y=round(centre_y, 1)
    )


# --- GeoJSON shapes -----------------------------------------------------------------------


def _outer_ring(data: Any, field: str) -> object:
    """The outer ring's raw coordinates from any accepted GeoJSON shape."""
    wrong_shape = InvalidInput(field, N_("expected one Polygon (or a Feature with one)"))
    kind = _kind(data)
    if kind == "FeatureCollection":
        features = data.get("features")
        data = features[0] if isinstance(features, list) and len(features) == 1 else None
        if (kind := _kind(data)) != "Feature":
            raise wrong_shape
    if kind == "Feature":
        data = data.get("geometry")
        kind = _kind(data)
    coordinates = data.get("coordinates") if isinstance(data, dict) else None
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or len(coordinates) != 1:
            raise wrong_shape
        coordinates, kind = coordinates[0], "Polygon"
    if kind != "Polygon" or not isinstance(coordinates, list):
        raise wrong_shape
    if not coordinates:
        raise InvalidInput(field, N_("a polygon needs at least 3 corners"))
    # Only the outer ring is used; holes are ignored: they would refine an area that is
    # coarse on purpose, and nothing tests whether a point lies inside it.
    return coordinates[0]


def _kind(data: object) -> object:
    return data.get("type") if isinstance(data, dict) else None


# --- checking a ring ----------------------------------------------------------------------


def _clean_ring(points: object, field: str, *, allow_altitude: bool) -> list[list[float]]:
    if not isinstance(points, list | tuple):
        raise InvalidInput(field, N_("each corner is [longitude, latitude]"))
    # A closed ring repeats its first corner; refuse before any per-corner work.
    if len(points) > MAX_POINTS + 1:
        raise InvalidInput(field, N_("too many corners (at most %(max)d)"), max=MAX_POINTS)
    ring: list[list[float]] = []
    for num, corner in enumerate(points, start=1):
        lon, lat = _corner(corner, num, field, allow_altitude)
        if not ring or ring[-1] != [lon, lat]:
            ring.append([lon, lat])
    if ring and all(50 <= lon <= 54 and 2 <= lat <= 8 for lon, lat in ring):
        # Belgium or the Netherlands typed latitude first; that spot is open sea.
        raise InvalidInput(field, N_("the coordinates look swapped: GeoJSON lists longitude first"))
    if len({(lon, lat) for lon, lat in ring}) < 3:
        raise InvalidInput(field, N_("a polygon needs at least 3 corners"))
    if ring[0] != ring[-1]:
        raise InvalidInput(field, N_("the polygon must end where it starts (close the ring)"))
    too_large = InvalidInput(
        field,
        N_("the area is too large for a neighbourhood (at most %(max)d km across)"),
        max=MAX_EXTENT_M // 1000,
    )
    corners = [(lon, lat) for lon, lat in ring[:-1]]
    lon0, lat0 = _middle(corners)
    # An area across the antimeridian looks 360 degrees wide here and is refused too.
    lons, lats = [lon for lon, _ in corners], [lat for _, lat in corners]
    width = (max(lons) - min(lons)) * _M_PER_DEGREE * math.cos(math.radians(lat0))
    if width > MAX_EXTENT_M or (max(lats) - min(lats)) * _M_PER_DEGREE > MAX_EXTENT_M:
        raise too_large
    projected = [_project(lon, lat, lon0, lat0) for lon, lat in corners]
    if _is_flat(projected):
        raise InvalidInput(field, N_("the polygon has no area"))
    if _crosses_itself(projected):
        raise InvalidInput(field, N_("the outline crosses itself"))
    # Stored with the ring is a centre and radius; across means twice that radius, which
    # also bounds the distance between any two corners.
    if centre_and_radius(ring)[2] > MAX_RADIUS_M:
        raise too_large
    return ring


def _corner(corner: object, num: int, field: str, allow_altitude: bool) -> tuple[float, float]:
    sizes = (2, 3) if allow_altitude else (2,)
    if (
        not isinstance(corner, list | tuple)
        or len(corner) not in sizes
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in corner)
    ):
        raise InvalidInput(field, N_("each corner is [longitude, latitude]"))
    try:
        lon, lat = float(corner[0]), float(corner[1])
    except OverflowError:  # an integer with hundreds of digits
        lon = lat = math.inf
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # also refuses NaN and inf
        raise InvalidInput(
            field, N_("corner %(num)d is not a valid longitude and latitude"), num=num
        )
    return (round(lon, 6) + 0.0, round(lat, 6) + 0.0)  # + 0.0 turns -0.0 into 0.0


def _is_flat(points: list[Point]) -> bool:
    """Whether every corner lies within _FLAT_M of one line (a simple ring that is not
    flat has an area, so no separate area test is needed)."""
    first = points[0]
    far = max(points, key=lambda p: math.dist(first, p))
    length = math.dist(first, far)
    if length < _FLAT_M:
        return True
    return all(abs(_cross(first, far, p)) / length < _FLAT_M for p in points)


def _crosses_itself(points: list[Point]) -> bool:
    """Whether any two edges meet other than adjacent ones at their shared corner."""
    n = len(points)
    edges = _pairs(points)
    for i in range(n):
        # Adjacent edges may only share their corner; folding back along each other is a
        # spike of no width.
        before, corner, after = points[i - 1], points[i], points[(i + 1) % n]
        if _side(corner, before, after) == 0 and _dot(corner, before, after) > 0:
            return True
    # Sweep along x so that only edges whose x ranges overlap are compared: ring edges are
    # mostly short, which keeps this near linear instead of 125 000 pair tests at 500 corners.
    order = sorted(range(n), key=lambda i: min(edges[i][0][0], edges[i][1][0]))
    for position, i in enumerate(order):
        a, b = edges[i]
        right = max(a[0], b[0]) + _TOUCH_M
        low, high = min(a[1], b[1]) - _TOUCH_M, max(a[1], b[1]) + _TOUCH_M
        for j in order[position + 1 :]:
            c, d = edges[j]
            if min(c[0], d[0]) > right:
                break
            if max(c[1], d[1]) < low or min(c[1], d[1]) > high:
                continue
            if abs(i - j) in (1, n - 1):  # adjacent, checked above
                continue
            if _segments_meet(a, b, c, d):
                return True
    return False


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    ends = ((c, d, a), (c, d, b), (a, b, c), (a, b, d))
    sides = [_side(*end) for end in ends]
    if sides[0] * sides[1] < 0 and sides[2] * sides[3] < 0:
        return True  # a proper crossing
    # A corner on the other edge: touching, which still pinches the outline.
    return any(side == 0 and _within(*end) for side, end in zip(sides, ends, strict=True))


def _side(a: Point, b: Point, c: Point) -> int:
    """Which side of the line a->b point c is on: 1 left, -1 right, 0 within _TOUCH_M."""
    cross = _cross(a, b, c)
    if abs(cross) <= _TOUCH_M * math.dist(a, b):
        return 0
    return 1 if cross > 0 else -1


def _within(a: Point, b: Point, c: Point) -> bool:
    """Whether c, known to be on the line a-b, lies between a and b."""
    return all(min(a[k], b[k]) - _TOUCH_M <= c[k] <= max(a[k], b[k]) + _TOUCH_M for k in (0, 1))


def _cross(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _dot(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[0] - a[0]) + (b[1] - a[1]) * (c[1] - a[1])


# --- projection and measures --------------------------------------------------------------


def _corners(ring: Sequence[Sequence[float]]) -> list[Point]:
    """(lon, lat) corners of a stored ring, without the closing repeat."""
    corners = [(float(point[0]), float(point[1])) for point in ring]
    if len(corners) > 1 and corners[0] == corners[-1]:
        corners.pop()
    return corners


def _middle(corners: list[Point]) -> Point:
    """The middle of the corners' bounding box, (lon, lat): the projection's origin."""
    lons, lats = [lon for lon, _ in corners], [lat for _, lat in corners]
    return ((max(lons) + min(lons)) / 2, (max(lats) + min(lats)) / 2)


def _project(lon: float, lat: float, lon0: float, lat0: float) -> Point:
    """Metres east and north of (lon0, lat0); exact enough across a few tens of km."""
    return (
        (lon - lon0) * _M_PER_DEGREE * math.cos(math.radians(lat0)),
        (lat - lat0) * _M_PER_DEGREE,
    )


def _pairs(points: list[Point]) -> list[tuple[Point, Point]]:
    return list(zip(points, points[1:] + points[:1], strict=True))


def _signed_area(points: list[Point]) -> float:
    return sum(_cross((0.0, 0.0), p, q) for p, q in _pairs(points)) / 2


def _centroid(corners: list[Point]) -> Point:
    """The area centroid (lon, lat); the corners' average if the ring has no area."""
    lon0, lat0 = _middle(corners)
    points = [_project(lon, lat, lon0, lat0) for lon, lat in corners]
    area = _signed_area(points)
    if abs(area) < 1e-6:
        x = sum(p[0] for p in points) / len(points)
        y = sum(p[1] for p in points) / len(points)
    else:
        pairs = _pairs(points)
        x = sum((p[0] + q[0]) * _cross((0.0, 0.0), p, q) for p, q in pairs) / (6 * area)
        y = sum((p[1] + q[1]) * _cross((0.0, 0.0), p, q) for p, q in pairs) / (6 * area)
    cos_lat = max(math.cos(math.radians(lat0)), 1e-12)
    return (lon0 + x / (_M_PER_DEGREE * cos_lat), lat0 + y / _M_PER_DEGREE)


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
