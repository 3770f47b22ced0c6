"""Neighbourhoods: creating and editing them (with their coarse area and icon), archiving,
and their connectors.

Changes made by people are allowed to node admins only (`by`); the command line passes
no `by`, as its operator runs the node. Every change is recorded in the audit log and,
when other servers follow the neighbourhood, federated as an `Update` of its Group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from node import db, events, geo, keys, validation
from node import raw_sql as sql
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.images import ProcessedImage
from node.models import Account, Connector, Neighbourhood, Role
from node.request_memo import remembered
from node.services import audit, media, remote_follows
from node.services.handles import check_free
from node.timeutil import utcnow

MIN_RADIUS_M = geo.MIN_RADIUS_M  # smaller areas could single out a street
MAX_RADIUS_M = geo.MAX_RADIUS_M


def _require_admin(by: Account | None) -> None:
    if by is not None and (by.role != Role.ADMIN or not by.is_active):
        raise PermissionDenied("only the node's admins manage neighbourhoods")


def _country(value: str | None) -> str:
    code = (value or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise InvalidInput("country", N_("expected a two-letter country code such as BE or NL"))
    return code


@dataclass(slots=True)
class Area:
    """A checked area: a centre with a radius, or a polygon (whose centre is derived)."""

    lat: float
    lon: float
    radius_m: int | None
    polygon: list[list[float]] | None


def area_from(
    centre: tuple[float, float] | None,
    radius_m: int | str | None,
    polygon: Sequence[Sequence[float]] | None,
) -> Area | None:
    """Validate an area given as values (the command line, the demo, stored rows)."""
    if polygon is not None:
        ring = geo.check_ring(polygon)
        lat, lon, radius = geo.centre_and_radius(ring)
        return Area(lat, lon, None, ring)
    if centre is None:
        if radius_m not in (None, ""):
            raise InvalidInput("radius_m", N_("a radius needs a centre"))
        return None
    lat, lon = geo.parse_centre(f"{centre[0]}, {centre[1]}")
    radius = (
        validation.integer("radius_m", radius_m, MIN_RADIUS_M, MAX_RADIUS_M)
        if radius_m not in (None, "")
        else None
    )
    return Area(lat, lon, radius, None)


@dataclass(slots=True)
class NeighbourhoodForm:
    """What the admin form sends: texts as typed, the area as a centre or GeoJSON."""

    name: str = ""
    commune: str = ""
    country: str = "BE"
    description: Mapping[str, str] = field(default_factory=dict)
    area_kind: str = "circle"  # "circle" or "polygon"
    centre: str = ""
    radius_m: str = ""
    geojson: str = ""
    # Follows from other servers wait for an admin's approval (/admin/federation/network).
    manually_approves_followers: bool = False


def _check_texts(checker: validation.FieldChecker, form: NeighbourhoodForm) -> None:
    checker.check("name", lambda: validation.line("name", form.name, min_len=2, max_len=100))
    checker.check(
        "commune", lambda: validation.optional_line("commune", form.commune, max_len=100) or ""
    )
    checker.check("country", lambda: _country(form.country))
    checker.check(
        "description",
        lambda: validation.written_texts("description", form.description, max_len=2000),
    )


def _check_area(checker: validation.FieldChecker, form: NeighbourhoodForm) -> Area | None:
    if form.area_kind == "polygon":
        ring = checker.check("geojson", lambda: geo.parse_geojson_polygon(form.geojson, "geojson"))
        if ring is None:
            return None
        lat, lon, _ = geo.centre_and_radius(ring)  # type: ignore[arg-type]
        return Area(lat, lon, None, ring)  # type: ignore[arg-type]
    centre = checker.check("centre", lambda: geo.parse_centre(form.centre))
    radius = checker.check(
        "radius_m",
        lambda: validation.integer("radius_m", form.radius_m, MIN_RADIUS_M, MAX_RADIUS_M),
    )
    if centre is None or radius is None:
        return None
    return Area(centre[0], centre[1], radius, None)  # type: ignore[index,arg-type]


def _apply_area(hood: Neighbourhood, area: Area | None) -> None:
    hood.centre_lat = area.lat if area else None
    hood.centre_lon = area.lon if area else None
    hood.radius_m = area.radius_m if area else None
    hood.polygon = area.polygon if area else None


async def create_neighbourhood(
    slug: str,
    name: str,
    *,
    commune: str = "",
    country: str = "BE",
    description: Mapping[str, str] | None = None,
    centre: tuple[float, float] | None = None,
    radius_m: int | str | None = None,
    polygon: Sequence[Sequence[float]] | None = None,
    by: Account | None = None,
) -> Neighbourhood:
    """Create a neighbourhood from values (command line, demo, tests)."""
    _require_admin(by)
    form = NeighbourhoodForm(
        name=name, commune=commune, country=country, description=description or {}
    )
    checker = validation.FieldChecker()
    clean_slug = await _free_slug(checker, slug)
    _check_texts(checker, form)
    area = checker.check("area", lambda: area_from(centre, radius_m, polygon))
    values = checker.done()
    values.pop("area")
    return await _create(clean_slug, values, area, by)  # type: ignore[arg-type]


async def _free_slug(checker: validation.FieldChecker, slug: str) -> str:
    free = await checker.check_async("slug", lambda: check_free("slug", slug))
    checker.values.pop("slug", None)  # the slug is not one of the form's values
    return free or ""


async def create_from_form(slug: str, form: NeighbourhoodForm, by: Account) -> Neighbourhood:
    """Create a neighbourhood from the admin form (an area is required there)."""
    _require_admin(by)
    checker = validation.FieldChecker()
    clean_slug = await _free_slug(checker, slug)
    _check_texts(checker, form)
    area = _check_area(checker, form)
    values = checker.done()
    return await _create(clean_slug, values, area, by)


async def _create(
    slug: str, values: dict[str, object], area: Area | None, by: Account | None
) -> Neighbourhood:
    private_pem, public_pem = await keys.generate_key_pair()
    hood = Neighbourhood(
        slug=slug, private_key_pem=private_pem, public_key_pem=public_pem, **values
    )
    _apply_area(hood, area)
    async with db.atomic():
        await hood.save()
        await audit.record(by, "neighbourhood.created", f"neighbourhood:{hood.slug}")
    return hood


async def update_from_form(hood: Neighbourhood, form: NeighbourhoodForm, by: Account) -> None:
    """Save the admin form; followers elsewhere get an Update of the Group."""
    _require_admin(by)
    checker = validation.FieldChecker()
    _check_texts(checker, form)
    area = _check_area(checker, form)
    values = checker.done()
    texts = ("name", "commune", "country", "description")
    for key in texts:
        setattr(hood, key, values[key])
    _apply_area(hood, area)
    unlocked = hood.manually_approves_followers and not form.manually_approves_followers
    hood.manually_approves_followers = bool(form.manually_approves_followers)
    # Only what the form holds: an archive or an icon saved meanwhile stays.
    changed = [*texts, "centre_lat", "centre_lon", "radius_m", "polygon", "updated_at"]
    changed.append("manually_approves_followers")
    async with db.atomic():
        await hood.save(update_fields=changed)
        await audit.record(by, "neighbourhood.edited", f"neighbourhood:{hood.slug}")
        await events.emit(events.ActorChanged("neighbourhood", hood.id))
        if unlocked:  # as Mastodon does when an account is unlocked: nobody waits on
            await remote_follows.accept_all_pending(hood)


async def set_icon(hood: Neighbourhood, image: ProcessedImage, by: Account) -> None:
    _require_admin(by)
    async with db.atomic():
        stored = await media.store(image)
        hood.icon_id = stored.id
        await hood.save(update_fields=["icon_id", "updated_at"])
        await audit.record(by, "neighbourhood.icon", f"neighbourhood:{hood.slug}")
        await events.emit(events.ActorChanged("neighbourhood", hood.id))


async def set_archived(hood: Neighbourhood, archived: bool, by: Account) -> None:
    """Archive (no new posts, out of the lists) or bring back a neighbourhood."""
    _require_admin(by)
    if (hood.archived_at is not None) == archived:
        raise Conflict("the neighbourhood is already so")
    hood.archived_at = utcnow() if archived else None
    action = "neighbourhood.archived" if archived else "neighbourhood.restored"
    async with db.atomic():
        await hood.save(update_fields=["archived_at", "updated_at"])
        await audit.record(by, action, f"neighbourhood:{hood.slug}")


async def get_neighbourhood(slug: str) -> Neighbourhood:
    clean = validation.as_slug(slug)
    # Every neighbourhood page asks this: one table, read without tortoise's query building.
    found = await sql.select(Neighbourhood, {"slug": clean}, limit=1) if clean else []
    hood = found[0] if found else None
    if hood is None:
        raise NotFound(f"no neighbourhood {slug[:60]!r}")
    return hood


async def list_neighbourhoods(*, include_archived: bool = False) -> list[Neighbourhood]:
    """Neighbourhoods by name; archived ones only when asked (the admin list)."""
    query = Neighbourhood.all() if include_archived else Neighbourhood.filter(archived_at=None)
    return await query.order_by("name")


async def home_slug(account: Account) -> str | None:
    """The slug of `account`'s home neighbourhood, if it has one."""
    if account.home_neighbourhood_id is None:
        return None
    return (
        await Neighbourhood.filter(id=account.home_neighbourhood_id)
        .first()
        .values_list("slug", flat=True)
    )


async def set_home(account: Account, slug: str | None) -> None:
    """Where `account` lives (None: nowhere said): it sees its neighbours' posts."""
    hood = None
    if slug:
        hood = await Neighbourhood.get_or_none(slug=validation.as_slug(slug), archived_at=None)
        if hood is None:
            raise InvalidInput("home_neighbourhood", N_("no such neighbourhood"))
    account.home_neighbourhood = hood  # type: ignore[assignment]
    await account.save(update_fields=["home_neighbourhood_id"])


async def add_connector(
    neighbourhood: Neighbourhood, account: Account, *, by: Account | None = None
) -> Connector:
    _require_admin(by)
    async with db.atomic():
        if await Connector.filter(neighbourhood=neighbourhood, account=account).exists():
            raise Conflict(f"@{account.username} is already a connector here")
        connector = await Connector.create(neighbourhood=neighbourhood, account=account)
        await audit.record(
            by,
            "connector.added",
            f"account:{account.username}",
            detail={"neighbourhood": neighbourhood.slug},
        )
    return connector


async def remove_connector(neighbourhood: Neighbourhood, account: Account, by: Account) -> None:
    _require_admin(by)
    async with db.atomic():
        removed = await Connector.filter(neighbourhood=neighbourhood, account=account).delete()
        if not removed:
            raise NotFound(f"@{account.username} is not a connector here")
        await audit.record(
            by,
            "connector.removed",
            f"account:{account.username}",
            detail={"neighbourhood": neighbourhood.slug},
        )


async def connectors_of(neighbourhood: Neighbourhood) -> list[Account]:
    rows = await Connector.filter(neighbourhood=neighbourhood).select_related("account")
    return sorted((row.account for row in rows), key=lambda a: a.display_name.casefold())


async def connected_to(account: Account) -> list[Neighbourhood]:
    """The neighbourhoods `account` is a connector of, by name."""
    rows = await Connector.filter(account=account).select_related("neighbourhood")
    return sorted((row.neighbourhood for row in rows), key=lambda h: h.name.casefold())


async def is_connector(account: Account | None, neighbourhood_id: int) -> bool:
    if account is None or not account.is_active:
        return False
    # Asked by every request page, twice: a hand-written read (`node.raw_sql`), once per
    # page (`node.request_memo`).
    found = await remembered(
        connector_key(account.id, neighbourhood_id),
        lambda: sql.rows(CONNECTOR_SQL, [account.id, neighbourhood_id]),
    )
    return bool(found)


# A row when the account (first `?`) connects the neighbourhood (second `?`).
CONNECTOR_SQL = (
    "SELECT 1 FROM neighbourhood_connectors WHERE account_id = ? AND neighbourhood_id = ? LIMIT 1"
)


def connector_key(account_id: int, neighbourhood_id: int) -> tuple[object, ...]:
    """What `is_connector` is remembered under while a page is made
    (`node.request_memo`): a list, empty unless the account connects that neighbourhood."""
    return ("connector", account_id, neighbourhood_id)
