"""What remote actors add to our posts: replies (as responses) and likes and boosts.

Callers (federation handlers) have already checked origin and sanitised HTML; these
functions keep the same rules as local responses: visibility, open status, no duplicates.
"""

from __future__ import annotations

from tortoise.functions import Count

from node import db, events
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

ACTIVE_OFFER = frozenset({OfferStatus.OFFERED, OfferStatus.ACCEPTED})


async def add_remote_reply(
    remote: RemoteActor,
    post: HelpPost,
    *,
    object_uri: str,
    html: str,
    text: str,
    agreement: bool = False,
) -> Response:
    """A reply from elsewhere: an offer of help while the post is open (the author can
    accept it into a helper slot), else a comment; the author is told either way.

    Someone whose offer was declined here offers no more: an explicit Offer(Agreement)
    is refused (Conflict), a reply is kept as a comment that notifies nobody, so a
    declined helper cannot make the author hear from them again and again."""
    if not post_allows(post.status, PostAction.COMMENT):
        raise Conflict(f"this post is {post.status} and takes no more responses")
    async with db.atomic():
        existing = await Response.get_or_none(object_uri=object_uri)
        if existing is not None:
            return existing
        earlier = set(
            await Response.filter(
                post=post, remote_author=remote, offer_status__isnull=False
            ).values_list("offer_status", flat=True)
        )
        declined = OfferStatus.DECLINED in earlier
        if declined and agreement:
            raise Conflict("this actor's offer of help on this post was declined")
        # One offer per person: a second reply while the first is pending is a comment.
        offers = post_allows(post.status, PostAction.OFFER) and not (
            declined or earlier & ACTIVE_OFFER
        )
        response = await Response.create(
            post=post,
            remote_author=remote,
            kind=ResponseKind.OFFER if offers else ResponseKind.COMMENT,
            offer_status=OfferStatus.OFFERED if offers else None,
            body=text[:5000],
            body_html=html,
            object_uri=object_uri,
            via_agreement=agreement and offers,
        )
        if offers:
            await post_milestones.first_offer(post.id)
        await events.emit(events.ResponseCreated(str(response.id), str(post.id)))
        for recipient in [] if declined else await post_team(post):
            await notify(recipient, NotificationKind.RESPONSE, post=post, response=response)
    return response


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
    rows = (
        await Reaction.filter(post=post)
        .group_by("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    counts = dict(rows)
    return {
        "likes": counts.get(ReactionKind.LIKE, 0),
        "boosts": counts.get(ReactionKind.ANNOUNCE, 0),
    }
