"""Responses on a help post: comments, offers of help, and accepting helpers into slots."""

from __future__ import annotations

import uuid

from node import db, events, validation
from node import raw_sql as sql
from node.errors import Conflict, NotFound, PermissionDenied
from node.models import Account, HelpPost, NotificationKind, Response, ResponseKind
from node.services import audit, post_milestones
from node.services.notifications import notify, notify_team
from node.services.permissions import can_manage_helpers
from node.services.posts import set_status
from node.services.visibility import can_view
from node.states import OFFER_GRAPH, OfferStatus, PostAction, PostStatus, post_allows

ACTIVE_OFFER = (OfferStatus.OFFERED, OfferStatus.ACCEPTED)


class AlreadyDeclined(Conflict):
    """The post's author declined (or released) this person's offer: they may not offer
    again on that post, as each new offer would notify the author once more."""


async def _check_can_respond(author: Account, post: HelpPost, action: PostAction) -> None:
    if not author.is_active:
        raise PermissionDenied("this account is suspended")
    if not await can_view(author, post):
        raise NotFound("no such post")
    if not post_allows(post.status, action):
        raise Conflict(f"this post is {post.status} and takes no more responses")


def _check_post_allows(post: HelpPost, action: PostAction) -> None:
    if not post_allows(post.status, action):
        raise Conflict(f"this post is {post.status}: its offers can no longer change")


async def add_comment(author: Account, post: HelpPost, body: str) -> Response:
    await _check_can_respond(author, post, PostAction.COMMENT)
    text = validation.text("body", body, max_len=2000, required=True)
    async with db.atomic():
        response = await Response.create(
            post=post, author=author, kind=ResponseKind.COMMENT, body=text
        )
        await events.emit(events.ResponseCreated(str(response.id), str(post.id)))
        await notify_team(post, NotificationKind.RESPONSE, actor=author, response=response)
    return response


async def offer_help(helper: Account, post: HelpPost, body: str = "") -> Response:
    """ "I can help": an offer that the post's author may accept into a helper slot."""
    await _check_can_respond(helper, post, PostAction.OFFER)
    if helper.id == post.author_id:
        raise Conflict("you cannot offer help on your own post")
    text = validation.text("body", body, max_len=2000)
    async with db.atomic():
        earlier = set(
            await Response.filter(
                post_id=post.id, author_id=helper.id, offer_status__isnull=False
            ).values_list("offer_status", flat=True)
        )
        if earlier & set(ACTIVE_OFFER):
            raise Conflict("you have already offered help here")
        if OfferStatus.DECLINED in earlier:
            raise AlreadyDeclined("your offer of help on this post was declined")
        response = await Response.create(
            post=post,
            author=helper,
            kind=ResponseKind.OFFER,
            body=text,
            offer_status=OfferStatus.OFFERED,
        )
        await post_milestones.first_offer(post)
        await events.emit(events.ResponseCreated(str(response.id), str(post.id)))
        await notify_team(post, NotificationKind.RESPONSE, actor=helper, response=response)
    return response


async def _tell_helper(
    response: Response, kind: NotificationKind, actor: Account, post: HelpPost
) -> None:
    """Local helpers get a notification; remote ones hear through federation (the
    OfferStatusChanged event becomes a direct message). For an organisation's post the
    notification names the organisation, as the federated message does."""
    if response.author_id is not None:
        await notify(
            response.author_id,
            kind,
            actor=actor,
            post=post,
            response=response,
            organisation_id=post.organisation_id,
        )


async def accepted_count(post: HelpPost) -> int:
    return await Response.filter(post_id=post.id, offer_status=OfferStatus.ACCEPTED).count()


async def _move_offer(response: Response, new: OfferStatus) -> OfferStatus:
    # Callers hold the post's lock; re-read so a copy loaded before another request
    # changed the offer (say, the helper withdrew) cannot move it from a stale state.
    await response.refresh_from_db(fields=["offer_status"])
    old = OfferStatus(response.offer_status) if response.offer_status else None
    if old is None:
        raise Conflict("a comment is not an offer of help")
    OFFER_GRAPH.check(old, new)
    response.offer_status = new
    await response.save(update_fields=["offer_status", "updated_at"])
    if new == OfferStatus.ACCEPTED:
        await post_milestones.first_match(response.post_id)
    await events.emit(
        events.OfferStatusChanged(str(response.id), str(response.post_id), old.value, new.value)
    )
    return old


async def _locked_post(response: Response) -> HelpPost:
    # Row lock on PostgreSQL so two staff accepting at once cannot overfill the slots.
    return await HelpPost.select_for_update().get(id=response.post_id)


async def accept_helper(actor: Account, response: Response) -> Response:
    """Accept an offer into a free slot; the last free slot moves the post to matched."""
    async with db.atomic():
        post = await _locked_post(response)
        if not await can_manage_helpers(actor, post):
            raise PermissionDenied("only the author or the organisation's staff can accept helpers")
        if response.author_id is not None and response.author_id == actor.id:
            raise PermissionDenied("you cannot accept your own offer of help")
        if not post_allows(post.status, PostAction.ACCEPT):
            raise Conflict(f"this post is {post.status}; reopen it to accept more helpers")
        taken = await accepted_count(post)
        if taken >= post.helpers_needed:
            raise Conflict(f"all {post.helpers_needed} helper places are taken")
        await _move_offer(response, OfferStatus.ACCEPTED)
        await audit.record(
            actor, "post.helper_accepted", post=post, detail={"response": str(response.id)}
        )
        if taken + 1 == post.helpers_needed:
            await set_status(post, PostStatus.MATCHED, by=actor)
        await _tell_helper(response, NotificationKind.ACCEPTED, actor, post)
    return response


async def _free_slot(post: HelpPost, was: OfferStatus, by: Account) -> None:
    """An accepted helper left: a matched post opens again for someone else."""
    if was == OfferStatus.ACCEPTED and post.status == PostStatus.MATCHED:
        await set_status(post, PostStatus.OPEN, by=by)


async def decline_helper(actor: Account, response: Response) -> Response:
    """Decline an offer, or release an accepted helper."""
    async with db.atomic():
        post = await _locked_post(response)
        if not await can_manage_helpers(actor, post):
            raise PermissionDenied(
                "only the author or the organisation's staff can decline helpers"
            )
        _check_post_allows(post, PostAction.DECLINE)
        was = await _move_offer(response, OfferStatus.DECLINED)
        await audit.record(
            actor, "post.helper_declined", post=post, detail={"response": str(response.id)}
        )
        await _free_slot(post, was, actor)
        await _tell_helper(response, NotificationKind.DECLINED, actor, post)
    return response


async def withdraw_offer(helper: Account, response: Response) -> Response:
    """The helper takes back their offer, accepted or not."""
    if response.author_id != helper.id:
        raise PermissionDenied("only the helper can withdraw their offer")
    async with db.atomic():
        post = await _locked_post(response)
        _check_post_allows(post, PostAction.WITHDRAW_OFFER)
        was = await _move_offer(response, OfferStatus.WITHDRAWN)
        await _free_slot(post, was, helper)
        if was == OfferStatus.ACCEPTED:
            await notify_team(
                post, NotificationKind.HELPER_WITHDREW, actor=helper, response=response
            )
    return response


async def list_responses(post: HelpPost) -> list[Response]:
    return await Response.filter(post_id=post.id).order_by("created_at").prefetch_related("author")


def places_left(helpers_needed: int, accepted: int) -> int:
    """Helper places a request still has (never below none: more helpers may have been
    accepted than it asked for, before its author lowered the number)."""
    return max(helpers_needed - accepted, 0)


def accepted_count_column(post_id: str) -> tuple[str, list[object]]:
    """`accepted_counts` for one post as a column of a listing's statement (SQL, params):
    `post_id` names the post's id column there. A listing then reads its cards' counts in
    its own statement, not a second one."""
    return (
        "(SELECT COUNT(*) FROM responses r"  # noqa: S608 - a column name of ours
        f" WHERE r.post_id = {post_id} AND r.offer_status = ?)",
        [OfferStatus.ACCEPTED],
    )


async def accepted_counts(post_ids: list) -> dict:
    """Accepted helpers per post id, for a whole listing in one query (hand-written: every
    listing asks it, and tortoise's grouped query cost more to build than to run)."""
    if not post_ids:
        return {}
    condition, params = sql.where(
        {"offer_status": OfferStatus.ACCEPTED, "post_id__in": post_ids}, {"": "r"}
    )
    found = await sql.rows(
        f"SELECT r.post_id, COUNT(*) FROM responses r WHERE {condition} GROUP BY r.post_id",  # noqa: S608
        params,
    )
    text = sql.text_dates()  # SQLite: ids are text
    return {(uuid.UUID(post_id) if text else post_id): n for post_id, n in found}
