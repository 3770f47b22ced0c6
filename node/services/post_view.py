"""What one person may see and do on a request's or offer's page, decided in one place.

The page shows what this returns: the responses, the helper places left, whether the
viewer may offer help, comment, manage the post or withdraw it, which status moves the
post graph allows them, and the exact address only for the people organising the help
(whose look at it is recorded in the post's audit trail). On a request also: the
services a helper may point the author to and those pointed to, whether the viewer
confirms the category's guide before a first offer, and, for the neighbourhood's
connectors and the post's team, which offers are their author's first there.

Responses come a page at a time (`PAGE_SIZE`, oldest first): a request may get thousands
of replies from the fediverse, and the page must not load them all. Which ones this
viewer sees is decided in SQL (`_seen_by`, the same rules as `removals.shown_responses`),
counted with COUNT, and one page is loaded with LIMIT. The accepted helpers and the
viewer's own offer are shown whatever the page (`pinned`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node import raw_sql, uris
from node.errors import NotFound
from node.models import Account, HelpPost, PostKind, Response, ResponseKind, Service
from node.services import (
    audit,
    domain_policy,
    helper_firsts,
    post_roles,
    post_sql,
    service_matching,
    service_pointers,
)
from node.services.neighbourhoods import is_connector
from node.services.organisations import staff_account_ids
from node.services.permissions import (
    can_manage_helpers,
    can_manage_post,
    can_see_private_location,
    can_withdraw_post,
)
from node.services.thanks import may_thank
from node.states import POST_GRAPH, OfferStatus, PostAction, PostStatus, post_allows

# The order in which status buttons are shown.
STATUS_ORDER = (PostStatus.MATCHED, PostStatus.DONE, PostStatus.OPEN, PostStatus.WITHDRAWN)
PAGE_SIZE = 50
# Accepted helpers fit in the post's helper places; this only bounds the query.
MAX_PINNED = 200
ACTIVE_OFFER = (OfferStatus.OFFERED, OfferStatus.ACCEPTED)
ORDER = ("created_at", "id")


@dataclass(frozen=True, slots=True)
class PostView:
    # One page of the responses the viewer sees, oldest first, with `author` and
    # `remote_author` loaded.
    responses: list[Response]
    accepted: int
    manage: bool
    manage_helpers: bool
    may_withdraw: bool
    private_location: str | None
    own_offer: Response | None
    can_offer: bool
    can_comment: bool
    status_moves: list[PostStatus]
    # Staff of the post's organisation: their responses speak for it.
    team_ids: frozenset[int] = frozenset()
    # The viewer's offer here was declined: they cannot offer again (see responses).
    declined: bool = False
    # How many responses the viewer sees on all pages; which page this is, of how many.
    total: int = 0
    page: int = 1
    pages: int = 1
    # Accepted helpers and the viewer's own offer that are on another page, oldest first.
    pinned: list[Response] = field(default_factory=list)
    # Services the viewer may point the author to (those answering the post's category
    # in its neighbourhood); empty when they may not point (see service_pointers).
    services: list[Service] = field(default_factory=list)
    can_point: bool = False
    # The service each SERVICE response shown points to, by response id.
    pointed: dict[str, Service] = field(default_factory=dict)
    # Whoever manages the post may close it as done with a service pointed to.
    can_solve_with_service: bool = False
    # The viewer has never offered help in this category: they confirm its guide first.
    needs_guide: bool = False
    # Offers shown that are their author's first in the neighbourhood (for its
    # connectors and the post's team only).
    first_timers: frozenset[str] = frozenset()
    # The viewer's offer was not taken before the post was filled or closed (and they
    # may not offer now): the page says so rather than nothing.
    not_needed: bool = False
    # The author's thank-you to the helpers (shown apart from the other responses, if
    # the viewer sees it), and whether the viewer may write it now (see `thanks`).
    thanks: Response | None = None
    may_thank: bool = False


async def responses_of(post: HelpPost) -> list[Response]:
    return (
        await Response.filter(post_id=post.id)
        .order_by("created_at")
        .select_related("author", "remote_author")
    )


async def response_of(post: HelpPost, response_id: str) -> Response:
    """A response on `post` by its id; NotFound for another post's or a malformed id."""
    key = uris.id_key(str(response_id))
    if key is None:
        raise NotFound("no such response")
    found = await Response.get_or_none(id=key, post_id=post.id)
    if found is None:
        raise NotFound("no such response")
    return found


def status_moves(post: HelpPost, *, manage: bool, may_withdraw: bool) -> list[PostStatus]:
    """The status changes the graph allows from here that this viewer may make."""
    if not may_withdraw:
        return []
    current = PostStatus(post.status)
    return [
        target
        for target in STATUS_ORDER
        if POST_GRAPH.allows(current, target) and (manage or target == PostStatus.WITHDRAWN)
    ]


async def _seen_by(viewer: Account | None, domains: set[str]) -> tuple[str, list[object]]:
    """The responses (`r`, with its local author `a` and remote author `ra`) that
    `viewer` sees, as an SQL condition and its parameters: moderators see all (the page
    marks the removed ones); others not those hidden, by a suspended account here, by a
    limited or suspended account elsewhere, or from a server the domain policy hides
    (among `domains`, those of the post's remote responders). The SQL form of
    `removals.shown_responses` (a test holds them together); hand-written, see node.raw_sql."""
    if viewer is not None and viewer.is_active and viewer.is_staff_of_node:
        return "1 = 1", []
    hidden = await domain_policy.hidden_hosts(domains)
    blocked: list[object] = sorted(domain for domain in domains if hidden.hides(domain))
    remote = "r.remote_author_id IS NOT NULL AND ra.standing = ''"
    if blocked:
        remote += f" AND ra.domain NOT IN ({', '.join('?' * len(blocked))})"
    local = "r.author_id IS NOT NULL AND a.suspended_at IS NULL"
    return f"r.hidden_at IS NULL AND (({local}) OR ({remote}))", blocked


async def _domains_and_accepted(post: HelpPost) -> tuple[set[str], int]:
    """The servers of the post's remote responders, and its accepted helpers (all of
    them, seen or not: they hold places), in one statement."""
    found = await raw_sql.rows(
        "SELECT ra.domain, SUM(CASE WHEN r.offer_status = ? THEN 1 ELSE 0 END)"
        " FROM responses r LEFT JOIN remote_actors ra ON ra.id = r.remote_author_id"
        " WHERE r.post_id = ? GROUP BY ra.domain",
        [OfferStatus.ACCEPTED.value, post.id],
    )
    return {row[0] for row in found if row[0] is not None}, sum(int(row[1]) for row in found)


# The thank-you is shown on its own, above the responses: not listed nor counted.
LISTED = f"r.kind <> '{ResponseKind.THANKS.value}'"


async def _count_listed(post: HelpPost, seen: tuple[str, list[object]]) -> int:
    found = await raw_sql.rows(
        f"SELECT COUNT(*) {post_sql.RESPONSE_FROM} WHERE r.post_id = ? AND {LISTED} AND {seen[0]}",
        [post.id, *seen[1]],
    )
    return int(found[0][0])


async def page_count(post: HelpPost, viewer: Account | None) -> int:
    """How many pages of responses `viewer` has on `post` (the last one has the newest)."""
    domains, _ = await _domains_and_accepted(post)
    total = await _count_listed(post, await _seen_by(viewer, domains))
    return max(1, -(-total // PAGE_SIZE))


@dataclass(slots=True)
class _Rows:
    """What `_read_rows` found, by part."""

    total: int = 0
    page: list[Response] = field(default_factory=list)
    pinned: list[Response] = field(default_factory=list)  # candidates, see view_post
    thanks: Response | None = None
    mine: list[Response] = field(default_factory=list)


async def _read_rows(
    post: HelpPost, viewer: Account | None, seen: tuple[str, list[object]], page: int
) -> _Rows:
    """In one statement (a UNION ALL of small parts; it was six ORM queries): page
    `page` of the listed responses the viewer sees with their number; those pinned
    (accepted helpers, and the viewer's active offers) that they see; the thank-you if
    they see it; and all the viewer's offers, seen or not (they decide what the viewer
    may do). Oldest first in each part."""
    where, seen_params = seen
    columns, source = post_sql.response_columns(), post_sql.RESPONSE_FROM
    parts, params = [], []

    def part(name: str, condition: str, values: list[object], tail: str, total: str = "0"):
        parts.append(
            f"SELECT * FROM (SELECT '{name}' AS part, {total} AS total, {columns} {source}"  # noqa: S608
            f" WHERE r.post_id = ? AND {condition} ORDER BY r.created_at, r.id {tail}) {name}"
        )
        params.extend([post.id, *values])

    part(
        "page",
        f"{LISTED} AND {where}",
        [*seen_params, PAGE_SIZE, (page - 1) * PAGE_SIZE],
        "LIMIT ? OFFSET ?",
        total="COUNT(*) OVER ()",  # before LIMIT: all the listed responses they see
    )
    pinned, pinned_params = "r.offer_status = ?", [OfferStatus.ACCEPTED.value]
    if viewer is not None:
        pinned = f"({pinned} OR (r.author_id = ? AND r.offer_status IN (?, ?)))"
        pinned_params += [viewer.id, *(status.value for status in ACTIVE_OFFER)]
    part("pinned", f"{pinned} AND {where}", [*pinned_params, *seen_params, MAX_PINNED], "LIMIT ?")
    part("thanks", f"r.kind = ? AND {where}", [ResponseKind.THANKS.value, *seen_params], "LIMIT 1")
    if viewer is not None:
        part("mine", "r.author_id = ? AND r.offer_status IS NOT NULL", [viewer.id], "")
    # Ordered again outside: a UNION ALL need not keep its parts' order.
    sql = " UNION ALL ".join(parts) + " ORDER BY part, created_at, id"
    found = _Rows()
    text_dates = raw_sql.text_dates()
    for row in await raw_sql.rows(sql, params):
        name = row[0]
        response = post_sql.response_from_row(row, 2, text_dates)
        if name == "page":
            found.total = int(row[1])
            found.page.append(response)
        elif name == "pinned":
            found.pinned.append(response)
        elif name == "thanks":
            found.thanks = response
        else:
            found.mine.append(response)
    return found


async def view_post(post: HelpPost, viewer: Account | None, page: int = 1) -> PostView:
    """What `viewer` sees and may do on `post` (which they may see: see posts.get_post),
    with page `page` of its responses (out of range: the nearest page there is)."""
    await post_roles.ask_at_once(viewer, post)
    domains, accepted = await _domains_and_accepted(post)
    seen = await _seen_by(viewer, domains)
    page = max(page, 1)
    found = await _read_rows(post, viewer, seen, page)
    if not found.page and page > 1:  # past the last page: show the last one
        total = await _count_listed(post, seen)
        page = max(1, -(-total // PAGE_SIZE))
        found = await _read_rows(post, viewer, seen, page)
    total = found.total
    pages = max(1, -(-total // PAGE_SIZE))
    rows = found.page
    manage = await can_manage_post(viewer, post)
    manage_helpers = manage or await can_manage_helpers(viewer, post)
    may_withdraw = manage or await can_withdraw_post(viewer, post)
    mine = found.mine
    own_offer = next((row for row in mine if row.offer_status in ACTIVE_OFFER), None)
    declined = any(row.offer_status == OfferStatus.DECLINED for row in mine)
    not_needed = any(row.offer_status == OfferStatus.NOT_NEEDED for row in mine)
    # The accepted helpers and the viewer's own offer, if not on this page already.
    on_page = {row.id for row in rows}
    pinned = [
        row
        for row in found.pinned
        if row.id not in on_page
        and (
            row.offer_status == OfferStatus.ACCEPTED
            or (own_offer is not None and row.id == own_offer.id)
        )
    ]
    can_offer = (
        post_allows(post.status, PostAction.OFFER)
        and (viewer is None or viewer.id != post.author_id)
        and own_offer is None
        and not declined
    )
    can_point = service_pointers.may_point(viewer, post)
    helping = post.kind == PostKind.REQUEST  # on an offer, responders take help
    private_location = None
    if post.private_location and await can_see_private_location(viewer, post):
        private_location = post.private_location
        assert viewer is not None
        await audit.address_seen(viewer, post)
    return PostView(
        responses=rows,
        accepted=accepted,
        manage=manage,
        manage_helpers=manage_helpers,
        may_withdraw=may_withdraw,
        private_location=private_location,
        own_offer=own_offer,
        can_offer=can_offer,
        can_comment=post_allows(post.status, PostAction.COMMENT),
        status_moves=status_moves(post, manage=manage, may_withdraw=may_withdraw),
        team_ids=await _team_among(post, rows + pinned),
        declined=declined and own_offer is None,
        not_needed=not_needed and own_offer is None and not declined and not can_offer,
        thanks=found.thanks,
        may_thank=await may_thank(viewer, post),
        total=total,
        page=page,
        pages=pages,
        pinned=pinned,
        services=(
            await service_matching.matching_services(post.category, post.neighbourhood_id)
            if can_point
            else []
        ),
        can_point=can_point,
        pointed=await service_pointers.pointed_services(rows + pinned),
        can_solve_with_service=manage and post.status in (PostStatus.OPEN, PostStatus.MATCHED),
        needs_guide=(
            helping
            and viewer is not None
            and can_offer
            and await helper_firsts.needs_guide(viewer, post.category)
        ),
        first_timers=(
            frozenset(await helper_firsts.first_timers(post))
            if helping and (manage_helpers or await is_connector(viewer, post.neighbourhood_id))
            else frozenset()
        ),
    )


async def _team_among(post: HelpPost, rows: list[Response]) -> frozenset[int]:
    """The organisation's staff among the local authors of responses (no query when the
    post is nobody's organisation's or nobody here answered)."""
    local = {row.author_id for row in rows if row.author_id is not None}
    if post.organisation_id is None or not local:
        return frozenset()
    return frozenset(local & set(await staff_account_ids(post.organisation_id)))
