"""What remote actors add to our posts: replies (as responses) and likes and boosts.

Callers (federation handlers) have already checked origin and sanitised HTML; these
functions keep the same rules as local responses: visibility, open status, no duplicates.
"""

from __future__ import annotations

import uuid
from typing import Any

from node import db, events, raw_sql
from node.errors import Conflict
from node.models import (
    ConversationMessage,
    HelpPost,
    NotificationKind,
    Reaction,
    ReactionKind,
    RemoteActor,
    Response,
    ResponseKind,
)
from node.services import post_milestones
from node.services.notifications import notify, post_team
from node.states import OfferStatus, PostAction, post_allows
from node.timeutil import utcnow

ACTIVE_OFFER = frozenset({OfferStatus.OFFERED, OfferStatus.ACCEPTED})


async def add_remote_reply(
    remote: RemoteActor,
    post: HelpPost,
    *,
    object_uri: str,
    html: str,
    text: str,
    agreement: bool = False,
    cache: dict[str, Any] | None = None,
) -> Response:
    """A reply from elsewhere: an offer of help while the post is open (the author can
    accept it into a helper slot), else a comment; the author is told either way.

    Someone whose offer was declined here offers no more: an explicit Offer(Agreement)
    is refused (Conflict), a reply is kept as a comment that notifies nobody, so a
    declined helper cannot make the author hear from them again and again.

    `cache`: the inbox worker's per-transaction cache (see `post_team`)."""
    if not post_allows(post.status, PostAction.COMMENT):
        raise Conflict(f"this post is {post.status} and takes no more responses")
    async with db.atomic():
        # One statement for both questions (this Note already stored? this actor's
        # earlier offers here?) instead of two ORM queries: see `node.raw_sql`.
        found = await raw_sql.named_rows(
            "SELECT id, object_uri, offer_status FROM responses WHERE object_uri = ?"
            " OR (post_id = ? AND remote_author_id = ? AND offer_status IS NOT NULL)",
            [object_uri, post.id, remote.id],
        )
        for row in found:
            if row["object_uri"] == object_uri:
                return await Response.get(id=row["id"])
        earlier = {row["offer_status"] for row in found}
        declined = OfferStatus.DECLINED in earlier
        if declined and agreement:
            raise Conflict("this actor's offer of help on this post was declined")
        # One offer per person: a second reply while the first is pending is a comment.
        offers = post_allows(post.status, PostAction.OFFER) and not (
            declined or earlier & ACTIVE_OFFER
        )
        response = await _insert_response(
            post,
            remote,
            kind=ResponseKind.OFFER if offers else ResponseKind.COMMENT,
            offer_status=OfferStatus.OFFERED if offers else None,
            body=text[:5000],
            body_html=html,
            object_uri=object_uri,
            via_agreement=agreement and offers,
        )
        if offers:
            await post_milestones.first_offer(post)
        await events.emit(events.ResponseCreated(str(response.id), str(post.id)))
        for recipient in [] if declined else await post_team(post, cache):
            await notify(recipient, NotificationKind.RESPONSE, post=post, response=response)
    return response


async def _insert_response(
    post: HelpPost,
    remote: RemoteActor,
    *,
    kind: ResponseKind,
    offer_status: OfferStatus | None,
    body: str,
    body_html: str,
    object_uri: str,
    via_agreement: bool,
) -> Response:
    """`Response.create` for a remote reply, without tortoise's per-row work (see
    `node.raw_sql`); the instance is built as tortoise builds one read from the database."""
    now = utcnow()
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "post_id": post.id,
        "author_id": None,
        "remote_author_id": remote.id,
        "object_uri": object_uri,
        "body_html": body_html,
        "via_agreement": via_agreement,
        "kind": kind.value,
        "service_id": None,
        "body": body,
        "offer_status": offer_status.value if offer_status is not None else None,
        "hidden_at": None,
        "created_at": now,
        "updated_at": now,
    }
    return await raw_sql.insert(Response, values)


async def update_remote_reply(
    remote: RemoteActor, object_uri: str, *, html: str, text: str
) -> bool:
    """Edit a reply; only its own author's Update reaches it."""
    updated = await Response.filter(object_uri=object_uri, remote_author=remote).update(
        body=text[:5000], body_html=html
    )
    return updated > 0


async def delete_remote_object(remote: RemoteActor, object_uri: str) -> bool:
    """Remove what `remote` published under `object_uri` here (a reply, or a direct reply
    in a request's private conversation, with its notifications); nothing else."""
    deleted = await Response.filter(object_uri=object_uri, remote_author=remote).delete()
    deleted += await ConversationMessage.filter(
        object_uri=object_uri, remote_author=remote
    ).delete()
    return deleted > 0


async def add_reaction(
    remote: RemoteActor, post: HelpPost, kind: ReactionKind, activity_uri: str
) -> Reaction:
    existing = await Reaction.get_or_none(post=post, actor=remote, kind=kind)
    if existing is not None:
        return existing
    return await Reaction.create(post=post, actor=remote, kind=kind, activity_uri=activity_uri)


async def remove_reaction(remote: RemoteActor, activity_uri: str) -> bool:
    return await Reaction.filter(actor=remote, activity_uri=activity_uri).delete() > 0


async def reaction_counts(post: HelpPost) -> dict[str, int]:
    # Every request page shows them: a hand-written read (`node.raw_sql`).
    counts = dict(
        await raw_sql.rows(
            "SELECT kind, COUNT(*) FROM reactions WHERE post_id = ? GROUP BY kind", [post.id]
        )
    )
    return {
        "likes": counts.get(ReactionKind.LIKE, 0),
        "boosts": counts.get(ReactionKind.ANNOUNCE, 0),
    }
