"""A neighbourhood's area: parsing GeoJSON and centres, centre and radius, the drawn outline."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import geo
from node.errors import InvalidInput

# A pentagon around Jette, [lon, lat] as GeoJSON has it, closed.
JETTE = [
    [4.31, 50.87],
    [4.335, 50.868],
    [4.345, 50.88],
    [4.327, 50.892],
    [4.308, 50.884],
    [4.31, 50.87],
]
M_PER_DEGREE = 6_371_008.8 * math.pi / 180


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def fan_centroid(ring: list[list[float]]) -> tuple[float, float]:
    """(lat, lon) centroid by splitting the polygon into triangles from its first corner."""
    lat0 = ring[0][1]
    k = math.cos(math.radians(lat0))
    points = [(lon * k, lat) for lon, lat in ring[:-1]]
    total = cx = cy = 0.0
    a = points[0]
    for b, c in itertools.pairwise(points[1:]):
        area = ((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])) / 2
        total += area
        cx += area * (a[0] + b[0] + c[0]) / 3
        cy += area * (a[1] + b[1] + c[1]) / 3
    return (cy / total, cx / total / k)


def polygon(ring: list) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def square(lat: float, lon: float, side_m: float) -> list[list[float]]:
    dlat = side_m / M_PER_DEGREE
    dlon = side_m / (M_PER_DEGREE * math.cos(math.radians(lat)))
    corners = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat]]
    return [*corners, corners[0]]


# --- accepted shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Polygon", "coordinates": [JETTE]},
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [JETTE]},
        },
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [JETTE]}}
            ],
        },
        {"type": "MultiPolygon", "coordinates": [[JETTE]]},
        {"type": "Polygon", "coordinates": [[[lon, lat, 35.5] for lon, lat in JETTE]]},
        # A hole is ignored: only the outer ring describes the area.
        {
            "type": "Polygon",
            "coordinates": [
                JETTE,
                [[4.32, 50.875], [4.33, 50.875], [4.325, 50.88], [4.32, 50.875]],
            ],
        },
    ],
    ids=["polygon", "feature", "collection", "multipolygon", "altitude", "hole"],
)
def test_accepted_shapes_give_the_outer_ring(document: dict) -> None:
    assert geo.parse_geojson_polygon(json.dumps(document)) == JETTE


def test_centre_and_radius_of_jette() -> None:
    lat, lon, radius = geo.centre_and_radius(JETTE)
    expected_lat, expected_lon = fan_centroid(JETTE)
    assert haversine_m(lat, lon, expected_lat, expected_lon) < 15  # 4 decimals is ~10 m
    farthest = max(haversine_m(lat, lon, c_lat, c_lon) for c_lon, c_lat in JETTE)
    assert radius == math.ceil(farthest)
    assert 1000 < radius < 2000


def test_ring_is_cleaned_rounded_and_direction_kept() -> None:
    ring = [[4.3100004, 50.87], [4.335, 50.868], [4.335, 50.868], [4.345, 50.88], [4.31, 50.87]]
    assert geo.check_ring(ring) == [[4.31, 50.87], [4.335, 50.868], [4.345, 50.88], [4.31, 50.87]]
    backwards = JETTE[::-1]
    assert geo.check_ring(backwards) == backwards
    assert geo.parse_geojson_polygon("\ufeff " + polygon(JETTE) + "\n") == JETTE


def test_small_area_gets_the_minimum_radius() -> None:
    assert geo.centre_and_radius(square(50.9, 4.3, 60))[2] == geo.MIN_RADIUS_M


def test_most_corners_allowed_is_quick() -> None:
    corners = [
        [
            4.3 + 0.05 * math.cos(2 * math.pi * i / 500),
            50.8 + 0.03 * math.sin(2 * math.pi * i / 500),
        ]
        for i in range(geo.MAX_POINTS)
    ]
    ring = geo.check_ring([*corners, corners[0]])
    assert len(ring) == geo.MAX_POINTS + 1


# --- refused polygons ---------------------------------------------------------------------

NOT_GEOJSON = "this is not valid GeoJSON: paste the text of a Polygon"
WRONG_SHAPE = "expected one Polygon (or a Feature with one)"
NOT_A_CORNER = "each corner is [longitude, latitude]"
BAD_CORNER = "corner %(num)d is not a valid longitude and latitude"
FEW_CORNERS = "a polygon needs at least 3 corners"
NOT_CLOSED = "the polygon must end where it starts (close the ring)"
CROSSES = "the outline crosses itself"
NO_AREA = "the polygon has no area"
TOO_LARGE = "the area is too large for a neighbourhood (at most %(max)d km across)"
SWAPPED = "the coordinates look swapped: GeoJSON lists longitude first"
A, B, C, D = [4.31, 50.87], [4.33, 50.87], [4.33, 50.88], [4.31, 50.88]


@pytest.mark.parametrize(
    ("text", "template", "params"),
    [
        ("{nope", NOT_GEOJSON, {}),
        ("", NOT_GEOJSON, {}),
        ("[" * 100_000 + "]" * 100_000, NOT_GEOJSON, {}),
        ('{"type": "Polygon", "coordinates": [[[1' + "0" * 5000 + ", 5]]]}", NOT_GEOJSON, {}),
        ("x" * 200_001, "the GeoJSON is too long (at most %(max)d characters)", {"max": 200_000}),
        ("[]", WRONG_SHAPE, {}),
        ('{"type": "Point", "coordinates": [4.3, 50.8]}', WRONG_SHAPE, {}),
        ('{"type": "Polygon", "coordinates": {}}', WRONG_SHAPE, {}),
        ('{"type": "Feature", "geometry": null}', WRONG_SHAPE, {}),
        (json.dumps({"type": "MultiPolygon", "coordinates": [[JETTE], [JETTE]]}), WRONG_SHAPE, {}),
        (json.dumps({"type": "FeatureCollection", "features": []}), WRONG_SHAPE, {}),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [{"type": "Polygon", "coordinates": [JETTE]}],
                }
            ),
            WRONG_SHAPE,
            {},
        ),
        ('{"type": "Polygon", "coordinates": []}', FEW_CORNERS, {}),
        (polygon([A, B, C, "D", A]), NOT_A_CORNER, {}),
        (polygon([A, B, C, [4.31], A]), NOT_A_CORNER, {}),
        (polygon([A, B, C, [4.31, "50.88"], A]), NOT_A_CORNER, {}),
        (polygon([A, B, C, [4.31, 50.88, 1, 2], A]), NOT_A_CORNER, {}),
        (polygon([A, B, C, [True, 50.88], A]), NOT_A_CORNER, {}),
        (json.dumps({"type": "Polygon", "coordinates": JETTE}), NOT_A_CORNER, {}),
        (polygon([A, [200, 50.87], C, A]), BAD_CORNER, {"num": 2}),
        (polygon([A, B, [4.33, -91], A]), BAD_CORNER, {"num": 3}),
        (polygon([A, B, C, [float("nan"), 50.88], A]), BAD_CORNER, {"num": 4}),
        (polygon([[float("inf"), 50.87], B, C, A]), BAD_CORNER, {"num": 1}),
        (
            '{"type": "Polygon", "coordinates": [[[4, 1e400], [4, 5], [5, 5], [4, 1e400]]]}',
            BAD_CORNER,
            {"num": 1},
        ),
        (polygon([A, B, A]), FEW_CORNERS, {}),
        (polygon([A, B, B, A, A]), FEW_CORNERS, {}),
        (polygon([A, B, C, D]), NOT_CLOSED, {}),
        (polygon([A, C, B, D, A]), CROSSES, {}),  # a bow tie
        (polygon([A, B, C, [4.32, 50.87], [4.31, 50.86], A]), CROSSES, {}),  # a corner on an edge
        (polygon([A, B, C, B, D, A]), CROSSES, {}),  # a spike out and back
        (polygon([A, [4.32, 50.87], B, A]), NO_AREA, {}),
        (polygon([A, [4.32, 50.875], [4.33, 50.88], A]), NO_AREA, {}),
        (polygon(square(50.9, 4.3, 45_000)), TOO_LARGE, {"max": 40}),
        # 38 km wide but a thin triangle: its centre is over 20 km from the far corner.
        (polygon([[4.0, 50.9], [4.54, 50.9], [4.54, 50.91], [4.0, 50.9]]), TOO_LARGE, {"max": 40}),
        (polygon([[179.9, 10], [-179.9, 10], [-179.9, 10.1], [179.9, 10]]), TOO_LARGE, {"max": 40}),
        (polygon([[lat, lon] for lon, lat in JETTE]), SWAPPED, {}),
    ],
)
def test_refused_polygons(text: str, template: str, params: dict) -> None:
    with pytest.raises(InvalidInput) as caught:
        geo.parse_geojson_polygon(text, field="area")
    assert caught.value.field == "area"
    assert caught.value.template == template
    assert caught.value.params == params


def test_too_many_corners() -> None:
    corners = [
        [
            4.3 + 0.05 * math.cos(2 * math.pi * i / 501),
            50.8 + 0.03 * math.sin(2 * math.pi * i / 501),
        ]
        for i in range(geo.MAX_POINTS + 1)
    ]
    with pytest.raises(InvalidInput) as caught:
        geo.parse_geojson_polygon(polygon([*corners, corners[0]]))
    assert (caught.value.field, caught.value.template) == (
        "polygon",
        "too many corners (at most %(max)d)",
    )
    assert caught.value.message == "too many corners (at most 500)"


def test_the_corner_number_is_filled_in() -> None:
    with pytest.raises(InvalidInput) as caught:
        geo.check_ring([A, B, [4.33, 95.0], A])
    assert caught.value.message == "corner 3 is not a valid longitude and latitude"


def test_stored_rings_have_no_altitude() -> None:
    with pytest.raises(InvalidInput) as caught:
        geo.check_ring([[*A, 10], [*B, 10], [*C, 10], [*A, 10]])
    assert caught.value.template == NOT_A_CORNER
    with pytest.raises(InvalidInput) as caught:
        geo.check_ring("4.31,50.87")  # type: ignore[arg-type]
    assert caught.value.template == NOT_A_CORNER


# --- centres ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50.878, 4.325", (50.878, 4.325)),
        ("50.878,4.325", (50.878, 4.325)),
        (" 50.878 ; 4.325 ", (50.878, 4.325)),
        ("50.878   4.325", (50.878, 4.325)),
        ("50,878 4,325", (50.878, 4.325)),
        ("50,878; 4,325", (50.878, 4.325)),
        ("-33.8568, 151.2153", (-33.8568, 151.2153)),
        ("50.87812345, 4.32549", (50.8781, 4.3255)),
        ("90, -180", (90.0, -180.0)),
    ],
)
def test_parse_centre(text: str, expected: tuple[float, float]) -> None:
    assert geo.parse_centre(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("", "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("50.878", "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("Jette", "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("50.878, 4.325, 12", "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("nan, 4.3", "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("5" * 101, "enter latitude and longitude, e.g. 50.878, 4.325"),
        ("91, 4.3", "latitude must be between -90 and 90 and longitude between -180 and 180"),
        ("50.8, -180.5", "latitude must be between -90 and 90 and longitude between -180 and 180"),
        (
            "9" * 60 + ", 4",
            "latitude must be between -90 and 90 and longitude between -180 and 180",
        ),
    ],
)
def test_refused_centres(text: str, template: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        geo.parse_centre(text, field="where")
    assert (caught.value.field, caught.value.template) == ("where", template)


# --- outline ------------------------------------------------------------------------------


def screen_points(points: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in points.split())]


def test_polygon_outline_fits_the_box_north_up() -> None:
    drawn = geo.outline(ring=JETTE, size=240, margin=12)
    assert (drawn.kind, drawn.view_box) == ("polygon", "0 0 240 240")
    points = screen_points(drawn.points)
    assert len(points) == len(JETTE) - 1
    assert all(12 <= v <= 228 for point in points for v in point)
    # The box is filled along the longer side.
    assert max(y for _, y in points) - min(y for _, y in points) == pytest.approx(216, abs=0.2)
    northmost = max(range(5), key=lambda i: JETTE[i][1])
    southmost = min(range(5), key=lambda i: JETTE[i][1])
    assert points[northmost][1] == min(y for _, y in points)
    assert points[southmost][1] == max(y for _, y in points)
    eastmost = max(range(5), key=lambda i: JETTE[i][0])
    assert points[eastmost][0] == max(x for x, _ in points)
    assert 12 < drawn.centre_x < 228 and 12 < drawn.centre_y < 228
    assert drawn.centre_xy == (drawn.centre_x, drawn.centre_y)


def test_a_square_in_metres_draws_square() -> None:
    points = screen_points(geo.outline(ring=square(50.9, 4.3, 1500), size=300, margin=10).points)
    width = max(x for x, _ in points) - min(x for x, _ in points)
    height = max(y for _, y in points) - min(y for _, y in points)
    assert width == pytest.approx(height, rel=0.02)
    assert width == pytest.approx(280, abs=0.2)


def test_given_centre_is_marked() -> None:
    lat, lon, _ = geo.centre_and_radius(JETTE)
    drawn = geo.outline(ring=JETTE, centre=(lat, lon))
    computed = geo.outline(ring=JETTE)
    assert drawn.centre_xy == pytest.approx(computed.centre_xy, abs=1.5)


def test_circle_outline() -> None:
    drawn = geo.outline(centre=(50.878, 4.325), radius_m=800, size=200, margin=10)
    assert (drawn.kind, drawn.view_box, drawn.points) == ("circle", "0 0 200 200", "")
    assert (drawn.cx, drawn.cy) == (100, 100) and drawn.r is not None and drawn.r > 0
    assert drawn.centre_xy == (100, 100)


def test_outline_needs_an_area() -> None:
    with pytest.raises(ValueError, match="needs"):
        geo.outline(centre=(50.878, 4.325))


# --- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=40,
)
numbers = st.integers(-200, 200) | st.floats(-200, 200) | st.floats()
# Corners on a coarse grid near Jette: many of these rings cross or touch themselves or
# are flat, and some are valid, which exercises every geometric check.
grid_corners = st.tuples(st.integers(0, 4), st.integers(0, 4)).map(
    lambda ij: [4.3 + ij[0] * 0.005, 50.87 + ij[1] * 0.005]
)
corner_lists = st.lists(st.lists(numbers, min_size=1, max_size=4) | json_values, max_size=12)
rings = (corner_lists | st.lists(grid_corners, min_size=3, max_size=8)).map(
    lambda ring: ring + ring[:1]
)
geojsonish = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["Polygon", "MultiPolygon", "Feature", "FeatureCollection", "Point"]
        ),
        "coordinates": st.one_of(json_values, rings.map(lambda r: [r]), rings.map(lambda r: [[r]])),
        "geometry": st.one_of(
            st.none(), rings.map(lambda r: {"type": "Polygon", "coordinates": [r]})
        ),
        "features": json_values,
    }
)


def parses_or_refuses(text: str) -> None:
    try:
        ring = geo.parse_geojson_polygon(text)
    except InvalidInput:
        return
    assert ring[0] == ring[-1]
    assert geo.check_ring(ring) == ring


@given(st.text())
def test_any_text_parses_or_is_refused(text: str) -> None:
    parses_or_refuses(text)


@settings(deadline=None)
@given(json_values | geojsonish)
def test_any_json_parses_or_is_refused(value: object) -> None:
    parses_or_refuses(json.dumps(value))


@settings(deadline=None)
@given(
    lat=st.floats(49.5, 51.5),
    lon=st.floats(2.6, 6.4),
    radius=st.floats(300, 5000),
    jitters=st.lists(st.floats(0, 0.4), min_size=3, max_size=24),
)
def test_convex_polygons_in_belgium(
    lat: float, lon: float, radius: float, jitters: list[float]
) -> None:
    # One corner per equal sector, shifted by under 0.4 of a sector: gaps stay under 180
    # degrees, so the ring is convex and holds the point it was drawn around.
    sector = 2 * math.pi / len(jitters)
    angles = [(i + jitter) * sector for i, jitter in enumerate(jitters)]
    corners = [
        [
            lon + radius * math.cos(a) / (M_PER_DEGREE * math.cos(math.radians(lat))),
            lat + radius * math.sin(a) / M_PER_DEGREE,
        ]
        for a in angles
    ]
    ring = geo.parse_geojson_polygon(polygon([*corners, corners[0]]))
    c_lat, c_lon, radius_m = geo.centre_and_radius(ring)
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lats) <= c_lat <= max(lats) and min(lons) <= c_lon <= max(lons)
    distances = [haversine_m(c_lat, c_lon, p_lat, p_lon) for p_lon, p_lat in ring]
    assert min(distances) <= radius_m <= max(distances) + 1


def exactly_simple(cells: list[tuple[int, int]]) -> bool:
    """Whether a ring of grid cells is a simple polygon with an area, in exact integers."""

    def cross(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]) -> int:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    def on(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]) -> bool:
        return cross(a, b, c) == 0 and all(
            min(a[k], b[k]) <= c[k] <= max(a[k], b[k]) for k in (0, 1)
        )

    points = [p for i, p in enumerate(cells) if p != cells[i - 1]] or cells[:1]
    n = len(points)
    if len(set(points)) < 3 or all(cross(points[0], points[1], p) == 0 for p in points):
        return False
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        before, corner, after = points[i - 1], points[i], points[(i + 1) % n]
        if on(corner, before, after) or on(corner, after, before):
            return False  # folds back along the previous edge
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue
            (a, b), (c, d) = edges[i], edges[j]
            if cross(a, b, c) * cross(a, b, d) < 0 and cross(c, d, a) * cross(c, d, b) < 0:
                return False
            if on(a, b, c) or on(a, b, d) or on(c, d, a) or on(c, d, b):
                return False
    return True


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=3, max_size=8))
def test_grid_rings_are_refused_exactly_when_not_simple(cells: list[tuple[int, int]]) -> None:
    corners = [[4.3 + i * 0.005, 50.87 + j * 0.005] for i, j in cells]
    try:
        geo.parse_geojson_polygon(polygon([*corners, corners[0]]))
    except InvalidInput as refused:
        assert not exactly_simple(cells), refused.template
    else:
        assert exactly_simple(cells)


@given(st.text() | st.text(alphabet="0123456789.,; -+e\t"))
def test_parse_centre_returns_or_refuses(text: str) -> None:
    try:
        lat, lon = geo.parse_centre(text)
    except InvalidInput:
        return
    assert -90 <= lat <= 90 and -180 <= lon <= 180
