"""Notifications: what an account is told about responses, helpers, follows and status."""

from __future__ import annotations

from typing import Any

from node import raw_sql
from node.models import (
    Account,
    ConversationMessage,
    HelpPost,
    Notification,
    NotificationKind,
    Response,
    Visibility,
)
from node.services.organisations import staff_account_ids
from node.services.visibility import visible_posts_filter
from node.timeutil import utcnow


async def notify(
    recipient_id: int,
    kind: NotificationKind,
    *,
    actor: Account | None = None,
    post: HelpPost | None = None,
    response: Response | None = None,
    organisation_id: int | None = None,
    note: str = "",
    message: ConversationMessage | None = None,
) -> None:
    """Tell one account; `organisation_id`: the actor acted for that organisation, which
    the notification names instead of them.

    Hand-written INSERT (`node.raw_sql`): every reply from another server notifies, and
    tortoise's `create` cost more CPU than the database did."""
    values: dict[str, object] = {
        "recipient_id": recipient_id,
        "kind": NotificationKind(kind).value,
        "actor_id": actor.id if actor is not None else None,
        "organisation_id": organisation_id,
        "post_id": post.id if post is not None else None,
        "response_id": response.id if response is not None else None,
        "report_id": None,
        "message_id": message.id if message is not None else None,
        "emailed_at": None,
        "note": note,
        "created_at": utcnow(),
        "read_at": None,
    }
    await raw_sql.insert_row(Notification, values)


async def post_team(post: HelpPost, cache: dict[str, Any] | None = None) -> list[int]:
    """Who hears about responses to `post`: its author; for an organisation's post, the
    staff member it is assigned to, or else all its staff.

    `cache`: one unit of work's (the inbox worker's transaction, see `local_post`), so a
    batch of replies to one organisation's post asks for its staff once."""
    if post.organisation_id is None:
        return [post.author_id]
    key = f"staff:{post.organisation_id}"
    if cache is not None and key in cache:
        staff = cache[key]
    else:
        staff = await staff_account_ids(post.organisation_id)
        if cache is not None:
            cache[key] = staff
    if post.assignee_id is not None and post.assignee_id in staff:
        return [post.assignee_id]
    return staff or [post.author_id]


async def notify_team(
    post: HelpPost,
    kind: NotificationKind,
    *,
    actor: Account,
    response: Response | None = None,
) -> None:
    """Tell the post's team (see `post_team`), except the person who acted."""
    for recipient in await post_team(post):
        if recipient != actor.id:
            await notify(recipient, kind, actor=actor, post=post, response=response)


async def _unseen_posts(account: Account, post_ids: set[object]) -> set[str]:
    """Which of these posts `account` may not see (any more: a follower removed since),
    as strings (a post id's type differs between database backends)."""
    if not post_ids:
        return set()
    seen = await HelpPost.filter(await visible_posts_filter(account), id__in=post_ids).values_list(
        "id", flat=True
    )
    return {str(i) for i in post_ids} - {str(i) for i in seen}


async def list_notifications(account: Account, *, limit: int = 50) -> list[Notification]:
    """The newest notifications, without those naming a post the account may not see:
    a notification tells no more than the post's page would."""
    rows = (
        await Notification.filter(recipient_id=account.id)
        .order_by("-created_at", "-id")
        .limit(limit)
        # The response says how a RESPONSE is worded (a service pointer, say); a MESSAGE
        # from another server names its remote author.
        .prefetch_related(
            "actor",
            "post",
            "response",
            "organisation",
            "report__organisation",
            "message__remote_author",
        )
    )
    unseen = await _unseen_posts(account, {n.post.id for n in rows if n.post is not None})
    return [n for n in rows if n.post is None or str(n.post.id) not in unseen]


# The badge on every logged-in page: unread notifications per post with the post's
# visibility, one `?` for the recipient (`page_header` reads it with the page's other
# header facts). Public posts are seen by everyone (as `visibility.can_view` says); only
# the others go through the visibility filter (`unread_total`).
UNREAD_SQL = """
SELECT n.post_id AS post_id, p.visibility AS visibility, COUNT(*) AS n
FROM notifications n LEFT JOIN help_posts p ON p.id = n.post_id
WHERE n.recipient_id = ? AND n.read_at IS NULL
GROUP BY n.post_id, p.visibility
"""


async def unread_count(account: Account) -> int:
    """Unread notifications, counted as `list_notifications` shows them."""
    return await unread_total(account, await raw_sql.named_rows(UNREAD_SQL, [account.id]))


async def unread_total(account: Account, rows: list[dict[str, Any]]) -> int:
    """The count of `UNREAD_SQL`'s rows (post_id, visibility, n), without notifications
    naming a post `account` may not see."""
    total = sum(row["n"] for row in rows)
    ask = {
        row["post_id"]: row["n"]
        for row in rows
        if row["post_id"] is not None and row["visibility"] != Visibility.PUBLIC
    }
    if ask:
        unseen = await _unseen_posts(account, set(ask))
        total -= sum(n for post_id, n in ask.items() if str(post_id) in unseen)
    return total


async def mark_all_read(account: Account) -> int:
    return await Notification.filter(recipient_id=account.id, read_at=None).update(read_at=utcnow())


async def mark_seen(account: Account, shown: list[Notification]) -> int:
    """Mark read what the notifications page has just shown: every unread notification up
    to the newest one shown (older ones past the page's limit too), so the badge goes; one
    that arrived while the page was being built stays unread for the next visit."""
    if not shown:
        # Whatever is left unread names posts the account may not see: the badge does
        # not count those (`unread_count`).
        return 0
    newest = max(n.id for n in shown)
    seen = Notification.filter(recipient_id=account.id, read_at=None, id__lte=newest)
    return await seen.update(read_at=utcnow())
