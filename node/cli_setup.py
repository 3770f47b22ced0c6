"""`nabuur` commands that set a node up without a browser: neighbourhoods, organisations,
staff, roles and connectors.

They call the same services as the admin pages, so the rules and messages are the
same; a problem is one line on stderr with a non-zero exit, and nothing is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from node import db
from node.cli_common import CLIError, require_ready, run
from node.config import Settings
from node.errors import InvalidFields, InvalidInput
from node.geo import parse_centre, parse_geojson_polygon
from node.models import OrganisationKind, Role, StaffRole
from node.services import accounts, neighbourhoods, organisations


def _one_line(exc: InvalidInput) -> str:
    problems = exc.errors if isinstance(exc, InvalidFields) else [exc]
    return "; ".join(f"{problem.field}: {problem.message}" for problem in problems)


async def _with_node(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await db.open_database(settings.database_url)
    try:
        await require_ready(settings)
        return await work()
    except InvalidInput as exc:
        raise CLIError(_one_line(exc)) from None
    finally:
        await db.close_database()


def _polygon(path: str | None) -> list[list[float]] | None:
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_geojson_polygon(text)
    except InvalidInput as exc:
        raise CLIError(_one_line(exc)) from None


def cmd_neighbourhood_add(settings: Settings, args: argparse.Namespace) -> int:
    polygon = _polygon(args.polygon)
    centre = None
    if args.centre is not None:
        try:
            centre = parse_centre(args.centre)
        except InvalidInput as exc:
            raise CLIError(_one_line(exc)) from None
    if polygon is None and (centre is None or args.radius is None):
        raise CLIError("give --centre LAT,LON and --radius METRES, or --polygon FILE")

    async def work() -> object:
        return await neighbourhoods.create_neighbourhood(
            args.slug,
            args.name,
            commune=args.commune or "",
            country=args.country,
            centre=None if polygon else centre,
            radius_m=None if polygon else args.radius,
            polygon=polygon,
        )

    hood = run(_with_node(settings, work))
    print(f"Neighbourhood {hood.name!r} created: {settings.public_url}/n/{hood.slug}")
    return 0


def cmd_neighbourhood_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        return await neighbourhoods.list_neighbourhoods(include_archived=True)

    hoods = run(_with_node(settings, work))
    if not hoods:
        print("No neighbourhood yet: add one with `nabuur neighbourhood add`.")
    for hood in hoods:
        state = "  (archived)" if hood.archived_at else ""
        area = f"{hood.radius_m} m" if hood.radius_m else "polygon" if hood.polygon else "-"
        print(f"{hood.slug:<24} {hood.name:<30} {hood.commune} {hood.country}  {area}{state}")
    return 0


def cmd_organisation_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        return await organisations.create_organisation(args.slug, args.name, kind=args.kind)

    org = run(_with_node(settings, work))
    print(f"Organisation {org.name!r} created: {settings.public_url}/o/{org.slug}")
    print(f"Add its staff with: nabuur staff add {org.slug} USERNAME --role coordinator")
    return 0


def cmd_organisation_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        found = []
        for org in await organisations.list_organisations():
            found.append((org, len(await organisations.staff_of(org))))
        return found

    rows = run(_with_node(settings, work))
    if not rows:
        print("No organisation yet: add one with `nabuur organisation add`.")
    for org, staff in rows:
        print(f"{org.slug:<24} {org.name:<40} {org.kind:<16} {staff} staff")
    return 0


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        org = await organisations.get_organisation(args.organisation)
        account = await accounts.get_account(args.username)
        await organisations.add_staff(org, account, args.role)
        return org

    org = run(_with_node(settings, work))
    print(f"@{args.username.lower()} is now {args.role} of {org.name}.")
    return 0


def cmd_role(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        account = await accounts.get_account(args.username)
        return await accounts.set_role(account, args.role)

    account = run(_with_node(settings, work))
    print(f"@{account.username} is now {account.role}.")
    return 0


def cmd_connector_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> object:
        hood = await neighbourhoods.get_neighbourhood(args.neighbourhood)
        account = await accounts.get_account(args.username)
        await neighbourhoods.add_connector(hood, account)
        return hood

    hood = run(_with_node(settings, work))
    print(f"@{args.username.lower()} is now a connector of {hood.name}.")
    return 0


def add_setup_commands(sub: argparse._SubParsersAction) -> None:
    hood = sub.add_parser("neighbourhood", help="add or list neighbourhoods")
    hood_sub = hood.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = hood_sub.add_parser("add", help="create a neighbourhood")
    add.add_argument("slug", help="its address, e.g. jette-centre (fixed once created)")
    add.add_argument("--name", required=True, help="its name, e.g. 'Jette Centre'")
    add.add_argument("--commune", help="the commune it is in")
    add.add_argument("--country", default="BE", help="two-letter country code (default BE)")
    add.add_argument("--centre", help="LAT,LON of its centre, e.g. 50.878,4.325")
    add.add_argument("--radius", help="radius in metres around the centre (200-20000)")
    add.add_argument("--polygon", metavar="FILE", help="a GeoJSON file with its outline")
    add.set_defaults(handler=cmd_neighbourhood_add)
    hood_sub.add_parser("list", help="list neighbourhoods").set_defaults(
        handler=cmd_neighbourhood_list
    )

    org = sub.add_parser("organisation", help="add or list organisations")
    org_sub = org.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = org_sub.add_parser("add", help="create an organisation")
    add.add_argument("slug", help="its address, e.g. tussen-buren (fixed once created)")
    add.add_argument("--name", required=True, help="its name")
    add.add_argument(
        "--kind", default=OrganisationKind.NGO.value, choices=[k.value for k in OrganisationKind]
    )
    add.set_defaults(handler=cmd_organisation_add)
    org_sub.add_parser("list", help="list organisations").set_defaults(
        handler=cmd_organisation_list
    )

    staff = sub.add_parser("staff", help="make an account staff of an organisation")
    staff_sub = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = staff_sub.add_parser("add", help="add an account to an organisation's staff")
    add.add_argument("organisation", help="the organisation's slug")
    add.add_argument("username")
    add.add_argument("--role", default=StaffRole.STAFF.value, choices=[r.value for r in StaffRole])
    add.set_defaults(handler=cmd_staff_add)

    role = sub.add_parser("role", help="set an account's role on the node")
    role.add_argument("username")
    role.add_argument("role", choices=[r.value for r in Role])
    role.set_defaults(handler=cmd_role)

    connector = sub.add_parser("connector", help="make an account a neighbourhood's connector")
    connector_sub = connector.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = connector_sub.add_parser("add", help="add a connector to a neighbourhood")
    add.add_argument("neighbourhood", help="the neighbourhood's slug")
    add.add_argument("username")
    add.set_defaults(handler=cmd_connector_add)
