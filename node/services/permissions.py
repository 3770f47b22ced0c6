"""Who may do what with a help post. Pure policy: reads, never writes."""

from __future__ import annotations

from node import raw_sql
from node.models import Account, HelpPost, Response, Role
from node.request_memo import remembered
from node.services.neighbourhoods import is_connector
from node.services.organisations import is_staff
from node.states import OfferStatus


async def can_manage_post(account: Account | None, post: HelpPost) -> bool:
    """Edit the post, change its status, see its address: the author and the staff of
    the organisation that posted it."""
    if account is None or not account.is_active:
        return False
    if post.author_id == account.id:
        return True
    return await is_staff(account, post.organisation_id)


async def can_manage_helpers(account: Account | None, post: HelpPost) -> bool:
    """Accept, decline or release helpers: whoever manages the post, and the staff of
    its partner organisations on this node (they share the task, not the client's
    address or the post's text)."""
    if await can_manage_post(account, post):
        return True
    if account is None or not account.is_active or post.organisation_id is None:
        return False
    # Asked by every request page: one hand-written statement (`node.raw_sql`); the
    # ORM's EXISTS over two joins cost more to build than to run.
    found = await remembered(
        partner_staff_key(account.id, post.id),
        lambda: raw_sql.rows(PARTNER_STAFF_SQL, [post.id, account.id]),
    )
    return bool(found)


# A row when the account (second `?`) is staff of a partner organisation of the post
# (first `?`).
PARTNER_STAFF_SQL = (
    "SELECT 1 FROM post_partners pp JOIN memberships m"
    " ON m.organisation_id = pp.organisation_id"
    " WHERE pp.post_id = ? AND m.account_id = ? LIMIT 1"
)


def partner_staff_key(account_id: int, post_id: object) -> tuple[object, ...]:
    """What the partner check of `can_manage_helpers` is remembered under while a page is
    made (`node.request_memo`): a list, empty unless the account is partner staff."""
    return ("partner staff", account_id, str(post_id))


async def can_withdraw_post(account: Account | None, post: HelpPost) -> bool:
    """Managers, plus moderators and the neighbourhood's connectors (to take a post down)."""
    if await can_manage_post(account, post):
        return True
    if account is None or not account.is_active:
        return False
    if account.role in (Role.MODERATOR, Role.ADMIN):
        return True
    return await is_connector(account, post.neighbourhood_id)


async def can_see_private_location(account: Account | None, post: HelpPost) -> bool:
    """The exact place is for the people organising the help and the accepted helpers."""
    if await can_manage_post(account, post):
        return True
    if account is None or not account.is_active:
        return False
    return await Response.filter(
        post_id=post.id, author_id=account.id, offer_status=OfferStatus.ACCEPTED
    ).exists()
