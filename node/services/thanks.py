"""The author's thank-you to the helpers of a request that is done.

Once a request is done, whoever manages it (`permissions.can_manage_post`: the author,
or the organisation's staff) may post one short public thank-you, with a message or
without one. It is a `Response` of kind `THANKS`: shown prominently on the post's page
("Thank you from …"), not among the other responses. Each accepted helper here gets a
`THANKED` notification; `HelpersThanked` tells federation, which sends the thank-you to
accepted helpers elsewhere as a direct message (`federation.thanks_out`).

One per request: a second answers 409, as does a request that is not done (or was
removed by the moderators); anyone else 403. Hidden by a moderator, the thank-you
disappears from the page (its messages are deleted elsewhere), and no new one may
replace it.
"""

from __future__ import annotations

from node import db, events, validation
from node.errors import Conflict, PermissionDenied
from node.models import Account, HelpPost, NotificationKind, Response, ResponseKind
from node.services.notifications import notify
from node.services.permissions import can_manage_post
from node.states import OfferStatus, PostStatus

MAX_LENGTH = 500


class AlreadyThanked(Conflict):
    """This request has its thank-you already."""


def _open_to_thanks(post: HelpPost) -> bool:
    return post.status == PostStatus.DONE and post.hidden_at is None


async def may_thank(viewer: Account | None, post: HelpPost) -> bool:
    """Whether `viewer` is offered the thank-you form: a manager of a done request that
    has no thank-you yet."""
    return (
        _open_to_thanks(post)
        and await can_manage_post(viewer, post)
        and not await Response.exists(post_id=post.id, kind=ResponseKind.THANKS)
    )


async def thank_helpers(actor: Account, post: HelpPost, body: str = "") -> Response:
    """Post the thank-you (`body` optional, cleaned, at most MAX_LENGTH characters) and
    tell the accepted helpers. Nothing is stored when anything is refused."""
    if not await can_manage_post(actor, post):
        raise PermissionDenied("only the author or the organisation's staff can thank helpers")
    text = validation.text("body", body, max_len=MAX_LENGTH)
    async with db.atomic():
        # Locked, so that two managers thanking at once leave one thank-you.
        locked = await HelpPost.select_for_update().get(id=post.id)
        if not _open_to_thanks(locked):
            raise Conflict(f"this request is {locked.status}: helpers are thanked once it is done")
        if await Response.exists(post_id=post.id, kind=ResponseKind.THANKS):
            raise AlreadyThanked("the helpers of this request were thanked already")
        thanks = await Response.create(
            post=locked, author=actor, kind=ResponseKind.THANKS, body=text
        )
        helpers = await Response.filter(
            post_id=post.id, offer_status=OfferStatus.ACCEPTED, author_id__isnull=False
        ).values_list("author_id", flat=True)
        for helper_id in sorted(set(helpers) - {actor.id}):
            await notify(
                helper_id,
                NotificationKind.THANKED,
                actor=actor,
                post=locked,
                response=thanks,
                organisation_id=locked.organisation_id,
            )
        await events.emit(events.HelpersThanked(str(thanks.id), str(post.id)))
    return thanks
