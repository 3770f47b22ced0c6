"""Help requests and offers: publishing, editing, status changes and expiry.

Listings are in `node.services.listings`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from node import db, events, raw_sql, uris
from node.errors import Conflict, InvalidFields, InvalidInput, NotFound, PermissionDenied
from node.i18n import N_
from node.models import Account, HelpPost, Organisation, Response
from node.services import audit, offer_closure, post_sql
from node.services.permissions import can_manage_post, can_withdraw_post
from node.services.post_drafts import PostDraft, check_draft, organisation_for
from node.services.visibility import can_view
from node.states import POST_GRAPH, OfferStatus, PostAction, PostStatus, post_allows
from node.timeutil import utcnow

__all__ = [
    "NotEditable",
    "PostDraft",
    "change_status",
    "check_editable",
    "create_post",
    "edit_post",
    "get_post",
    "set_status",
]


async def create_post(
    author: Account, draft: PostDraft, *, now: datetime | None = None
) -> HelpPost:
    """Validate and publish a request or offer; nothing is stored if any field is bad."""
    now = now or utcnow()
    if not author.is_active:
        raise PermissionDenied("this account is suspended")
    checked = await check_draft(draft, now)
    org, label = await organisation_for(author, draft)
    async with db.atomic():
        post = await HelpPost.create(
            **checked.values,
            neighbourhood=checked.hood,
            author=author,
            organisation=org,
            on_behalf_label=label,
            client_consent_at=now if label else None,
        )
        await events.emit(events.PostPublished(post_id=str(post.id)))
        await audit.record(
            author,
            "post.created",
            post=post,
            detail={
                "kind": post.kind,
                "on_behalf": bool(label),
                "consent_at": now.isoformat() if label else None,
            },
        )
    return post


# What an edit may change; kind, visibility and organisation stay as published
# (changing who may see a post after it has federated cannot be taken back).
EDITABLE = (
    "title",
    "description",
    "language",
    "translations",
    "category",
    "helpers_needed",
    "starts_at",
    "ends_at",
    "expires_at",
    "area_hint",
    "private_location",
    "on_behalf_label",
)


class NotEditable(Conflict):
    """The post is over or was removed; `reason` is "withdrawn", "expired", "done" or
    "removed" (by the moderators, or its author suspended)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this post is {reason} and cannot be edited")
        self.reason = reason


async def check_editable(post: HelpPost) -> None:
    """Raise NotEditable unless `post` may still be edited: open or matched, and not
    removed by moderation."""
    if (
        post.hidden_at is not None
        or await Account.filter(id=post.author_id, suspended_at__isnull=False).exists()
    ):
        raise NotEditable("removed")
    if not post_allows(post.status, PostAction.EDIT):
        raise NotEditable(str(post.status))


async def edit_post(
    actor: Account, post: HelpPost, draft: PostDraft, *, now: datetime | None = None
) -> HelpPost:
    """Change an open or matched post; followers get an Update. Slots follow the new count."""
    now = now or utcnow()
    if not await can_manage_post(actor, post):
        raise PermissionDenied("only the author or the organisation's staff can edit this post")
    await check_editable(post)  # again under the lock below: it may change meanwhile
    draft.kind, draft.visibility = post.kind, post.visibility
    checked = await check_draft(draft, now, keep_neighbourhood_id=post.neighbourhood_id)
    # The client's label may be corrected (and given per language) but not added to or
    # taken from a post: whether it was posted for a client, with consent, stays.
    org = await Organisation.get_or_none(id=post.organisation_id) if post.organisation_id else None
    draft.organisation = org.slug if org else None
    draft.client_consent = post.client_consent_at is not None
    _, label = await organisation_for(actor, draft, editing=True)
    if (label is None) != (post.on_behalf_label is None):
        raise InvalidFields(
            [InvalidInput("on_behalf_label", N_("a client's label cannot be added or removed"))]
        )
    checked.values["on_behalf_label"] = label
    async with db.atomic():
        locked = await HelpPost.select_for_update().get(id=post.id)
        await check_editable(locked)
        accepted = await Response.filter(post_id=post.id, offer_status=OfferStatus.ACCEPTED).count()
        helpers = int(checked.values["helpers_needed"])  # type: ignore[call-overload]
        if helpers < accepted:
            raise InvalidFields(
                [
                    InvalidInput(
                        "helpers_needed",
                        N_("%(num)d helpers are already accepted: release one first"),
                        num=accepted,
                    )
                ]
            )
        for name in EDITABLE:
            if name in checked.values:
                setattr(locked, name, checked.values[name])
        locked.neighbourhood = checked.hood
        await locked.save()
        await events.emit(events.PostEdited(post_id=str(post.id)))
        await audit.record(actor, "post.edited", post=locked)
        if locked.status == PostStatus.MATCHED and accepted < helpers:
            await set_status(locked, PostStatus.OPEN, by=actor, now=now)
        elif locked.status == PostStatus.OPEN and accepted == helpers and accepted > 0:
            await set_status(locked, PostStatus.MATCHED, by=actor, now=now)
    return locked


async def get_post(post_id: str | uuid.UUID, viewer: Account | None) -> HelpPost:
    """The post if `viewer` may see it; otherwise NotFound, so its existence does not leak."""
    # From a URL, only the id's canonical spelling names the post (see uris.id_key).
    key = post_id if isinstance(post_id, uuid.UUID) else uris.id_key(str(post_id))
    if key is None:
        raise NotFound("no such post")
    # Fetched with what every page of a post shows, in one hand-written statement (the
    # ORM's select_related of three models cost more than the rest of a page: post_sql).
    found = await raw_sql.rows(post_sql.post_sql(), [key])
    post = post_sql.post_from_row(found[0]) if found else None
    if post is None or not await can_view(viewer, post):
        raise NotFound("no such post")
    return post


async def set_status(
    post: HelpPost, new: PostStatus, *, by: Account | None, now: datetime | None = None
) -> HelpPost:
    """Move `post` along the post graph and record the event (no permission check).
    A request closed (matched, done, withdrawn, expired) answers its waiting offers as
    no longer needed (`offer_closure`)."""
    old = PostStatus(post.status)
    POST_GRAPH.check(old, new)
    post.status = new
    post.status_changed_at = now or utcnow()
    await post.save(update_fields=["status", "status_changed_at", "updated_at"])
    await events.emit(
        events.PostStatusChanged(
            post_id=str(post.id), old=old.value, new=new.value, by_account_id=by.id if by else None
        )
    )
    await audit.record(by, "post.status", post=post, detail={"old": old.value, "new": new.value})
    if new in offer_closure.CLOSING:
        await offer_closure.close_waiting_offers(post, by=by)
    return post


async def change_status(actor: Account, post: HelpPost, new: PostStatus | str) -> HelpPost:
    """Mark matched or done, reopen, or withdraw, as a person."""
    target = PostStatus(new)
    if target == PostStatus.EXPIRED:
        raise PermissionDenied("only the node expires posts")
    allowed = (
        await can_withdraw_post(actor, post)
        if target == PostStatus.WITHDRAWN
        else await can_manage_post(actor, post)
    )
    if not allowed:
        raise PermissionDenied("only the author or the organisation's staff can do that")
    async with db.atomic():
        fresh = await HelpPost.select_for_update().get(id=post.id)
        await set_status(fresh, target, by=actor)
    post.status, post.status_changed_at = fresh.status, fresh.status_changed_at
    return post


async def expire_due_posts(now: datetime | None = None, batch: int = 200) -> int:
    """Expire open posts whose expiry has passed; returns how many were expired."""
    now = now or utcnow()
    expired = 0
    while True:
        async with db.atomic():
            due = (
                await HelpPost.filter(status=PostStatus.OPEN, expires_at__lte=now)
                .select_for_update(skip_locked=True)
                .limit(batch)
            )
            for post in due:
                await set_status(post, PostStatus.EXPIRED, by=None, now=now)
        expired += len(due)
        if len(due) < batch:
            return expired
