"""Who may see which needs figures (/admin/needs and its CSV).

- The node's admins see the whole node, or any one organisation's posts.
- A neighbourhood's connectors see the posts of the neighbourhoods they connect.
- An organisation's staff see their own organisation's posts.
- Everyone else, and suspended accounts, get 403; an unknown organisation is not found.

Someone who is both a connector and staff starts with their neighbourhoods and may switch
to one of their organisations (`?organisation=<slug>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.errors import InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, Connector, Neighbourhood, Organisation, Role
from node.services.organisations import staff_organisation_ids

NODE = "node"
ORGANISATION = "organisation"
CONNECTOR = "connector"


@dataclass(frozen=True, slots=True)
class Scope:
    """The posts a viewer's figures are made of."""

    kind: str  # NODE, ORGANISATION or CONNECTOR
    organisation: Organisation | None = None
    neighbourhood_ids: tuple[int, ...] | None = None  # None: every neighbourhood

    @property
    def organisation_slug(self) -> str:
        return self.organisation.slug if self.organisation else ""


def _active(account: Account | None) -> Account:
    if account is None or not account.is_active:
        raise PermissionDenied("the needs figures are for admins, connectors and staff")
    return account


async def _connected_ids(account: Account) -> tuple[int, ...]:
    ids = await Connector.filter(account_id=account.id).values_list("neighbourhood_id", flat=True)
    return tuple(sorted(ids))


async def choices(account: Account | None) -> list[Scope]:
    """Every scope `account` may choose, the default first; empty when none."""
    if account is None or not account.is_active:
        return []
    found: list[Scope] = []
    if account.role == Role.ADMIN:
        found.append(Scope(NODE))
    connected = await _connected_ids(account)
    if connected and account.role != Role.ADMIN:
        found.append(Scope(CONNECTOR, neighbourhood_ids=connected))
    org_ids = await staff_organisation_ids(account)
    if org_ids:
        orgs = await Organisation.filter(id__in=org_ids).order_by("name")
        found.extend(Scope(ORGANISATION, organisation=org) for org in orgs)
    return found


async def scope_for(account: Account | None, organisation_slug: str = "") -> Scope:
    """The scope asked for (an organisation's slug, or "" for the default one)."""
    viewer = _active(account)
    if organisation_slug:
        org = await Organisation.get_or_none(slug=organisation_slug)
        if org is None:
            raise NotFound("no such organisation")
        if viewer.role == Role.ADMIN or org.id in await staff_organisation_ids(viewer):
            return Scope(ORGANISATION, organisation=org)
        raise PermissionDenied("these figures are for the organisation's staff")
    found = await choices(viewer)
    if not found:
        raise PermissionDenied("the needs figures are for admins, connectors and staff")
    return found[0]


async def neighbourhoods_in(scope: Scope) -> list[Neighbourhood]:
    """The neighbourhoods a viewer may filter on, by name."""
    query = Neighbourhood.all()
    if scope.neighbourhood_ids is not None:
        query = query.filter(id__in=scope.neighbourhood_ids)
    return await query.order_by("name")


async def neighbourhood_ids(scope: Scope, slugs: Sequence[str]) -> tuple[int, ...] | None:
    """The ids to narrow the figures to: the chosen neighbourhoods (all of them known, and
    within the scope), else the scope's own (None: the whole node)."""
    if not slugs:
        return scope.neighbourhood_ids
    wanted = sorted(set(slugs))
    rows = await Neighbourhood.filter(slug__in=wanted).values_list("slug", "id")
    known = dict(rows)
    if len(known) != len(wanted):
        raise InvalidInput("neighbourhood", N_("choose neighbourhoods from the list"))
    ids = tuple(sorted(known.values()))
    if scope.neighbourhood_ids is not None and not set(ids) <= set(scope.neighbourhood_ids):
        raise PermissionDenied("a connector sees the figures of their own neighbourhoods")
    return ids
