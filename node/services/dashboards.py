"""An organisation's dashboard: its requests and offers as a board by status, and who may
see it (what needs attention, and renewing, are in `node.services.attention`).

The board covers the organisation's own posts (also those made for clients) and the
posts of other organisations here that named it as a partner. Every list is paged and
reads only the columns it shows; offers are counted for the shown page only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from node import raw_sql, validation
from node.errors import PermissionDenied
from node.models import (
    Account,
    HelpPost,
    Organisation,
    PostPartner,
    Response,
    Role,
)
from node.services import listings
from node.services.organisations import is_staff
from node.states import OfferStatus, PostStatus
from node.taxonomy import BY_SLUG

PAGE_SIZE = 25
# Columns of the board: open posts split by where they stand, then the other statuses.
GROUPS = (
    "offers_waiting",  # open, someone offered help and waits for an answer
    "helpers_accepted",  # open, some helpers accepted, places left, nobody waiting
    "needs_helpers",  # open, no offer yet
    "matched",
    "done",
    "expired",
    "withdrawn",
)
OPEN_GROUPS = GROUPS[:3]


def dashboard_by_role(account: Account) -> bool | None:
    """Whether `account` gets a link to dashboards when the account alone says so; None
    when its memberships decide (`STAFF_OR_CONNECTOR_SQL` finds a row)."""
    if not account.is_active:
        return False
    if account.role in (Role.ADMIN, Role.MODERATOR):
        return True
    return None


async def has_dashboard(account: Account) -> bool:
    """Admins run the node, moderators handle reports; staff follow their organisation's
    requests up."""
    by_role = dashboard_by_role(account)
    if by_role is not None:
        return by_role
    found = await raw_sql.named_rows(STAFF_OR_CONNECTOR_SQL, [account.id, account.id])
    return bool(found)


# Staff of an organisation, or a connector of a neighbourhood still in use (connectors
# publish needs surveys there): a row when the account has either, two `?` for its id.
# Every logged-in page asks (`page_header`): hand-written rather than two ORM statements,
# whose query building cost more than the lookups.
STAFF_OR_CONNECTOR_SQL = (
    "SELECT 1 AS yes FROM memberships WHERE account_id = ?"
    " UNION ALL SELECT 1 FROM neighbourhood_connectors c"
    " JOIN neighbourhoods h ON h.id = c.neighbourhood_id"
    " WHERE c.account_id = ? AND h.archived_at IS NULL"
    " LIMIT 1"
)


async def can_see_dashboard(account: Account | None, org: Organisation) -> bool:
    if account is None or not account.is_active:
        return False
    return account.role == Role.ADMIN or await is_staff(account, org.id)


async def require_dashboard(account: Account | None, org: Organisation) -> None:
    if not await can_see_dashboard(account, org):
        raise PermissionDenied("only the organisation's staff and the node's admins")


async def scope_of(org: Organisation) -> Q:
    """The organisation's posts and those it is a partner of.

    The partner posts are read first (a few): an `OR id IN (subquery)` would keep the
    databases from using the index on (organisation, status, created).
    """
    partnered = await PostPartner.filter(organisation_id=org.id).values_list("post_id", flat=True)
    mine = Q(organisation_id=org.id)
    return mine | Q(id__in=list(partnered)) if partnered else mine


@dataclass(slots=True)
class OpenOffers:
    """The open posts of an organisation's board and where their offers stand: which
    have an offer waiting for an answer, helpers accepted, any offer at all."""

    open_ids: list[Any] = field(default_factory=list)
    offered: dict[Any, int] = field(default_factory=dict)
    accepted: dict[Any, int] = field(default_factory=dict)
    answered: set[Any] = field(default_factory=set)  # any offer, whatever became of it


async def open_offers(org: Organisation) -> OpenOffers:
    """Two small queries: the ids of the open posts, and the offers on those posts only
    (by the index on post), rather than subqueries over every response of the node.
    Only ids and statuses come back: converting thousands of dates costs more than SQL."""
    scope = await scope_of(org)
    found = OpenOffers(
        list(await HelpPost.filter(scope, status=PostStatus.OPEN).values_list("id", flat=True))
    )
    if not found.open_ids:
        return found
    rows = await Response.filter(
        post_id__in=found.open_ids, offer_status__not_isnull=True
    ).values_list("post_id", "offer_status")
    for post_id, status in rows:
        found.answered.add(post_id)
        if status == OfferStatus.OFFERED:
            found.offered[post_id] = found.offered.get(post_id, 0) + 1
        elif status == OfferStatus.ACCEPTED:
            found.accepted[post_id] = found.accepted.get(post_id, 0) + 1
    return found


@dataclass(slots=True)
class BoardFilters:
    group: str = "offers_waiting"
    neighbourhood: str = ""  # slug
    category: str = ""
    staff: str = ""  # username: posted by, or assigned to
    since: date | None = None
    until: date | None = None
    search: str = ""
    page: int = 1

    def cleaned(self) -> BoardFilters:
        """Unknown values are dropped rather than refused (they come from a URL)."""
        return BoardFilters(
            group=self.group if self.group in GROUPS else "offers_waiting",
            neighbourhood=validation.as_slug(self.neighbourhood) or "",
            category=self.category if self.category in BY_SLUG else "",
            staff=validation.as_username(self.staff) or "",
            since=self.since,
            until=self.until,
            search=self.search.replace("\x00", "").strip()[:100],
            page=min(max(self.page, 1), 10_000),
        )


@dataclass(slots=True)
class Board:
    filters: BoardFilters
    counts: dict[str, int]
    rows: list[dict[str, Any]]
    total: int  # rows in the chosen group
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // PAGE_SIZE))


async def _filtered(org: Organisation, chosen: BoardFilters, zone: Any) -> Q:
    query = await scope_of(org)
    if chosen.neighbourhood:
        query &= Q(neighbourhood__slug=chosen.neighbourhood)
    if chosen.category:
        query &= Q(category=chosen.category)
    if chosen.staff:
        query &= Q(author__username=chosen.staff) | Q(assignee__username=chosen.staff)
    if chosen.since:
        query &= Q(created_at__gte=datetime.combine(chosen.since, time(0), tzinfo=zone))
    if chosen.until:
        end = datetime.combine(chosen.until, time(0), tzinfo=zone) + timedelta(days=1)
        query &= Q(created_at__lt=end)
    if chosen.search:
        query &= Q(title__icontains=chosen.search) | Q(on_behalf_label__icontains=chosen.search)
    return query


def _open_groups(open_ids: list, offers: OpenOffers) -> dict[str, list]:
    """Open posts by where they stand (an offer waiting comes first)."""
    groups: dict[str, list] = {group: [] for group in OPEN_GROUPS}
    for post_id in open_ids:
        if post_id in offers.offered:
            groups["offers_waiting"].append(post_id)
        elif post_id in offers.accepted:
            groups["helpers_accepted"].append(post_id)
        else:
            groups["needs_helpers"].append(post_id)
    return groups


ROW_FIELDS = {
    "id": "id",
    "kind": "kind",
    "title": "title",
    "category": "category",
    "status": "status",
    "created_at": "created_at",
    "starts_at": "starts_at",
    "expires_at": "expires_at",
    "helpers_needed": "helpers_needed",
    "on_behalf_label": "on_behalf_label",
    "language": "language",
    "translations": "translations",
    "organisation_id": "organisation_id",
    "neighbourhood_name": "neighbourhood__name",
    "author_name": "author__display_name",
    "assignee_name": "assignee__display_name",
    "owner_shows_names": "organisation__show_staff_names",
}


async def _offer_counts(post_ids: list) -> dict[Any, dict[str, int]]:
    """{post id: {"offered": n, "accepted": n}} for the shown posts only."""
    if not post_ids:
        return {}
    rows = (
        await Response.filter(
            post_id__in=post_ids,
            offer_status__in=(OfferStatus.OFFERED, OfferStatus.ACCEPTED),
        )
        .group_by("post_id", "offer_status")
        .annotate(n=Count("id"))
        .values_list("post_id", "offer_status", "n")
    )
    counts: dict[Any, dict[str, int]] = {}
    for post_id, status, n in rows:
        counts.setdefault(post_id, {})[str(status)] = n
    return counts


def in_language(row: dict[str, Any], locale: str) -> None:
    """The title and the client's label in `locale` when the post was written in it;
    `lang` says which language they are in."""
    listings.in_language(row, locale)
    row.pop("description", None)
    row.pop("translations")
    row["lang"] = row.pop("language")


def _unfiltered(chosen: BoardFilters) -> bool:
    return not (
        chosen.neighbourhood
        or chosen.category
        or chosen.staff
        or chosen.since
        or chosen.until
        or chosen.search
    )


async def board(
    org: Organisation,
    filters: BoardFilters,
    zone: Any,
    locale: str = "en",
    offers: OpenOffers | None = None,
) -> Board:
    """Counts per group and one page of the chosen group, newest first (titles and
    labels in `locale` where the post has them). `offers`: `open_offers(org)`, when the
    page has it already (the attention lists use it too)."""
    chosen = filters.cleaned()
    offers = offers or await open_offers(org)
    base = await _filtered(org, chosen, zone)
    counts = dict.fromkeys(GROUPS, 0)
    for status, n in (
        await HelpPost.filter(base)
        .group_by("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    ):
        counts[str(status)] = n
    counts.pop("open", None)
    open_ids = offers.open_ids
    if not _unfiltered(chosen):
        open_ids = list(
            await HelpPost.filter(base, status=PostStatus.OPEN).values_list("id", flat=True)
        )
    groups = _open_groups(open_ids, offers)
    counts.update({group: len(ids) for group, ids in groups.items()})
    if chosen.group in OPEN_GROUPS:
        query = HelpPost.filter(id__in=groups[chosen.group] or [None])
    else:
        query = HelpPost.filter(base, status=chosen.group)
    rows = (
        await query.order_by("-created_at")
        .offset((chosen.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .values(**ROW_FIELDS)
    )
    offered, accepted = offers.offered, offers.accepted
    if chosen.group not in OPEN_GROUPS:  # offers of closed posts are counted per page
        counted = await _offer_counts([row["id"] for row in rows])
        offered = {k: v.get(OfferStatus.OFFERED.value, 0) for k, v in counted.items()}
        accepted = {k: v.get(OfferStatus.ACCEPTED.value, 0) for k, v in counted.items()}
    for row in rows:
        row["offered"] = offered.get(row["id"], 0)
        row["accepted"] = accepted.get(row["id"], 0)
        row["partner"] = row["organisation_id"] != org.id
        if row["partner"] and not row.pop("owner_shows_names"):
            row["assignee_name"] = None  # the other organisation keeps its staff unnamed
        in_language(row, locale)
    return Board(chosen, counts, rows, counts[chosen.group])
