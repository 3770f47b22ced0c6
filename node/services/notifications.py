"""Notifications: what an account is told about responses, helpers, follows and status."""

from __future__ import annotations

from node.models import Account, HelpPost, Notification, NotificationKind, Response
from node.services.organisations import staff_account_ids
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
) -> Notification:
    """Tell one account; `organisation_id`: the actor acted for that organisation, which
    the notification names instead of them."""
    return await Notification.create(
        recipient_id=recipient_id,
        kind=kind,
        actor=actor,
        post=post,
        response=response,
        organisation_id=organisation_id,
        note=note,
    )


async def post_team(post: HelpPost) -> list[int]:
    """Who hears about responses to `post`: its author; for an organisation's post, the
    staff member it is assigned to, or else all its staff."""
    if post.organisation_id is None:
        return [post.author_id]
    staff = await staff_account_ids(post.organisation_id)
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


async def list_notifications(account: Account, *, limit: int = 50) -> list[Notification]:
    return (
        await Notification.filter(recipient_id=account.id)
        .order_by("-created_at", "-id")
        .limit(limit)
        .prefetch_related("actor", "post", "organisation", "report__organisation")
    )


async def unread_count(account: Account) -> int:
    return await Notification.filter(recipient_id=account.id, read_at=None).count()


async def mark_all_read(account: Account) -> int:
    return await Notification.filter(recipient_id=account.id, read_at=None).update(read_at=utcnow())
