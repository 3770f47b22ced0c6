"""Notifications: what an account is told about responses, helpers, follows and status."""

from __future__ import annotations

from node.models import Account, HelpPost, Notification, NotificationKind, Response
from node.timeutil import utcnow


async def notify(
    recipient_id: int,
    kind: NotificationKind,
    *,
    actor: Account | None = None,
    post: HelpPost | None = None,
    response: Response | None = None,
) -> Notification:
    return await Notification.create(
        recipient_id=recipient_id, kind=kind, actor=actor, post=post, response=response
    )


async def list_notifications(account: Account, *, limit: int = 50) -> list[Notification]:
    return (
        await Notification.filter(recipient_id=account.id)
        .order_by("-created_at", "-id")
        .limit(limit)
        .prefetch_related("actor", "post")
    )


async def unread_count(account: Account) -> int:
    return await Notification.filter(recipient_id=account.id, read_at=None).count()


async def mark_all_read(account: Account) -> int:
    return await Notification.filter(recipient_id=account.id, read_at=None).update(read_at=utcnow())
