"""Neighbourhoods: their coarse areas and connectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from node import keys, validation
from node.errors import Conflict, InvalidInput, NotFound
from node.models import Account, Connector, Neighbourhood

MIN_RADIUS_M = 200  # smaller areas could single out a street
MAX_RADIUS_M = 20_000


def _coordinate(field: str, value: float | None, limit: float) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(field, "must be a number") from None
    if not -limit <= number <= limit:
        raise InvalidInput(field, f"must be between -{limit} and {limit}")
    # Four decimals (about 10 m) is plenty for a neighbourhood's centre.
    return round(number, 4)


def check_polygon(polygon: Sequence[Sequence[float]] | None) -> list[list[float]] | None:
    if polygon is None:
        return None
    points: list[list[float]] = []
    for point in polygon:
        if len(point) != 2:
            raise InvalidInput("polygon", "each point is [longitude, latitude]")
        lon = _coordinate("polygon", point[0], 180)
        lat = _coordinate("polygon", point[1], 90)
        points.append([lon, lat])
    if len(points) < 4 or points[0] != points[-1]:
        raise InvalidInput("polygon", "needs at least 3 corners and must end where it starts")
    return points


async def create_neighbourhood(
    slug: str,
    name: str,
    *,
    commune: str = "",
    country: str = "BE",
    description: Mapping[str, str] | None = None,
    centre: tuple[float, float] | None = None,
    radius_m: int | None = None,
    polygon: Sequence[Sequence[float]] | None = None,
) -> Neighbourhood:
    clean_slug = validation.slug("slug", slug)
    country_code = (country or "").strip().upper()
    if len(country_code) != 2 or not country_code.isalpha():
        raise InvalidInput("country", "expected a two-letter country code such as BE or NL")
    texts = validation.translated_text("description", description, max_len=2000)
    lat = lon = None
    if centre is not None:
        lat = _coordinate("centre", centre[0], 90)
        lon = _coordinate("centre", centre[1], 180)
    if radius_m is not None:
        radius_m = validation.integer("radius_m", radius_m, MIN_RADIUS_M, MAX_RADIUS_M)
        if centre is None:
            raise InvalidInput("radius_m", "a radius needs a centre")
    if await Neighbourhood.filter(slug=clean_slug).exists():
        raise Conflict(f"a neighbourhood {clean_slug!r} exists")
    private_pem, public_pem = await keys.generate_key_pair()
    return await Neighbourhood.create(
        private_key_pem=private_pem,
        public_key_pem=public_pem,
        slug=clean_slug,
        name=validation.line("name", name, min_len=2, max_len=100),
        commune=validation.optional_line("commune", commune, max_len=100) or "",
        country=country_code,
        description=texts,
        centre_lat=lat,
        centre_lon=lon,
        radius_m=radius_m,
        polygon=check_polygon(polygon),
    )


async def get_neighbourhood(slug: str) -> Neighbourhood:
    hood = await Neighbourhood.get_or_none(slug=slug)
    if hood is None:
        raise NotFound(f"no neighbourhood {slug!r}")
    return hood


async def list_neighbourhoods() -> list[Neighbourhood]:
    return await Neighbourhood.all().order_by("name")


async def add_connector(neighbourhood: Neighbourhood, account: Account) -> Connector:
    if await Connector.filter(neighbourhood=neighbourhood, account=account).exists():
        raise Conflict(f"@{account.username} is already a connector here")
    return await Connector.create(neighbourhood=neighbourhood, account=account)


async def is_connector(account: Account | None, neighbourhood_id: int) -> bool:
    if account is None or not account.is_active:
        return False
    return await Connector.filter(neighbourhood_id=neighbourhood_id, account_id=account.id).exists()
